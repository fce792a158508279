"""What a result was measured on: CPU, cores, memory and the versions of everything that runs the models."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

import psutil

from infir_edge.runtime.resources import cpu_model

PACKAGES = ("infir-edge", "llama-cpp-python", "onnxruntime", "executorch", "torch", "torchao", "transformers",
            "onnxruntime-genai", "numpy")


def last_level_cache_bytes() -> int | None:
    """The largest CPU cache Linux reports (sysfs), or None where it does not say."""
    sizes = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
    return max(sizes) if sizes else None


def versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def describe_machine(threads: int) -> dict:
    return {
        "cpu_model": cpu_model(),
        "architecture": platform.machine(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": os.cpu_count(),
        "threads": threads,
        "last_level_cache_bytes": last_level_cache_bytes(),
        "memory_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions(),
    }
