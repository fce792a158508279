"""`python -m training.data ...` (see training/data/cli.py)."""

from __future__ import annotations

import sys

from training.data.cli import main

if __name__ == "__main__":
    sys.exit(main())
