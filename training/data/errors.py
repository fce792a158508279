"""The data pipeline's user errors: an `InfirEdgeError`, so the command prints one line and exits 2."""

from __future__ import annotations

from infir_edge.errors import InfirEdgeError


class DataError(InfirEdgeError, ValueError):
    """A missing or empty input, a malformed recipe, an unknown stage or executor."""
