"""Memory bandwidth, measured the way STREAM's Copy kernel does: `b[:] = a` over arrays far larger than
the last-level cache, split across threads, bytes read plus bytes written per second, best of N.

Decode of a language model is bound by it: every decoded token reads all the weights once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil

from benchmarks.machine import last_level_cache_bytes
from benchmarks.stats import summarize

MIN_ARRAY_BYTES = 256 * 2**20
CACHE_MULTIPLE = 4  # STREAM's rule: each array at least 4x the last-level cache
MEMORY_FRACTION = 8  # never more than 1/8 of the available memory per array


def array_bytes(cache_bytes: int | None = None) -> int:
    cache_bytes = last_level_cache_bytes() if cache_bytes is None else cache_bytes
    wanted = max(MIN_ARRAY_BYTES, CACHE_MULTIPLE * (cache_bytes or 0))
    return min(wanted, psutil.virtual_memory().available // MEMORY_FRACTION)


def copy_bandwidth(threads: int, *, repeats: int = 10, nbytes: int | None = None) -> dict:
    """Copy bandwidth in GB/s (10^9 bytes) with `threads` threads: min/median/max over `repeats`.

    numpy releases the GIL while copying, so threads copy their slices in parallel as OpenMP would."""
    import time

    nbytes = array_bytes() if nbytes is None else nbytes
    n = nbytes // 8
    a = np.ones(n, dtype=np.float64)
    b = np.zeros(n, dtype=np.float64)  # both touched first: page faults are not bandwidth
    bounds = np.linspace(0, n, threads + 1, dtype=np.int64)
    slices = [slice(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def copy(part: slice) -> None:
        np.copyto(b[part], a[part])

    rates = []
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats + 1):
            start = time.perf_counter()
            list(pool.map(copy, slices))
            rates.append(2 * n * 8 / (time.perf_counter() - start) / 1e9)
    return {
        "bandwidth_gb_s": summarize(rates[1:]),  # the first pass warms the pool and the TLB
        "best_bandwidth_gb_s": max(rates[1:]),
        "array_bytes": n * 8,
        "threads": threads,
        "method": "STREAM Copy b[:]=a, float64, read + write bytes counted, arrays >= 4x last-level cache",
    }
