"""`load()`: from what a user names to a running Engine, the backend chosen by the model's format."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from infir_edge.errors import InvalidRequestError
from infir_edge.models.bundle import manifest_beside
from infir_edge.models.sources import resolve_model
from infir_edge.models.vl import is_vl_checkpoint
from infir_edge.runtime.engine import Engine

# backend name -> (module, class, the formats it runs); each backend is one module, imported on demand
BACKENDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "llamacpp": ("infir_edge.runtime.llamacpp", "LlamaCppEngine", ("gguf",)),
    "torch": ("infir_edge.runtime.pytorch", "TorchEngine", ("checkpoint", "gguf")),
    "onnxruntime": ("infir_edge.runtime.onnxrt", "OnnxRuntimeEngine", ("onnx",)),
    "executorch": ("infir_edge.runtime.executorch_backend", "ExecuTorchEngine", ("pte",)),
}
# an exported InfiR-VL bundle (its manifest has a `vision` entry) on a backend whose text engine cannot take images;
# llama.cpp's engine loads the projector itself
VL_ENGINES = {"onnx": ("infir_edge.runtime.onnxrt_vl", "OnnxRuntimeVLEngine"),
              "pte": ("infir_edge.runtime.executorch_vl", "ExecuTorchVLEngine")}
DEFAULT_BACKEND = {"gguf": "llamacpp", "checkpoint": "torch", "onnx": "onnxruntime", "pte": "executorch"}


def load(
    model: str | Path = "default",
    *,
    backend: str | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    **backend_options,
) -> Engine:
    """Load a model and return an Engine.

    model: `"default"` (SmolLM2-135M-Instruct, embedded), a `.gguf`, `.onnx` or `.pte` file, a bundle
        directory or a checkpoint directory.
    backend: one of BACKENDS, by default the one for the model's format; `"auto"`: the fastest of the
        model and its verified bundles in the bundle cache, at the fastest thread count, as a small probe
        on this machine found (see `infir_edge.runtime.auto`; the probe is cached).
    n_ctx: context length (default: the model's trained context, capped to what memory allows).
    threads: CPU threads (default: the machine's physical cores).
    backend_options: what the backend's engine takes besides these, e.g. llama.cpp's `prefix_cache=False` (every
        prompt evaluated from an empty KV cache); a backend that does not take an option refuses it.
    """
    if backend == "auto":
        from infir_edge.runtime.auto import choose

        if backend_options:
            raise InvalidRequestError("backend='auto' takes no backend-specific options")
        choice = choose(model, threads)
        return load(choice.path, backend=choice.backend, n_ctx=n_ctx, threads=choice.threads)
    source = resolve_model(model)
    name = backend or DEFAULT_BACKEND[source.format]
    if name not in BACKENDS:
        raise InvalidRequestError(
            f"backend '{name}' is not part of this version of infir-edge (available: {', '.join(BACKENDS)})"
        )
    module_name, class_name, formats = BACKENDS[name]
    if source.format not in formats:
        raise InvalidRequestError(
            f"backend '{name}' cannot run a {source.format} model (it runs: {', '.join(formats)})"
        )
    if name == "torch" and source.format == "checkpoint" and is_vl_checkpoint(source.path):
        module_name, class_name = "infir_edge.runtime.pytorch_vl", "TorchVLEngine"
    elif source.format in VL_ENGINES and manifest_beside(Path(source.path)).get("vision"):
        module_name, class_name = VL_ENGINES[source.format]
    engine_class = getattr(importlib.import_module(module_name), class_name)
    try:
        inspect.signature(engine_class).bind(source.path, n_ctx=n_ctx, threads=threads, **backend_options)
    except TypeError as e:
        raise InvalidRequestError(f"backend '{name}' does not take these options: {e}") from None
    return engine_class(source.path, n_ctx=n_ctx, threads=threads, **backend_options)
