"""Exported bundles kept for reuse, filed by the model they were made from.

    <cache>/bundles/<source sha256, 16 hex>/<format>-<quant>/

`infir-edge bench` exports into it (and reuses what is there); `load(model, backend="auto")` chooses among
the bundles filed under the model. A bundle counts only if its manifest and file sizes check out and it
passed its export verification (a `--force`d bundle is never chosen for a user).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infir_edge.cache import cache_root, file_key, read_json_cache, update_json_cache
from infir_edge.errors import ModelFormatError
from infir_edge.models.bundle import Manifest, is_bundle, read_manifest, sha256_of
from infir_edge.models.sources import resolve_model

SOURCE_HASHES = "source_sha256.json"  # file key -> sha256, so a model is hashed once, not at every load


@dataclass(frozen=True)
class CachedBundle:
    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return f"{self.manifest.export_settings.get('format', self.manifest.format)}-{self.manifest.quantization}"


def bundles_root(root: str | Path | None = None) -> Path:
    return Path(root).expanduser() if root is not None else cache_root() / "bundles"


def model_sha256(model: str | Path) -> str:
    """The sha256 a bundle made from `model` records as its source; a bundle's own source for a bundle."""
    path = Path(model).expanduser() if str(model) != "default" else None
    if path is not None and is_bundle(path):
        return read_manifest(path).source["sha256"]
    source = resolve_model(model).path
    key = file_key(source)
    known = read_json_cache(SOURCE_HASHES).get(key)
    if known:
        return known
    digest = sha256_of(source)
    update_json_cache(SOURCE_HASHES, key, digest)
    return digest


def bundle_dir(source_sha256: str, fmt: str, quant: str, root: str | Path | None = None) -> Path:
    return bundles_root(root) / source_sha256[:16] / f"{fmt}-{quant}"


def cached_bundles(model: str | Path, root: str | Path | None = None) -> list[CachedBundle]:
    """The sound, verified bundles made from `model`, in name order."""
    digest = model_sha256(model)
    folder = bundles_root(root) / digest[:16]
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not is_bundle(path):
            continue
        try:
            manifest = read_manifest(path)
        except ModelFormatError:
            continue  # damaged: skipped here, refused with its reason if loaded by name
        if manifest.source.get("sha256") == digest and manifest.verification.get("passed"):
            found.append(CachedBundle(path, manifest))
    return found
