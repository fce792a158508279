"""Training's user errors: an `InfirEdgeError`, so the command prints one line and exits 2."""

from __future__ import annotations

from infir_edge.errors import InfirEdgeError


class TrainingError(InfirEdgeError, ValueError):
    """A malformed recipe, missing or unusable data, a model that cannot be trained, a run that cannot resume."""
