"""Checkpoint -> ONNX through onnxruntime-genai's model builder, quantized with onnxruntime's MatMulNBits.

The builder (`python -m onnxruntime_genai.models.builder`) knows each family's graph (it picks a builder from
`config.architectures[0]`) and emits fused ops: GroupQueryAttention with the rotary embedding inside,
SkipSimplifiedLayerNormalization, packed q/k/v MatMuls, and MatMulNBits at int4. Beside `model.onnx` (+ its
external `model.onnx.data`) it writes `genai_config.json` and the tokenizer files, which is what the plain
onnxruntime-genai API (`og.Model(bundle)`) and the SDK's backend (runtime/onnxrt.py) load.

Quantization keeps the SDK's names: int4 is the builder's asymmetric MatMulNBits (block 32, `accuracy_level` 4: MLAS's
int8-activation kernels, as llama.cpp's q4_0) with the LM head, the packed q/k/v projections and the MLP
down-projections at 8 bits, as llama.cpp's q4_k_m keeps attn_v and ffn_down at 6 bits (MatMulNBits has 4 and 8, and
the builder packs v with q and k); int8 is 8-bit MatMulNBits on every MatMul of the fp32 graph (blockwise, so the MLP
down-projections' activation outliers that defeat a per-tensor int8 scale cost nothing). Both scale the weights
with AWQ first (equalize.py), against the grid the quantizer uses.

[measured] default model, AWQ, top-1 agreement on the verification set / og.Generator decode tok/s on 2 idle cores:
all 4-bit but the head 0.820 / 85; k_quant instead of round-to-nearest 0.822; + down-projections at 8 bits 0.859 /
88; the builder's k_quant_mixed (8 bits in half the layers) 0.859 / 88; + down and q/k/v at 8 bits 0.876 / 82;
fp32 activations (`accuracy_level` 0) 0.830 / 35 tok/s under load (half the int8-activation speed); no AWQ 0.674.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from infir_edge.errors import BackendError, BackendUnavailableError
from infir_edge.export import equalize

# 3: optimum's graph; 4: onnxruntime-genai's builder, int8 as 8-bit MatMulNBits; 5: int4 asymmetric;
# 6: int4 keeps q/k/v and the down-projections at 8 bits
RECIPE = 6
QUANTS = ("fp32", "int8", "int4")
BLOCK_SIZE = 32
ACCURACY_LEVEL = 4  # MatMulNBits computes with int8 activations (per block)
EIGHT_BITS = 8  # the MatMuls of an int4 export that stay at 8 bits (eight_bit_matmuls)
# int4 with a zero point per block: [measured] default model, AWQ on each grid, top-1 0.797 symmetric -> 0.820
INT4_SYMMETRIC = False
# the builder's names of the MatMuls an int4 export keeps at 8 bits: the LM head (4 bits there cost the most
# agreement of any layer), each layer's v projection (packed with q and k where the builder packs them) and its MLP
# down-projection: the names the builder's own k_quant_mixed keeps at 8 bits
HEAD_MATMUL = "/lm_head/MatMul"
LAYER_EIGHT_BIT_MATMULS = ("/model/layers.{layer}/attn/qkv_proj/MatMul", "/model/layers.{layer}/attn/v_proj/MatMul",
                           "/model/layers.{layer}/mlp/down_proj/MatMul")
MODEL_FILE = "model.onnx"
DATA_FILE = f"{MODEL_FILE}.data"
GENAI_CONFIG = "genai_config.json"
BUNDLE_FORMAT = "onnx"
# the builder's precision for each quant: int8 starts from its fp32 graph
BUILDER_PRECISION = {"fp32": "fp32", "int8": "fp32", "int4": "int4"}
# what the builder's output folder holds besides the graph that a bundle keeps (its tokenizer and chat template)
BUILDER_FILES = (GENAI_CONFIG, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "chat_template.jinja")
# from the staged checkpoint: the runtime reads the model type and generation EOS ids there
CHECKPOINT_FILES = ("config.json", "generation_config.json")


def write(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Export `source` into the directory `bundle` (model, tokenizer and config files); return a report."""
    model, report = awq_model(source.model, source.tokenizer, quant) if awq else (source.model, {})
    with tempfile.TemporaryDirectory(dir=bundle.parent, prefix=".onnx-staging-") as staging:
        staging = Path(staging)
        checkpoint = stage_checkpoint(model, source.tokenizer, staging / "checkpoint", n_ctx)
        report.update(build(checkpoint, bundle, quant, staging))
    return report


def awq_model(model, tokenizer, quant: str) -> tuple[object, dict]:
    """`model` with AWQ scales folded in for `quant`'s weight grid (a copy), and the report; fp32 as it is."""
    if quant == "fp32":
        return model, {}
    # the grid MatMulNBits rounds to: int4 is MLAS's asymmetric one (INT4_SYMMETRIC is False)
    grid = equalize.symmetric(8, BLOCK_SIZE) if quant == "int8" else equalize.asymmetric(4, BLOCK_SIZE)
    model, equalization = equalize.equalized_model(model, tokenizer, grid)
    return model, {"equalization": equalization}


