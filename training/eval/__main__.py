"""`python -m training.eval ...` (see training/eval/cli.py)."""

from __future__ import annotations

import sys

from training.eval.cli import main

if __name__ == "__main__":
    sys.exit(main())
