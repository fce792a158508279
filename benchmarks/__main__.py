"""`python -m benchmarks ...`: the same command as `infir-edge bench ...`."""

import sys

from infir_edge.cli import main

sys.exit(main(["bench", *sys.argv[1:]]))
