"""Checkpoint -> ExecuTorch `.pte` through the executorch wheel's own LLM export (`export_llm`).

The result is the file ExecuTorch's LLM runner loads (the Android demo app, `llama_main`,
`TextLLMRunner`): the Llama definition with a KV cache and SDPA custom op, lowered to XNNPACK, with
`get_bos_id`/`get_eos_ids`/`get_max_context_len` methods. `export_llm` wants a Meta-format checkpoint
and `params.json`; the Q/K rows go back from HF's rotate-half order to Meta's interleaved one (the same
permutation GGUF needs). It runs in a child process: hydra and torch.export keep global state.

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

from infir_edge.errors import BackendError, BackendUnavailableError
from infir_edge.export import equalize
from infir_edge.export.gguf import rope_to_interleaved

RECIPE = 1  # torchao-quantized before export_llm
QUANTS = ("fp32", "8da8w", "8da4w")
MODEL_FILE = "model.pte"
BUNDLE_FORMAT = "pte"
DEFAULT_CONTEXT = 2048  # a phone's memory, not the model's trained context, sets this default
GROUP_SIZE = 32  # the smallest group XNNPACK takes: the most accurate
EXPORT_TIMEOUT_S = 3600
TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def meta_checkpoint(model) -> tuple[dict, dict]:
    """(state dict with Meta's names and RoPE layout, params.json) for executorch's Llama definition."""
    import torch

    config = model.config
    n_heads, n_kv_heads = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    state = model.state_dict()

    def interleave(weight, heads):
        return torch.from_numpy(rope_to_interleaved(weight.float().numpy(), heads))

    meta = {
        "tok_embeddings.weight": state["model.embed_tokens.weight"],
        "norm.weight": state["model.norm.weight"],
        "output.weight": state.get("lm_head.weight", state["model.embed_tokens.weight"]).clone(),
    }
    for i in range(config.num_hidden_layers):
        hf, et = f"model.layers.{i}.", f"layers.{i}."
        meta[et + "attention.wq.weight"] = interleave(state[hf + "self_attn.q_proj.weight"], n_heads)
        meta[et + "attention.wk.weight"] = interleave(state[hf + "self_attn.k_proj.weight"], n_kv_heads)
        meta[et + "attention.wv.weight"] = state[hf + "self_attn.v_proj.weight"]
        meta[et + "attention.wo.weight"] = state[hf + "self_attn.o_proj.weight"]
        meta[et + "attention_norm.weight"] = state[hf + "input_layernorm.weight"]
        meta[et + "ffn_norm.weight"] = state[hf + "post_attention_layernorm.weight"]
        meta[et + "feed_forward.w1.weight"] = state[hf + "mlp.gate_proj.weight"]
        meta[et + "feed_forward.w2.weight"] = state[hf + "mlp.down_proj.weight"]
        meta[et + "feed_forward.w3.weight"] = state[hf + "mlp.up_proj.weight"]
    params = {
        "dim": config.hidden_size,
        "hidden_dim": config.intermediate_size,
        "n_heads": n_heads,
        "n_kv_heads": n_kv_heads,
        "n_layers": config.num_hidden_layers,
        "norm_eps": config.rms_norm_eps,
        "rope_theta": float(getattr(config, "rope_theta", 10000.0)),
        "vocab_size": config.vocab_size,
        "use_scaled_rope": False,
        "use_hf_rope": False,
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


def runner_tokenizer_json(tokenizer) -> dict:
    """tokenizer.json as ExecuTorch's C++ tokenizer loads it: no normalizer, a plain ByteLevel decoder
    (what transformers writes from a GGUF fails there with "Failed to load tokenizer")."""
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    if not data.get("normalizer") or data["normalizer"].get("normalizers") == []:
        data["normalizer"] = None
    if "ByteLevel" in json.dumps(data.get("decoder")):
        data["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return data


def write(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    try:
        import executorch  # noqa: F401
        import torch
    except ImportError as e:
        raise BackendUnavailableError("executorch", "executorch", str(e)) from None
    tokenizer, config = source.tokenizer, source.model.config
    report: dict = {"max_context_length": n_ctx}
    if quant == "8da4w":
        if config.hidden_size % GROUP_SIZE or config.intermediate_size % GROUP_SIZE:
            raise BackendError(f"8da4w needs Linear widths that are multiples of {GROUP_SIZE}; this model's are "
                               f"{config.hidden_size} and {config.intermediate_size}")
        report["group_size"] = GROUP_SIZE
        if awq:
            source, report["equalization"] = equalize.equalized_source(
                source, equalize.symmetric(4, GROUP_SIZE), equalize.per_token_int8)
    # export_llm decides how to load a checkpoint from its path ("int8" or "8da4w" in it switch on legacy
    # quantizers), so the staging directory gets a name of our own, not one derived from the user's
    with tempfile.TemporaryDirectory(prefix="infir-edge-pte-") as staging:
        staging = Path(staging)
        meta, params = meta_checkpoint(source.model)
        if quant != "fp32":
            meta, report["quantized_linears"] = quantized_checkpoint(meta, params, quant)
            report["output_head"] = "8da8w"
        torch.save(meta, staging / "model.pth")
        (staging / "params.json").write_text(json.dumps(params))
        eos = source.model.generation_config.eos_token_id
        eos = {eos} if isinstance(eos, int) else set(eos or [])
        if tokenizer.eos_token_id is not None:
            eos.add(tokenizer.eos_token_id)
        metadata = json.dumps({"get_bos_id": tokenizer.bos_token_id or 0, "get_eos_ids": sorted(eos)})
        command = [
            sys.executable, "-m", "executorch.extension.llm.export.export_llm",
            "base.model_class=llama3", f"base.checkpoint={staging / 'model.pth'}",
            f"base.params={staging / 'params.json'}", f"base.metadata={json.dumps(metadata)}",
            "model.use_kv_cache=True", "model.use_sdpa_with_kv_cache=True",
            "backend.xnnpack.enabled=True", "backend.xnnpack.extended_ops=True",
            f"export.max_seq_length={min(n_ctx, 512)}", f"export.max_context_length={n_ctx}",
            f"export.output_dir={staging}", f"export.output_name={MODEL_FILE}",
        ]
        proc = subprocess.run(command, cwd=staging, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
        if proc.returncode != 0 or not (staging / MODEL_FILE).is_file():
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise BackendError(f"executorch's export_llm failed (exit {proc.returncode}): {tail}")
        shutil.move(staging / MODEL_FILE, bundle / MODEL_FILE)  # the staging directory may be on another disk
    (bundle / "tokenizer.json").write_text(json.dumps(runner_tokenizer_json(tokenizer), ensure_ascii=False))
    with tempfile.TemporaryDirectory() as saved:
        tokenizer.save_pretrained(saved)
        for name in TOKENIZER_FILES:
            if (Path(saved) / name).is_file():
                (bundle / name).write_bytes((Path(saved) / name).read_bytes())
    source.model.generation_config.to_json_file(bundle / "generation_config.json")
    return report
