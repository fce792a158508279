"""The onnxruntime backend: an optimum-exported decoder with explicit KV-cache inputs and outputs.

The model file takes `input_ids`, `attention_mask`, `position_ids` and `past_key_values.{i}.key|value`
`[B, H_kv, T_past, D]`, and returns `logits` and `present.{i}.key|value`; the presents of one step are
the pasts of the next. The tokenizer files and `config.json` sit beside the model file, as optimum
writes them (and as `ORTModelForCausalLM` reads them).
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


def _import_onnxruntime():
    try:
        import onnxruntime
        from transformers import AutoTokenizer
    except ImportError as e:
        raise BackendUnavailableError("onnxruntime", "onnx", str(e)) from None
    return onnxruntime, AutoTokenizer


class OnnxRuntimeEngine(HFTokenizerBackend, Engine):
    backend_name = "onnxruntime"

    def __init__(self, path: str | Path, *, n_ctx: int | None = None, threads: int | None = None) -> None:
        super().__init__()
        ort, AutoTokenizer = _import_onnxruntime()
        self.path = Path(path)
        folder = self.path.parent
        self.threads = resolve_threads(threads)
        try:
            self.config = json.loads((folder / "config.json").read_text())
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
            options = ort.SessionOptions()  # onnxruntime's defaults (all graph optimizations, spinning workers)
            options.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # protobuf, tokenizer and JSON errors have no common base
            raise ModelFormatError(f"{self.path}: onnxruntime could not load the model: {e}") from None
        inputs = {i.name: i for i in self._session.get_inputs()}
        self._past_names = sorted((n for n in inputs if n.startswith("past_key_values.")), key=_layer_order)
        if "input_ids" not in inputs or not self._past_names:
            raise ModelFormatError(f"{self.path}: not a decoder with a KV cache (no past_key_values inputs)")
        self._uses_positions = "position_ids" in inputs
        shape = inputs[self._past_names[0]].shape  # [B, H_kv, T_past, D]
        self._kv_heads, self._head_dim = int(shape[1]), int(shape[3])
        self._present_names = [n.replace("past_key_values.", "present.") for n in self._past_names]
        self._output_names = ["logits", *self._present_names]

        self.n_ctx_train = int(self.config.get("max_position_embeddings", 2048))
        kv_bytes_per_token = len(self._past_names) * self._kv_heads * self._head_dim * 4
        self.n_ctx = resolve_context_length(n_ctx, self.n_ctx_train, kv_bytes_per_token)
        self.n_vocab = int(self.config["vocab_size"])
        generation = folder / "generation_config.json"
        generation_eos = json.loads(generation.read_text()).get("eos_token_id") if generation.is_file() else None
        self._adopt_tokenizer(self.tokenizer, generation_eos)
        self._past: list[np.ndarray] = []
        self._length = 0

    # ---- backend primitives ------------------------------------------------------------------------
    def _evaluate(self, token_ids: list[int]) -> np.ndarray:
        n = len(token_ids)
        feed = {
            "input_ids": np.array([token_ids], dtype=np.int64),  # [1, T]
            "attention_mask": np.ones((1, self._length + n), dtype=np.int64),  # [1, T_past + T]
        }
        if self._uses_positions:
            feed["position_ids"] = np.arange(self._length, self._length + n, dtype=np.int64)[None]
        feed.update(zip(self._past_names, self._past, strict=True))
        try:
            logits, *presents = self._session.run(self._output_names, feed)
        except Exception as e:  # onnxruntime raises its own Fail/InvalidArgument types
            raise BackendError(f"onnxruntime failed to evaluate {n} tokens: {e}") from None
        self._past, self._length = presents, self._length + n
        return logits[0, -1]  # [V]

    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        empty = np.zeros((1, self._kv_heads, 0, self._head_dim), dtype=np.float32)  # [B, H_kv, 0, D]
        self._past, self._length = [empty] * len(self._past_names), 0
        return self._evaluate(token_ids)

    def _decode(self, token_id: int) -> np.ndarray:
        return self._evaluate([token_id])

    def _teacher_forced(self, token_ids: list[int]) -> np.ndarray:
        # one pass from an empty cache gives the logits of every position
        empty = np.zeros((1, self._kv_heads, 0, self._head_dim), dtype=np.float32)
        feed = {
            "input_ids": np.array([token_ids], dtype=np.int64),  # [1, T]
            "attention_mask": np.ones((1, len(token_ids)), dtype=np.int64),
        }
        if self._uses_positions:
            feed["position_ids"] = np.arange(len(token_ids), dtype=np.int64)[None]
        feed.update((name, empty) for name in self._past_names)
        return self._session.run(["logits"], feed)[0][0].astype(np.float32)  # [T, V]

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
        self._session = None
        self._past = []


def _layer_order(name: str) -> tuple[int, str]:
    _, layer, kind = name.split(".")  # past_key_values.{i}.key|value
    return int(layer), kind


def _count_float_parameters(path: Path) -> int:
    """The float initializers of the graph (all of the weights of an unquantized export)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
