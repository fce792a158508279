"""Checkpoint -> GGUF for llama.cpp, written with gguf-py.

The pitfalls that load without error and give wrong logits are handled here: Q and K rows permuted from
Hugging Face's rotate-half RoPE layout to llama.cpp's interleaved one, no `output.weight` when embeddings
are tied, the tokenizer's `pre` name (the chat template arrives without TRL's markers, see source.py).
gguf-py quantizes the block formats; the K-quants go through llama.cpp's own quantizer, which may fall
back to other types on tensors whose rows are not a multiple of 256 (reported per type).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, BackendUnavailableError
from infir_edge.export import equalize

# quant name -> (ggml type for 2-D weights, gguf file type); None: done by llama.cpp's quantizer
GGUFPY_QUANTS = {"f32": "F32", "f16": "F16", "bf16": "BF16", "q8_0": "Q8_0", "q4_0": "Q4_0", "q4_1": "Q4_1"}
LLAMA_CPP_QUANTS = {"q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K"}
EQUALIZED_QUANTS = {"q4_0": equalize.q4_0, "q4_1": equalize.q4_1}
RECIPE = 1  # AWQ before q4_0/q4_1
QUANTS = (*GGUFPY_QUANTS, *LLAMA_CPP_QUANTS)
MODEL_FILE = "model.gguf"
BUNDLE_FORMAT = "gguf"

_LAYER_TENSORS = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def rope_to_interleaved(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """HF keeps each head's rotary pairs as two halves; llama.cpp wants them interleaved."""
    rows, cols = weight.shape
    return weight.reshape(n_heads, 2, rows // n_heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_tensors(model) -> dict[str, np.ndarray]:
    """The model's tensors under llama.cpp's names and layouts, fp32, `[out, in]` for matrices."""
    config = model.config
    n_heads = config.num_attention_heads
    n_kv_heads = config.num_key_value_heads or n_heads
    state = {name: t.detach().float().cpu().numpy() for name, t in model.state_dict().items()}
    tensors = {
        "token_embd.weight": state["model.embed_tokens.weight"],  # [V, D]
        "output_norm.weight": state["model.norm.weight"],
    }
    tied = getattr(config, "tie_word_embeddings", False)
    if not tied:
        tensors["output.weight"] = state["lm_head.weight"]
    for i in range(config.num_hidden_layers):
        for hf_name, gguf_name in _LAYER_TENSORS.items():
            weight = state[f"model.layers.{i}.{hf_name}.weight"]
            if gguf_name == "attn_q":
                weight = rope_to_interleaved(weight, n_heads)
            elif gguf_name == "attn_k":
                weight = rope_to_interleaved(weight, n_kv_heads)
            tensors[f"blk.{i}.{gguf_name}.weight"] = weight
    return tensors


def _add_metadata(writer, source, n_ctx: int, file_type) -> None:
    import gguf

    config, tokenizer = source.model.config, source.tokenizer
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_name(source.path.name)
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads or config.num_attention_heads)
    writer.add_rope_freq_base(float(getattr(config, "rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(file_type)

    vocab_size = config.vocab_size
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for i in range(vocab_size):
        tokens.append(by_id.get(i, f"[PAD{i}]"))
        if i in added:
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL if i in by_id else gguf.TokenType.UNUSED)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(source.tokenizer_pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(_merges(tokenizer))
    for setter, token in (
        (writer.add_bos_token_id, tokenizer.bos_token_id),
        (writer.add_eos_token_id, tokenizer.eos_token_id),
        (writer.add_unk_token_id, tokenizer.unk_token_id),
        (writer.add_pad_token_id, tokenizer.pad_token_id),
    ):
        if token is not None:
            setter(token)
    writer.add_add_bos_token(bool(getattr(tokenizer, "add_bos_token", False)))
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


def _merges(tokenizer) -> list[str]:
    import json

    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"].get("merges", [])
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def write(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Write `source` into `bundle` quantized as `quant`; return what was done (types per tensor, fallbacks)."""
    path = bundle / MODEL_FILE
    if quant in LLAMA_CPP_QUANTS:
        staging = path.with_name(path.stem + ".f32.gguf")
        _write_with_gguf_py(source, staging, "f32", n_ctx)
        report = _quantize_with_llama_cpp(staging, path, LLAMA_CPP_QUANTS[quant])
        staging.unlink()
        return report
    if awq and quant in EQUALIZED_QUANTS:
        # 4-bit block formats get AWQ scales first (equalize.py): Q4_0 agreement on SmolLM2-135M 0.64 -> 0.84
        source, equalization = equalize.equalized_source(source, EQUALIZED_QUANTS[quant])
        return {**_write_with_gguf_py(source, path, quant, n_ctx), "equalization": equalization}
    return _write_with_gguf_py(source, path, quant, n_ctx)


def _write_with_gguf_py(source, path: Path, quant: str, n_ctx: int) -> dict:
    import gguf

    target = gguf.GGMLQuantizationType[GGUFPY_QUANTS[quant]]
    file_type = gguf.LlamaFileType[f"MOSTLY_{GGUFPY_QUANTS[quant]}" if quant != "f32" else "ALL_F32"]
    writer = gguf.GGUFWriter(str(path), "llama")
    _add_metadata(writer, source, n_ctx, file_type)
    types: Counter = Counter()
    fallbacks: dict[str, str] = {}
    tensors = gguf_tensors(source.model)
    for name, weight in tensors.items():
        qtype = target if weight.ndim == 2 else gguf.GGMLQuantizationType.F32  # norms stay f32
        if name == "token_embd.weight" and "output.weight" not in tensors and quant in ("q4_0", "q4_1"):
            # a tied embedding is also the output head, read at every token: llama.cpp's own quantizer keeps
            # it at 8 bits (4-bit heads cost ~0.2 top-1 agreement on SmolLM2-135M)
            qtype = gguf.GGMLQuantizationType.Q8_0
        block = gguf.GGML_QUANT_SIZES[qtype][0]
        if weight.shape[-1] % block:
            fallbacks[name] = "F16"
            qtype = gguf.GGMLQuantizationType.F16
        if qtype == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, weight.astype(np.float32))
        elif qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(name, weight.astype(np.float16))
        else:
            writer.add_tensor(name, gguf.quants.quantize(weight, qtype), raw_dtype=qtype)
        types[qtype.name] += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"tensor_types": dict(types), "fallbacks": fallbacks}


def _quantize_with_llama_cpp(src: Path, dst: Path, ftype_name: str) -> dict:
    try:
        import llama_cpp
    except ImportError as e:
        raise BackendUnavailableError("llamacpp", "llamacpp", f"K-quants use llama.cpp's quantizer: {e}") from None
    from infir_edge.models.gguf_header import read_gguf_header

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype_name}")
    status = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if status != 0:
        raise BackendError(f"llama.cpp's quantizer failed ({status}) making {ftype_name}")
    tensors = read_gguf_header(dst).tensors
    # K-quants need rows that are a multiple of 256; llama.cpp quietly picks another type for the rest
    fallbacks = {t.name: t.ggml_type.name for t in tensors if len(t.shape) == 2 and not t.ggml_type.name.endswith("_K")}
    return {"tensor_types": dict(Counter(t.ggml_type.name for t in tensors)), "fallbacks": fallbacks}
