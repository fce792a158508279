"""Checkpoint -> GGUF for llama.cpp, written with gguf-py, for every family export takes.

Tensor names come from gguf-py's own map for the family's llama.cpp architecture (`Family.gguf_arch`); a tensor
it cannot name stops the export rather than vanishing from the file. Per architecture this does what llama.cpp's
own converter (convert_hf_to_gguf.py) does, since anything else loads without error and gives wrong logits: Q and
K rows permuted from Hugging Face's rotate-half RoPE layout to the interleaved one (LLAMA only), Gemma's norms
stored as 1 + w, no `output.weight` when embeddings are tied, key/value lengths where head_dim is not
hidden / heads, Llama 3 RoPE scaling as a `rope_freqs` tensor, linear scaling as keys, and the tokenizer's
`pre` name (the chat template arrives without TRL's markers, see source.py).
gguf-py quantizes the block formats; the K-quants go through llama.cpp's own quantizer, which may fall
back to other types on tensors whose rows are not a multiple of 256 (reported per type).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, BackendUnavailableError, ModelFormatError
from infir_edge.export import equalize
from infir_edge.models.families import rope_type

# quant name -> (ggml type for 2-D weights, gguf file type); None: done by llama.cpp's quantizer
GGUFPY_QUANTS = {"f32": "F32", "f16": "F16", "bf16": "BF16", "q8_0": "Q8_0", "q4_0": "Q4_0", "q4_1": "Q4_1"}
LLAMA_CPP_QUANTS = {"q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K"}
EQUALIZED_QUANTS = {"q4_0": equalize.q4_0, "q4_1": equalize.q4_1}
RECIPE = 2  # 2: names from gguf-py's map per family, RoPE scaling; 1: AWQ before q4_0/q4_1
QUANTS = (*GGUFPY_QUANTS, *LLAMA_CPP_QUANTS)
MODEL_FILE = "model.gguf"
BUNDLE_FORMAT = "gguf"
# llama.cpp's graph applies per-dimension RoPE factors (`rope_freqs`) only in its llama architecture (of those
# export takes), and its converter writes them only there (LlamaModel.generate_extra_tensors)
ROPE_FREQS_ARCHS = ("LLAMA",)


def rope_to_interleaved(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """HF keeps each head's rotary pairs as two halves; llama.cpp's llama architecture wants them interleaved.
    Works on a projection's rows `[out, in]` and on its bias `[out]` alike."""
    rows = weight.shape[0]
    return weight.reshape(n_heads, 2, rows // n_heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _arch(config):
    import gguf

    from infir_edge.models.families import family_of

    return gguf.MODEL_ARCH[family_of(config).gguf_arch]


def head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def rope_freqs(config) -> np.ndarray | None:
    """Llama 3's RoPE scaling as llama.cpp takes it: the factor each rotary frequency is divided by, `[head_dim/2]`
    (transformers' own default and llama3 frequencies, so both runtimes rotate alike); None without that scaling."""
    if rope_type(config) != "llama3":
        return None
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    default, _ = ROPE_INIT_FUNCTIONS["default"](config, "cpu")  # [head_dim/2]
    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    return (default / scaled).float().numpy()


def add_rope_scaling(writer, config) -> None:
    """Linear position interpolation as llama.cpp's converter writes it: a scaling type and its factor."""
    import gguf

    if rope_type(config) == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(config.rope_scaling["factor"]))


def gguf_tensors(model) -> dict[str, np.ndarray]:
    """The model's tensors under llama.cpp's names and layouts, fp32, `[out, in]` for matrices."""
    import gguf

    from infir_edge.models.families import family_of

    config = model.config
    family = family_of(config)
    arch = _arch(config)
    names = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    n_heads = config.num_attention_heads
    n_kv_heads = config.num_key_value_heads or n_heads
    tied = getattr(config, "tie_word_embeddings", False)
    tensors = {}
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp (and transformers) read the head from token_embd
        # the map holds only the architecture's own tensors (gguf.MODEL_TENSORS[arch]): anything else is None
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise BackendError(f"{family.name}: gguf-py names no {gguf.MODEL_ARCH_NAMES[arch]} tensor for "
                               f"{hf_name!r}; the GGUF would silently lack it")
        weight = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("norm.weight"):
            weight = weight + np.float32(family.norm_offset)  # Gemma scales by 1 + w; llama.cpp by the stored w
        if arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            weight = rope_to_interleaved(weight, n_heads)
        elif arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            weight = rope_to_interleaved(weight, n_kv_heads)
        tensors[name] = weight
    factors = rope_freqs(config)
    if factors is not None:
        tensors[gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight"] = factors
    return tensors


def check_writable(source) -> None:
    """Refuse, before any quantization work, what no GGUF written here would reproduce."""
    family, config = source.family, source.model.config
    if rope_freqs(config) is not None and family.gguf_arch not in ROPE_FREQS_ARCHS:
        raise ModelFormatError(f"the {family.name} family with Llama 3 RoPE scaling cannot be exported to GGUF: "
                               f"llama.cpp's {family.gguf_arch.lower()} architecture has no per-dimension RoPE factors")
    spec = json.loads(source.tokenizer.backend_tokenizer.to_str()) if source.tokenizer.is_fast else {}
    byte_level = '"ByteLevel"' in json.dumps(spec.get("pre_tokenizer"))  # anywhere in a Sequence of them
    if spec.get("model", {}).get("type") != "BPE" or not byte_level:
        kind = spec.get("model", {}).get("type", "a slow tokenizer")
        raise ModelFormatError(f"the {family.name} model's tokenizer ({kind}, not byte-level BPE) cannot be exported "
                               f"to GGUF yet: only byte-level BPE vocabularies are written (llama.cpp's gpt2 model); "
                               f"SentencePiece vocabularies (Gemma, Phi-3-mini, Llama 2) need llama.cpp's SPM model")


def _add_metadata(writer, source, n_ctx: int, file_type) -> None:
    import gguf

    config, tokenizer = source.model.config, source.tokenizer
    # no `general.name`: llama.cpp's vocabulary loader keys token fix-ups on it (a name with "phi3" in it wants
    # SentencePiece's `</s>` and aborts on a byte-level vocabulary), and the manifest records the source anyway
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads or config.num_attention_heads)
    if head_dim(config) != config.hidden_size // config.num_attention_heads:  # Gemma, Qwen3
        writer.add_key_length(head_dim(config))
        writer.add_value_length(head_dim(config))
    writer.add_rope_freq_base(float(getattr(config, "rope_theta", 10000.0)))
    writer.add_rope_dimension_count(head_dim(config))
    add_rope_scaling(writer, config)
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    if source.family.gguf_arch == "PHI3":  # its converter always says whether a window is used (0: none)
        writer.add_sliding_window(int(getattr(config, "sliding_window", None) or 0))
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
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"].get("merges", [])
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def write(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Write `source` into `bundle` quantized as `quant`; return what was done (types per tensor, fallbacks)."""
    check_writable(source)
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
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[_arch(source.model.config)])
    _add_metadata(writer, source, n_ctx, file_type)
    types: Counter = Counter()
    fallbacks: dict[str, str] = {}
    tensors = gguf_tensors(source.model)
    for name, weight in tensors.items():
        qtype = target if weight.ndim == 2 else gguf.GGMLQuantizationType.F32  # norms, biases, RoPE factors stay f32
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
