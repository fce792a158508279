"""`python -m training.pretrain ...` (see training/pretrain/cli.py)."""

from __future__ import annotations

import sys

from training.pretrain.cli import main

if __name__ == "__main__":
    sys.exit(main())
