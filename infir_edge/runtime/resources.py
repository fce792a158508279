"""Defaults a user would pick by hand: threads per physical core, a context the memory can hold."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil

from infir_edge.errors import InvalidRequestError

KV_MEMORY_FRACTION = 0.25  # of the memory available now, for the KV cache of the default context
MIN_DEFAULT_CONTEXT = 512


def cpu_model() -> str:
    """The CPU's marketing name (Linux's /proc/cpuinfo), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def physical_cores() -> int:
    """Physical cores (hyper-threads share execution units, so more threads only contend)."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def default_context_length(n_ctx_train: int, kv_bytes_per_token: int) -> int:
    """The model's trained context, capped so its KV cache takes at most a quarter of available memory."""
    budget = int(psutil.virtual_memory().available * KV_MEMORY_FRACTION)
    fits = max(MIN_DEFAULT_CONTEXT, budget // max(kv_bytes_per_token, 1))
    return min(n_ctx_train, fits)


def resolve_threads(threads: int | None) -> int:
    """`threads`, checked, or the physical-core default."""
    if threads is None:
        return physical_cores()
    limit = os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= limit:
        raise InvalidRequestError(
            f"threads must be an integer from 1 to {limit} (this machine's CPUs), got {threads!r}"
        )
    return threads


def resolve_context_length(n_ctx: int | None, n_ctx_train: int, kv_bytes_per_token: int) -> int:
    """`n_ctx`, checked against the model's trained context, or the memory-capped default."""
    if n_ctx is None:
        return default_context_length(n_ctx_train, kv_bytes_per_token)
    if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or not 8 <= n_ctx <= n_ctx_train:
        raise InvalidRequestError(
            f"n_ctx must be an integer from 8 to the model's trained context of {n_ctx_train}, got {n_ctx!r}"
        )
    return n_ctx
