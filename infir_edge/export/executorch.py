"""Checkpoint -> ExecuTorch `.pte` through the executorch wheel's own LLM export (`export_llm`).

The result is the file ExecuTorch's LLM runner loads (the Android demo app, `llama_main`,
`TextLLMRunner`): the Llama definition with a KV cache and SDPA custom op, lowered to XNNPACK, with
`get_bos_id`/`get_eos_ids`/`get_max_context_len` methods. It runs in a child process: hydra and torch.export
keep global state.

Every family export_llm has a model class for (llama and mistral as `llama3`, qwen2 as `qwen2_5_*`, qwen3 as
`qwen3_*`, phi3 as `phi_4_mini`) is one Llama definition set up by `params.json` switches, as ExecuTorch's own
configs for those models set them: `attention_qkv_bias` (Qwen2), `use_qk_norm` + `qk_norm_before_rope` (Qwen3),
`head_dim`, and `use_hf_rope`, which rotates in Hugging Face's rotate-half layout (no Q/K row permutation).
Phi-3's fused qkv_proj and gate_up_proj are split as ExecuTorch's phi_4_mini/convert_weights.py splits them.

Quantized exports are quantized here with torchao (the same `Int8DynamicActivationIntxWeightConfig` that
export_llm's `qmode=8da4w` applies) and handed to export_llm as a prequantized checkpoint, which it lowers
as it is. That buys what its qmode cannot: AWQ scales first (equalize.py), an 8-bit output head (a 4-bit
one gave 0.711 instead of 0.772 top-1 agreement on SmolLM2-135M), and `8da8w`, which export_llm's config rejects.
[measured] default model, 8da4w: top-1 agreement 0.526 through qmode=8da4w at group 64; 0.772 with AWQ,
group 32 and the 8-bit head.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from infir_edge.errors import BackendError, BackendUnavailableError, ModelFormatError
from infir_edge.export import equalize
from infir_edge.models.families import family_of, rope_type

RECIPE = 2  # 2: per-family params switches and HF RoPE (1: Llama only, interleaved Q/K rows)
QUANTS = ("fp32", "8da8w", "8da4w")
MODEL_FILE = "model.pte"
BUNDLE_FORMAT = "pte"
DEFAULT_CONTEXT = 2048  # a phone's memory, not the model's trained context, sets this default
GROUP_SIZE = 32  # the smallest group XNNPACK takes: the most accurate
EXPORT_TIMEOUT_S = 3600
TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def require_executorch():
    """The torch module, once executorch is known to import."""
    try:
        import executorch  # noqa: F401
        import torch
    except ImportError as e:
        raise BackendUnavailableError("executorch", "executorch", str(e)) from None
    return torch


def _meta_names() -> dict[str, str]:
    """Hugging Face tensor name -> Meta name ("{}": the layer), from ExecuTorch's Qwen3 table (the Llama one plus
    the q/k norms) with the q/k/v biases its Qwen2.5 table adds (that module imports torchtune, not installed)."""
    from executorch.examples.models.qwen3.convert_weights import _QWEN_3_FROM_META

    names = {hf: meta for meta, hf in _QWEN_3_FROM_META.items()}
    for hf, meta in list(names.items()):
        if meta.split(".")[-2] in ("wq", "wk", "wv"):
            names[hf.removesuffix("weight") + "bias"] = meta.removesuffix("weight") + "bias"
    return names


def _unfused(state: dict, q_rows: int, kv_rows: int) -> dict:
    """Phi-3's fused projections as separate ones, split as ExecuTorch's phi_4_mini/convert_weights.py does:
    qkv_proj's rows are q, k, v; gate_up_proj's are gate, then up."""
    out = {}
    for name, tensor in state.items():
        if name.endswith("self_attn.qkv_proj.weight"):  # [q_rows + 2 kv_rows, D]
            parts = zip(("q_proj", "k_proj", "v_proj"), tensor.split([q_rows, kv_rows, kv_rows]), strict=True)
            out.update((name.replace("qkv_proj", proj), part) for proj, part in parts)
        elif name.endswith("mlp.gate_up_proj.weight"):  # [2 F, D]
            gate, up = tensor.chunk(2)
            out.update({name.replace("gate_up_proj", "gate_proj"): gate, name.replace("gate_up_proj", "up_proj"): up})
        else:
            out[name] = tensor
    return out


def rope_params(config) -> dict:
    """params.json's RoPE fields. ExecuTorch's `use_scaled_rope` reproduces Llama 3 scaling only for Llama 3's own
    8,192-token original context and low_freq_factor 1 (rope.apply_scaling hard-codes both) and has no linear
    scaling; its HF RoPE divides each frequency by a per-dimension factor (LongRoPE's short/long factors, equal
    here so the context length does not choose between them), which says exactly what transformers'
    ROPE_INIT_FUNCTIONS computes for either scaling: the factors are the unscaled frequencies over the scaled."""
    params = {"rope_theta": float(config.rope_theta), "use_hf_rope": True, "use_scaled_rope": False}
    rope = rope_type(config)
    if rope == "default":
        return params
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    base, _ = ROPE_INIT_FUNCTIONS["default"](config, "cpu")  # [head_dim / 2]
    scaled, attention_factor = ROPE_INIT_FUNCTIONS[rope](config, "cpu")
    factors = (base.double() / scaled.double()).tolist()
    params.update(rope_scaling_short_factor=factors, rope_scaling_long_factor=factors,
                  rope_scaling_attention_factor=float(attention_factor))
    return params


def meta_checkpoint(model) -> tuple[dict, dict]:
    """(state dict with Meta's names, params.json) for ExecuTorch's Llama definition; ModelFormatError for a
    tensor that definition has no place for (an o_proj or MLP bias, say), which would otherwise be dropped."""
    from executorch.examples.models.checkpoint import get_mapped_key

    config = model.config
    n_heads, n_kv_heads = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_heads
    names = _meta_names()
    meta = {}
    for name, tensor in _unfused(model.state_dict(), n_heads * head_dim, n_kv_heads * head_dim).items():
        try:
            meta[get_mapped_key(name, names)] = tensor
        except Exception:  # get_mapped_key raises a bare Exception for a name its table lacks
            raise ModelFormatError(f"ExecuTorch's Llama definition has no place for the {family_of(config).name} "
                                   f"tensor {name}") from None
    # its own copy: a tied head must not share storage with the embedding when one of them is quantized
    meta["output.weight"] = meta.get("output.weight", meta["tok_embeddings.weight"]).clone()
    params = {
        "dim": config.hidden_size,
        "hidden_dim": config.intermediate_size,
        "n_heads": n_heads,
        "n_kv_heads": n_kv_heads,
        "head_dim": head_dim,
        "n_layers": config.num_hidden_layers,
        "norm_eps": config.rms_norm_eps,
        "vocab_size": int(meta["tok_embeddings.weight"].shape[0]),
        # the switches ExecuTorch's Qwen2.5 and Qwen3 configs set, read off the checkpoint's own tensors
        "attention_qkv_bias": "layers.0.attention.wq.bias" in meta,
        "use_qk_norm": "layers.0.attention.q_norm_fn.weight" in meta,
        "qk_norm_before_rope": True,  # Qwen3 normalizes each head before rotating it
        **rope_params(config),
    }
    return meta, params


def quantized_checkpoint(meta: dict, params: dict, quant: str) -> tuple[dict, int]:
    """Quantize the Meta-format weights with torchao as export_llm's own `qmode=8da4w` would, except that
    the output head (the tied embedding, read at every token) keeps 8-bit weights, as in ExecuTorch's
    `8da4w_output_8da8w` checkpoints; export_llm lowers such a checkpoint as it is.
    Returns the state dict (torchao tensors) and how many Linears were quantized."""
    import torch
    from executorch.examples.models.llama.llama_transformer import construct_transformer
    from executorch.examples.models.llama.model_args import ModelArgs
    from torchao.quantization import Int8DynamicActivationIntxWeightConfig, IntxUnpackedToInt8Tensor, quantize_
    from torchao.quantization.granularity import PerAxis, PerGroup

    model = construct_transformer(ModelArgs(max_seq_len=8, max_context_len=8, use_kv_cache=True, **params))
    missing, _ = model.load_state_dict(meta, strict=False)  # buffers (RoPE tables, KV cache) are not weights
    if any(name.endswith(".weight") for name in missing):
        raise BackendError(f"the Meta-format checkpoint lacks {[n for n in missing if n.endswith('.weight')]}")
    int8 = Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int8, weight_granularity=PerAxis(0))
    int4 = Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4, weight_granularity=PerGroup(GROUP_SIZE),
                                                 intx_choose_qparams_algorithm="hqq_scale_only")
    layers = int8 if quant == "8da8w" else int4
    quantize_(model, layers, filter_fn=lambda m, fqn: isinstance(m, torch.nn.Linear) and fqn != "output")
    quantize_(model, int8, filter_fn=lambda m, fqn: isinstance(m, torch.nn.Linear) and fqn == "output")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    quantized = sum(isinstance(m.weight, IntxUnpackedToInt8Tensor) for m in linears)
    if quantized != len(linears):
        raise BackendError(f"only {quantized} of {len(linears)} Linears were quantized to {quant}")
    return {name: t for name, t in model.state_dict().items() if name in meta}, quantized


def lm_checkpoint(model, tokenizer, quant: str, *, awq: bool) -> tuple[dict, dict, dict]:
    """The language model `model` as ExecuTorch's Llama takes it: (Meta-format state dict, torchao tensors when
    quantized; params.json; the report's quantization entries). AWQ scales are folded into a copy first (8da4w)."""
    config = model.config
    report: dict = {}
    if quant == "8da4w":
        if config.hidden_size % GROUP_SIZE or config.intermediate_size % GROUP_SIZE:
            raise BackendError(f"8da4w needs Linear widths that are multiples of {GROUP_SIZE}; this model's are "
                               f"{config.hidden_size} and {config.intermediate_size}")
        report["group_size"] = GROUP_SIZE
        if awq:
            model, report["equalization"] = equalize.equalized_model(
                model, tokenizer, equalize.symmetric(4, GROUP_SIZE), equalize.per_token_int8)
    meta, params = meta_checkpoint(model)
    if quant != "fp32":
        meta, report["quantized_linears"] = quantized_checkpoint(meta, params, quant)
        report["output_head"] = "8da8w"
    return meta, params, report


def eos_ids(model, tokenizer) -> list[int]:
    """Every id that ends a generation: the generation config's and the tokenizer's."""
    eos = model.generation_config.eos_token_id
    eos = {eos} if isinstance(eos, int) else set(eos or [])
    if tokenizer.eos_token_id is not None:
        eos.add(tokenizer.eos_token_id)
    return sorted(eos)


def runner_tokenizer_json(tokenizer) -> dict:
    """tokenizer.json as ExecuTorch's C++ tokenizer loads it: no normalizer, a plain ByteLevel decoder
    (what transformers writes from a GGUF fails there with "Failed to load tokenizer")."""
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    if not data.get("normalizer") or data["normalizer"].get("normalizers") == []:
        data["normalizer"] = None
    if "ByteLevel" in json.dumps(data.get("decoder")):
        data["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return data


def write_tokenizer_files(tokenizer, bundle: Path) -> None:
    """tokenizer.json for ExecuTorch's C++ runner and the HF tokenizer files beside it (for the SDK)."""
    (bundle / "tokenizer.json").write_text(json.dumps(runner_tokenizer_json(tokenizer), ensure_ascii=False))
    with tempfile.TemporaryDirectory() as saved:
        tokenizer.save_pretrained(saved)
        for name in TOKENIZER_FILES:
            if (Path(saved) / name).is_file():
                (bundle / name).write_bytes((Path(saved) / name).read_bytes())


def write(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    torch = require_executorch()
    tokenizer, model = source.tokenizer, source.model
    meta, params, quantization = lm_checkpoint(model, tokenizer, quant, awq=awq)
    report: dict = {"max_context_length": n_ctx, **quantization}
    # export_llm decides how to load a checkpoint from its path ("int8" or "8da4w" in it switch on legacy
    # quantizers), so the staging directory gets a name of our own, not one derived from the user's
    with tempfile.TemporaryDirectory(prefix="infir-edge-pte-") as staging:
        staging = Path(staging)
        torch.save(meta, staging / "model.pth")
        (staging / "params.json").write_text(json.dumps(params))
        metadata = json.dumps({"get_bos_id": tokenizer.bos_token_id or 0, "get_eos_ids": eos_ids(model, tokenizer)})
        command = [
            sys.executable, "-m", "executorch.extension.llm.export.export_llm",
            f"base.model_class={family_of(model.config).executorch_class}", f"base.checkpoint={staging / 'model.pth'}",
            f"base.params={staging / 'params.json'}", f"base.metadata={json.dumps(metadata)}",
            "model.use_kv_cache=True", "model.use_sdpa_with_kv_cache=True",
            "backend.xnnpack.enabled=True", "backend.xnnpack.extended_ops=True",
            f"export.max_seq_length={min(n_ctx, 512)}", f"export.max_context_length={n_ctx}",
            f"export.output_dir={staging}", f"export.output_name={MODEL_FILE}",
        ]
        try:
            proc = subprocess.run(command, cwd=staging, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BackendError(f"executorch's export_llm did not finish within {EXPORT_TIMEOUT_S} s") from None
        if proc.returncode != 0 or not (staging / MODEL_FILE).is_file():
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise BackendError(f"executorch's export_llm failed (exit {proc.returncode}): {tail}")
        shutil.move(staging / MODEL_FILE, bundle / MODEL_FILE)  # the staging directory may be on another disk
    write_tokenizer_files(tokenizer, bundle)
    model.generation_config.to_json_file(bundle / "generation_config.json")
    return report
