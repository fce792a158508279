"""The onnxruntime backend: a bundle from onnxruntime-genai's model builder, run through onnxruntime-genai.

The builder's graph (export/onnx.py) takes `input_ids`, `attention_mask` and `past_key_values.{i}.key|value`
and keeps its KV cache in GroupQueryAttention's shared buffers, which `og.Generator` owns: `append_tokens` runs
the graph on new tokens, `get_logits` gives the last position's logits, `get_output("logits")` every position's
of the last run, `rewind_to(0)` empties the cache. The Generator never samples here; the SDK's sampler decides
every token. (The same graph through a plain onnxruntime session, feeding the pasts back as numpy arrays,
decoded no faster and needs the cache copied every step.) `genai_config.json` beside the model file gives the
shapes and context; the tokenizer files are read with transformers, as on the other backends.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, BackendUnavailableError, ModelFormatError
from infir_edge.models.bundle import manifest_beside
from infir_edge.runtime.engine import Engine, EngineInfo
from infir_edge.runtime.hf_tokenizer import HFTokenizerBackend
from infir_edge.runtime.resources import resolve_context_length, resolve_threads

GENAI_CONFIG = "genai_config.json"


def import_genai():
    try:
        import onnxruntime_genai
        from transformers import AutoTokenizer
    except ImportError as e:
        raise BackendUnavailableError("onnxruntime", "onnx", str(e)) from None
    return onnxruntime_genai, AutoTokenizer


def read_genai_config(path: Path) -> dict:
    """The `model` section of the genai_config.json beside the model file `path`; ModelFormatError if the file
    is missing, unreadable or names another model file."""
    try:
        model = json.loads((path.parent / GENAI_CONFIG).read_text())["model"]
        filename = model["decoder"]["filename"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelFormatError(f"{path}: no usable {GENAI_CONFIG} beside the model ({e})") from None
    if filename != path.name:
        raise ModelFormatError(f"{path}: its {GENAI_CONFIG} describes {filename}, not this file")
    return model


class OnnxRuntimeEngine(HFTokenizerBackend, Engine):
    backend_name = "onnxruntime"

    def __init__(self, path: str | Path, *, n_ctx: int | None = None, threads: int | None = None) -> None:
        super().__init__()
        og, AutoTokenizer = import_genai()
        self.path = Path(path)
        folder = self.path.parent
        self.threads = resolve_threads(threads)
        genai = read_genai_config(self.path)
        decoder = genai["decoder"]
        try:
            config_file = folder / "config.json"
            self.config = json.loads(config_file.read_text()) if config_file.is_file() else {}
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
            config = og.Config(str(folder))
            config.overlay(json.dumps({"model": {"decoder": {"session_options": {
                "intra_op_num_threads": self.threads}}}}))
            self._model = og.Model(config)
        except Exception as e:  # onnxruntime-genai, protobuf, tokenizer and JSON errors have no common base
            raise ModelFormatError(f"{self.path}: onnxruntime-genai could not load the model: {e}") from None
        self.n_ctx_train = int(genai["context_length"])
        kv_bytes_per_token = 2 * int(decoder["num_hidden_layers"]) * int(decoder["num_key_value_heads"]) * int(
            decoder["head_size"]) * 4
        self.n_ctx = resolve_context_length(n_ctx, self.n_ctx_train, kv_bytes_per_token)
        self.n_vocab = int(genai["vocab_size"])
        generation = folder / "generation_config.json"
        generation_eos = json.loads(generation.read_text()).get("eos_token_id") if generation.is_file() else None
        self._adopt_tokenizer(self.tokenizer, generation_eos if generation_eos is not None else genai.get(
            "eos_token_id"))
        params = og.GeneratorParams(self._model)
        params.set_search_options(max_length=self.n_ctx)  # the KV buffers GroupQueryAttention shares
        self._generator = og.Generator(self._model, params)

    # ---- backend primitives ------------------------------------------------------------------------
    def _append(self, token_ids: list[int], *, fresh: bool) -> None:
        try:
            if fresh and self._generator.token_count():
                self._generator.rewind_to(0)
            self._generator.append_tokens(np.asarray(token_ids, dtype=np.int32))
        except Exception as e:  # onnxruntime-genai raises RuntimeError with its message
            raise BackendError(f"onnxruntime-genai failed to evaluate {len(token_ids)} tokens: {e}") from None

    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        self._append(token_ids, fresh=True)
        return self._generator.get_logits()[0, -1]  # [V]

    def _decode(self, token_id: int) -> np.ndarray:
        self._append([token_id], fresh=False)
        return self._generator.get_logits()[0, -1]  # [V]

    def _teacher_forced(self, token_ids: list[int]) -> np.ndarray:
        self._append(token_ids, fresh=True)
        return np.asarray(self._generator.get_output("logits")[0], dtype=np.float32)  # [T, V]

    def info(self) -> EngineInfo:
        # a bundle's manifest knows the quantization and the source's parameter count; a bare file does not
        manifest = manifest_beside(self.path)
        n_params = manifest.get("export_report", {}).get("n_params") or _count_float_parameters(self.path)
        return EngineInfo(
            backend=self.backend_name,
            path=str(self.path),
            format="onnx",
            quantization=manifest.get("quantization", "unknown"),
            architecture=self.config.get("model_type", "unknown"),
            n_params=n_params,
            n_ctx=self.n_ctx,
            n_ctx_train=self.n_ctx_train,
            n_vocab=self.n_vocab,
            threads=self.threads,
        )

    def _free(self) -> None:
        self._generator = None
        self._model = None


def _count_float_parameters(path: Path) -> int:
    """The float initializers of the graph (all of the weights of an unquantized export)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
