"""The hardware's limit for decode: memory bandwidth / the bytes each decoded token must read.

Per token a decoder reads every weight once (the LM head included; the embedding table only where it is
also the head, since a lookup reads one row) and the K and V of every earlier position in every layer.
Anything above this line would be served from caches, not DRAM; a backend's distance below it is overhead.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

KV_BYTES = {"gguf": 2, "onnx": 4, "pte": 4}  # llama.cpp keeps f16 K/V; the ONNX and ExecuTorch exports fp32


@dataclass(frozen=True)
class ModelShape:
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_vocab: int

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def kv_elements_per_position(self) -> int:
        return 2 * self.n_layer * self.n_head_kv * self.head_dim  # K and V, every layer  # [2, L, H_kv, D]

    def as_dict(self) -> dict:
        return asdict(self)


def model_shape(model: str | Path) -> ModelShape:
    """The shape of the model a benchmark starts from: a GGUF's header or a checkpoint's config.json."""
    from infir_edge.models.sources import resolve_model

    source = resolve_model(model)
    if source.format == "gguf":
        from infir_edge.models.gguf_model import inspect_gguf

        g = inspect_gguf(source.path)
        return ModelShape(g.n_layer, g.n_embd, g.n_head, g.n_head_kv, g.n_vocab)
    config = json.loads((source.path / "config.json").read_text())
    return ModelShape(
        n_layer=config["num_hidden_layers"],
        n_embd=config["hidden_size"],
        n_head=config["num_attention_heads"],
        n_head_kv=config.get("num_key_value_heads", config["num_attention_heads"]),
        n_vocab=config["vocab_size"],
    )


def gguf_weight_bytes(path: Path) -> int:
    """All tensors, less `token_embd` when a separate `output` head exists (then the table is only looked up)."""
    from infir_edge.models.gguf_header import read_gguf_header

    tensors = {t.name: t.nbytes for t in read_gguf_header(path).tensors}
    lookup_only = tensors.get("token_embd.weight", 0) if "output.weight" in tensors else 0
    return sum(tensors.values()) - lookup_only


def onnx_weight_bytes(path: Path) -> int:
    """All initializers, less those that only feed a Gather (an embedding lookup reads one row)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    consumers: dict[str, set[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    total = 0
    for tensor in model.graph.initializer:
        if consumers.get(tensor.name) == {"Gather"}:
            continue
        total += _initializer_bytes(tensor)
    return total


def _initializer_bytes(tensor) -> int:
    import onnx
    import onnx.helper

    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return int({e.key: e.value for e in tensor.external_data}.get("length", 0))
    if tensor.raw_data:
        return len(tensor.raw_data)
    n = 1
    for d in tensor.dims:
        n *= d
    return n * onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize


def pte_weight_bytes(path: Path, shape: ModelShape) -> int:
    """The program file less its fp32 embedding table: our ExecuTorch export keeps `tok_embeddings` in fp32
    for the lookup and writes the head as a separate (quantized) `output` weight that every token reads."""
    return path.stat().st_size - shape.n_vocab * shape.n_embd * 4


def weight_bytes_per_token(fmt: str, model_file: Path, shape: ModelShape) -> int:
    if fmt == "gguf":
        return gguf_weight_bytes(model_file)
    if fmt == "onnx":
        return onnx_weight_bytes(model_file)
    if fmt == "pte":
        return pte_weight_bytes(model_file, shape)
    raise ValueError(f"unknown model format {fmt!r}")


def decode_roofline(
    *, weight_bytes: int, shape: ModelShape, kv_dtype_bytes: int, prompt_tokens: int, new_tokens: int,
    bandwidth_gb_s: float,
) -> dict:
    """Bytes per decoded token (weights + the K/V read at the mean context of the run) and the decode
    tokens/s the bandwidth allows."""
    mean_context = prompt_tokens + (new_tokens - 1) / 2  # decode steps attend to prompt + tokens so far
    kv_bytes = shape.kv_elements_per_position() * kv_dtype_bytes * mean_context
    per_token = weight_bytes + kv_bytes
    return {
        "weight_bytes_per_token": int(weight_bytes),
        "kv_bytes_per_token": int(kv_bytes),
        "bytes_per_token": int(per_token),
        "bandwidth_gb_s": bandwidth_gb_s,
        "decode_tok_s": bandwidth_gb_s * 1e9 / per_token,
    }
