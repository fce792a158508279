"""The statistics every benchmark figure is reported with."""

from __future__ import annotations

import statistics


def summarize(values) -> dict:
    """min / median / max of repeated measurements, with the values themselves."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no measurements to summarize")
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "values": values}


def median_ratio(numerators, denominators) -> float:
    """The median of pairwise ratios: runs measured alternately, so slow drift of the machine cancels."""
    pairs = [n / d for n, d in zip(numerators, denominators, strict=True) if d > 0]
    if not pairs:
        raise ValueError("no pair has a positive denominator")
    return statistics.median(pairs)
