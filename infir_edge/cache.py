"""The SDK's cache directory: probe results, source hashes and exported bundles kept for reuse.

`$INFIR_EDGE_CACHE`, else `$XDG_CACHE_HOME/infir_edge`, else `~/.cache/infir_edge`. Everything in it can be
deleted at any time: it is only ever a shortcut to something the SDK can measure or make again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from infir_edge.files import atomic_write_text

MAX_ENTRIES = 256  # per JSON cache file: old entries fall out, so a cache file stays small


def cache_root() -> Path:
    if os.environ.get("INFIR_EDGE_CACHE"):
        return Path(os.environ["INFIR_EDGE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "infir_edge"


def file_key(path: Path) -> str:
    """Identifies one version of a file or directory: a changed, replaced or touched file gets a new key."""
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"


def read_json_cache(name: str) -> dict:
    try:
        data = json.loads((cache_root() / name).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_json_cache(name: str, key: str, value) -> None:
    """Set one entry; a read-only or full disk only costs the work again next time."""
    data = read_json_cache(name)
    data.pop(key, None)
    data[key] = value
    with contextlib.suppress(OSError):
        atomic_write_text(cache_root() / name, json.dumps(dict(list(data.items())[-MAX_ENTRIES:])))
