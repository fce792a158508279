"""A bundle: an exported model file, the tokenizer files its runtime needs, and `manifest.json`.

The manifest records what the bundle is (format, quantization, context length), where it came from
(the source and its sha256), the files with their sizes and hashes, the export settings and the parity
figures measured at export. The runtime reads it to pick the backend and to refuse a damaged bundle; it
lives with the models (not the exporter) because both sides read it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from infir_edge.errors import ModelFormatError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
MODEL_FORMATS = ("gguf", "onnx", "pte")


@dataclass
class Manifest:
    format: str  # gguf | onnx | pte
    quantization: str
    model_file: str
    context_length: int
    source: dict  # path, format, sha256
    files: dict = field(default_factory=dict)  # name -> {"bytes", "sha256"}
    export_settings: dict = field(default_factory=dict)
    export_report: dict = field(default_factory=dict)
    verification: dict = field(default_factory=dict)
    # an InfiR-VL bundle's image input: {"projector_file", "image_size", "image_tokens", "image_token"}; {} for text
    vision: dict = field(default_factory=dict)
    sdk_version: str = ""
    manifest_version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, in sorted order)."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def describe_files(directory: Path) -> dict:
    return {
        p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def read_manifest(bundle: Path, *, check_hashes: bool = False) -> Manifest:
    """Read and check a bundle's manifest against its files; `ModelFormatError` on any mismatch.

    Sizes are always checked (a truncated copy is the common damage); hashes when asked (`infir-edge verify`).
    """
    try:
        data = json.loads((bundle / MANIFEST).read_text())
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError) as e:
        raise ModelFormatError(f"{bundle / MANIFEST}: not a valid bundle manifest ({e})") from None
    if manifest.format not in MODEL_FORMATS or not isinstance(manifest.files, dict):
        raise ModelFormatError(f"{bundle}: manifest names an unknown format {manifest.format!r}")
    if manifest.model_file not in manifest.files:
        raise ModelFormatError(f"{bundle}: manifest does not list its model file {manifest.model_file!r}")
    projector = manifest.vision.get("projector_file") if isinstance(manifest.vision, dict) else None
    if not isinstance(manifest.vision, dict) or (
            manifest.vision and not (isinstance(projector, str) and projector in manifest.files)):
        raise ModelFormatError(f"{bundle}: the manifest's vision entry does not name one of its files")
    for key in ("image_size", "image_tokens") if manifest.vision else ():
        value = manifest.vision.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelFormatError(f"{bundle}: the manifest's vision.{key} must be a positive integer, not {value!r}")
    for name, facts in manifest.files.items():
        path = bundle / name
        if Path(name).name != name or not path.is_file():
            raise ModelFormatError(f"{bundle}: the bundle lacks {name} (listed in its manifest)")
        if path.stat().st_size != facts.get("bytes"):
            raise ModelFormatError(
                f"{path}: {path.stat().st_size} bytes, the manifest says {facts.get('bytes')} (damaged or replaced)"
            )
        if check_hashes and file_sha256(path) != facts.get("sha256"):
            raise ModelFormatError(f"{path}: sha256 differs from the manifest (damaged or replaced)")
    return manifest


def manifest_beside(model_file: Path) -> dict:
    """The raw manifest of the bundle a model file sits in (empty for a bare file): what a runtime cannot
    read off the file itself, such as the quantization's name and the source's parameter count."""
    path = model_file.parent / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelFormatError(f"{path}: not a valid bundle manifest ({e})") from None
    if not isinstance(manifest, dict):
        raise ModelFormatError(f"{path}: not a valid bundle manifest (not a JSON object)")
    return manifest
