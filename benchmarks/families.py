"""`infir-edge bench --families llama,qwen3,...`: every model family through every export format at full precision.

For each family a small random-init checkpoint (2 layers, width 64, the default model's tokenizer) is exported to
GGUF f32, ONNX fp32 and ExecuTorch fp32, verified against transformers, and run through `infir_edge.load`: the
table says which family x format combinations work and how closely, and quotes the refusal where a toolchain has
no converter. Random weights are made to matter: norms and biases are drawn too (a dropped Gemma norm offset or
Qwen2 bias would go unnoticed at their initial values) and q/k are sharpened, since random-init attention is
nearly uniform and would hide RoPE mistakes. Written to OUT/families.md and OUT/families.json.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from infir_edge.errors import InfirEdgeError, InvalidRequestError
from infir_edge.files import atomic_write_text
from infir_edge.models.families import FORMATS, family_names

FULL_PRECISION = {"gguf": "f32", "onnx": "fp32", "executorch": "fp32"}
# family -> (transformers config class, its family-specific fields); every one is 2 layers of width 64, 4 heads
# over 2 KV heads, the default model's 49,152-token vocabulary
FAMILY_CONFIGS = {
    "llama": ("LlamaConfig", {"tie_word_embeddings": True}),
    "mistral": ("MistralConfig", {"tie_word_embeddings": False, "sliding_window": None}),
    "qwen2": ("Qwen2Config", {"tie_word_embeddings": True}),  # q/k/v biases
    "qwen3": ("Qwen3Config", {"tie_word_embeddings": True, "head_dim": 32}),  # q/k norms; head_dim != 64 / 4
    "phi3": ("Phi3Config", {"tie_word_embeddings": False, "pad_token_id": 2}),  # fused qkv and gate_up
    # norm offset, embedding scale, GELU, head_dim 32 != 64 / 4
    "gemma": ("GemmaConfig", {"head_dim": 32, "hidden_activation": "gelu_pytorch_tanh", "pad_token_id": 2}),
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")
SHARPEN = 4.0  # q/k multiplier of the table's checkpoints: attention that depends on position
GREEDY_PROMPT = "The capital of France is"
GREEDY_TOKENS = 8


def write_family_checkpoint(path: Path, tokenizer_dir: Path, family: str, *, seed: int = 0,
                            rope_scaling: dict | None = None, rope_theta: float = 10000.0,
                            max_position_embeddings: int = 512, sharpen: float = 1.0) -> Path:
    """A 2-layer random-init checkpoint of `family` with the tokenizer files of `tokenizer_dir`.

    Norm weights and biases are drawn at random (at their initial ones or zeros a dropped norm offset or bias goes
    unnoticed), and `sharpen` multiplies the q/k projections so that attention depends on position."""
    import torch
    import transformers

    if family not in FAMILY_CONFIGS:
        raise InvalidRequestError(f"unknown family {family!r}: choose from {', '.join(FAMILY_CONFIGS)}")
    class_name, fields = FAMILY_CONFIGS[family]
    config = getattr(transformers, class_name)(
        vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=max_position_embeddings, rope_theta=rope_theta,
        rope_scaling=rope_scaling, bos_token_id=1, eos_token_id=2, **fields)
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    neutral_norm = 0.0 if family == "gemma" else 1.0  # Gemma's norms scale by 1 + weight
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if name.endswith("norm.weight"):
                tensor.copy_(neutral_norm + 0.3 * torch.randn_like(tensor))
            elif name.endswith(".bias"):
                tensor.copy_(0.1 * torch.randn_like(tensor))
            elif name.endswith(("q_proj.weight", "k_proj.weight")):
                tensor.mul_(sharpen)
            elif name.endswith("qkv_proj.weight"):  # Phi-3: the q and k rows come first, then v
                tensor[: (config.num_attention_heads + config.num_key_value_heads) * head_dim].mul_(sharpen)
    model.save_pretrained(path)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, path / name)
    return path


def _greedy(model, **options) -> list[int]:
    import infir_edge

    with infir_edge.load(model, **options) as engine:
        return engine.generate(GREEDY_PROMPT, max_new_tokens=GREEDY_TOKENS, ignore_eos=True).token_ids


def _cell(checkpoint: Path, fmt: str, out: Path) -> dict:
    from infir_edge.export import export

    quant = FULL_PRECISION[fmt]
    start = time.perf_counter()
    try:
        bundle = export(checkpoint, format=fmt, quant=quant, out=out, overwrite=True, max_context=256)
    except InfirEdgeError as e:  # a refusal (or a failed verification) is the cell's result
        return {"format": fmt, "quant": quant, "refused": f"{type(e).__name__}: {e}"}
    verification = json.loads((bundle / "manifest.json").read_text())["verification"]
    reference = _greedy(checkpoint, backend="torch")
    return {"format": fmt, "quant": quant, "export_s": round(time.perf_counter() - start, 1),
            "top1_agreement": verification["top1_agreement"], "mean_kl": verification["mean_kl"],
            "passed": verification["passed"],
            "greedy_same": sum(a == b for a, b in zip(reference, _greedy(bundle), strict=True))}


def write_families_report(families, out, *, formats=FORMATS, overwrite: bool = False) -> Path:
    """Export each of `families` to each of `formats` at full precision; OUT/families.md and families.json."""
    from infir_edge.models.convert import gguf_to_checkpoint

    unknown = [f for f in families if f not in family_names()]
    if unknown:
        raise InvalidRequestError(f"--families takes {', '.join(family_names())}, got {', '.join(unknown)}")
    out = Path(out)
    if (out / "families.md").exists() and not overwrite:
        raise InvalidRequestError(f"{out}/families.md already exists (pass --overwrite to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    tokenizer = gguf_to_checkpoint("default", work / "default")  # for its tokenizer files
    rows = []
    for family in families:
        checkpoint = write_family_checkpoint(work / family, tokenizer, family, sharpen=SHARPEN)
        for fmt in formats:
            rows.append({"family": family, **_cell(checkpoint, fmt, work / f"{family}-{fmt}")})
            data = {"created_unix": time.time(), "sharpen": SHARPEN, "greedy_tokens": GREEDY_TOKENS, "rows": rows}
            atomic_write_text(out / "families.json", json.dumps(data, indent=2) + "\n")
            atomic_write_text(out / "families.md", _markdown(data))
    shutil.rmtree(work, ignore_errors=True)  # bundles of random weights: only their figures are worth keeping
    return out / "families.md"


def _markdown(data: dict) -> str:
    lines = [
        "# Model families x export formats, full precision",
        "",
        f"2-layer random-init checkpoints (q/k x{data['sharpen']:g}, random norms and biases), verified against "
        f"transformers fp32; greedy: of {data['greedy_tokens']} tokens, how many equal the torch reference's.",
        "",
        "| family | format quant | top-1 agreement | mean KL | greedy same | export s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in data["rows"]:
        cell = f"{r['format']} {r['quant']}"
        if "refused" in r:
            lines.append(f"| {r['family']} | {cell} | refused: {r['refused']} | | | |")
        else:
            kl = f"{r['mean_kl']:.2e}" if r["mean_kl"] else "< 1e-5"  # verification rounds it to 5 decimals
            lines.append(f"| {r['family']} | {cell} | {r['top1_agreement']:.4f} | {kl} | "
                         f"{r['greedy_same']}/{data['greedy_tokens']} | {r['export_s']:.0f} |")
    return "\n".join(lines) + "\n"