def stage_checkpoint(model, tokenizer, folder: Path, n_ctx: int) -> Path:
    """Save `model` (fp32) and `tokenizer` as the local Hugging Face folder the builder reads, its config set to
    the bundle's context and to what the builder reads of the RoPE scaling."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "tokenizer.model").unlink(missing_ok=True)  # from a GGUF source this "vocab file" is the whole GGUF
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config["max_position_embeddings"] = n_ctx  # the builder's context_length: rotary caches, KV buffers
    scaling = config.get("rope_scaling") or {}
    rope = scaling.get("rope_type") or scaling.get("type")
    if rope == "llama3":
        # the builder reads the original context as a top-level key only (Llama 3's wavelength thresholds)
        config["original_max_position_embeddings"] = scaling["original_max_position_embeddings"]
    elif rope == "linear":
        config["rope_position_scale"] = 1.0 / scaling["factor"]  # its switch for interpolated positions
    elif "original_max_position_embeddings" in config:
        # Phi-3 without scaling: a context other than the original one would select the builder's LongRoPE model
        config["original_max_position_embeddings"] = n_ctx
    path.write_text(json.dumps(config, indent=2))
    return folder


def build(checkpoint: Path, bundle: Path, quant: str, staging: Path, extra_options: dict | None = None) -> dict:
    """Run the builder on `checkpoint`, quantize for `quant`, and write the graph, its genai_config.json and the
    tokenizer files into `bundle`; return the report (quantization details and the graph's op counts)."""
    try:
        import onnx
    except ImportError as e:
        raise BackendUnavailableError("onnxruntime", "onnx", str(e)) from None
    built = staging / "built"
    options = {"int4_block_size": BLOCK_SIZE, "int4_accuracy_level": ACCURACY_LEVEL, **(extra_options or {})}
    eight_bit = eight_bit_matmuls(json.loads((checkpoint / "config.json").read_text())) if quant == "int4" else []
    if quant == "int4":
        options["int4_nodes_to_exclude"] = ",".join(eight_bit)  # quantized to EIGHT_BITS below
        options["int4_is_symmetric"] = str(INT4_SYMMETRIC).lower()
        # a tied head shared as a 4-bit GatherBlockQuantized embedding would read the head it leaves out
        options["shared_embeddings"] = "false"
    run_builder(checkpoint, built, BUILDER_PRECISION[quant], staging / "cache", options)
    for name in BUILDER_FILES:
        if (built / name).is_file():
            shutil.copy(built / name, bundle / name)
    for name in CHECKPOINT_FILES:
        if (checkpoint / name).is_file():
            shutil.copy(checkpoint / name, bundle / name)
    report: dict = {"builder": f"onnxruntime-genai {_genai_version()}"}
    if quant == "fp32":
        for name in (MODEL_FILE, DATA_FILE):
            shutil.move(built / name, bundle / name)
        model = onnx.load(str(bundle / MODEL_FILE), load_external_data=False)
    else:
        model = onnx.load(str(built / MODEL_FILE))
        if quant == "int8":
            model = matmul_nbits(model, 8)
            report.update(bits=8, block_size=BLOCK_SIZE, accuracy_level=ACCURACY_LEVEL)
        else:
            kept = [n.name for n in model.graph.node if n.name in eight_bit and n.op_type == "MatMul"]
            if kept:
                model = matmul_nbits(model, EIGHT_BITS, include=kept)
            report.update(block_size=BLOCK_SIZE, accuracy_level=ACCURACY_LEVEL,
                          head_bits=EIGHT_BITS if HEAD_MATMUL in kept else None,
                          eight_bit_matmuls=len(kept))
        onnx.save_model(model, str(bundle / MODEL_FILE), save_as_external_data=True, location=DATA_FILE,
                        size_threshold=0)
    report["op_types"] = dict(Counter(n.op_type for n in model.graph.node if n.op_type in (
        "MatMul", "MatMulNBits", "GroupQueryAttention", "Gather", "GatherBlockQuantized")))
    return report


def eight_bit_matmuls(config: dict) -> list[str]:
    """The builder's names of the MatMuls an int4 export of the model with `config` keeps at 8 bits."""
    layers = [name.format(layer=i) for i in range(config["num_hidden_layers"]) for name in LAYER_EIGHT_BIT_MATMULS]
    return [HEAD_MATMUL, *layers]


def run_builder(checkpoint: Path, out: Path, precision: str, cache: Path, options: dict) -> None:
    """`python -m onnxruntime_genai.models.builder` on the local folder, offline, in its own process (it prints
    much and holds a second copy of the weights while it runs)."""
    extra = ["hf_token=false", "hf_remote=false", *(f"{k}={v}" for k, v in options.items())]
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(checkpoint), "-o", str(out),
               "-p", precision, "-e", "cpu", "-c", str(cache), "--extra_options", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0 or not (out / MODEL_FILE).is_file():
        if "No module named onnxruntime_genai" in done.stderr:
            raise BackendUnavailableError("onnxruntime", "onnx", "onnxruntime-genai is not installed")
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise BackendError(f"onnxruntime-genai's model builder could not export the model: {tail[0]}")


def matmul_nbits(model, bits: int, *, include=None):
    """MatMulNBits at `bits` (symmetric, BLOCK_SIZE, ACCURACY_LEVEL) on the float MatMuls of `model` (or those
    named in `include`)."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=BLOCK_SIZE, is_symmetric=True,
                                     accuracy_level=ACCURACY_LEVEL, nodes_to_include=include)
    quantizer.process()
    return quantizer.model.model


def _genai_version() -> str:
    from importlib.metadata import version

    return version("onnxruntime-genai")
