"""Post-training's user errors: an `InfirEdgeError`, so a command prints one line and exits 2."""

from __future__ import annotations

from infir_edge.errors import InfirEdgeError


class SFTError(InfirEdgeError, ValueError):
    """A malformed recipe or record, an unreachable teacher, SFT data that cannot be trained on, a run that cannot
    resume."""
