"""Defaults a user would pick by hand: threads per physical core, a context the memory can hold."""

from __future__ import annotations

import os

import psutil

KV_MEMORY_FRACTION = 0.25  # of the memory available now, for the KV cache of the default context
MIN_DEFAULT_CONTEXT = 512


def physical_cores() -> int:
    """Physical cores (hyper-threads share execution units, so more threads only contend)."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def default_context_length(n_ctx_train: int, kv_bytes_per_token: int) -> int:
    """The model's trained context, capped so its KV cache takes at most a quarter of available memory."""
    budget = int(psutil.virtual_memory().available * KV_MEMORY_FRACTION)
    fits = max(MIN_DEFAULT_CONTEXT, budget // max(kv_bytes_per_token, 1))
    return min(n_ctx_train, fits)
