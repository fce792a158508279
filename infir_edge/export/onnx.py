"""Checkpoint -> ONNX with a KV cache, through optimum-onnx, then quantized with onnxruntime's tools.

optimum writes `model.onnx` with `past_key_values.*` inputs and `present.*` outputs plus the tokenizer
and config files, which is what both onnxruntime and `ORTModelForCausalLM` load. int8 is onnxruntime's
dynamic quantization; int4 its `MatMulNBitsQuantizer` (block size recorded) computing in int8
(`accuracy_level=4`: MLAS's VNNI/AVX-512 kernels instead of dequantizing to fp32 every step).

A tied LM head exports as a MatMul against a Transpose of the embedding, which no quantizer touches, so a
quantized export unties it first: the head, read at every token, is the largest weight of a small model
(SmolLM2-135M: 113 MB in fp32 against 50 MB for all of its 4-bit layers).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from infir_edge.errors import BackendError, BackendUnavailableError
from infir_edge.export import equalize

RECIPE = 3  # 2: untied 8-bit head, int8-compute MatMulNBits; 3: no copy of a GGUF source as tokenizer.model
QUANTS = ("fp32", "int8", "int4")
INT4_BLOCK_SIZE = 32
INT4_ACCURACY_LEVEL = 4  # MatMulNBits computes with int8 activations (per block), as llama.cpp's q4_0 does
HEAD_BITS = 8  # the untied head of an int4 export: 4 bits there cost the most agreement of any layer
HEAD_MATMUL = "/lm_head/MatMul"
FLOAT_MATMULS = ("mlp/down_proj",)
MODEL_FILE = "model.onnx"
BUNDLE_FORMAT = "onnx"


def write(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Export `source` into the directory `bundle` (model, tokenizer and config files); return a report."""
    try:
        import onnx
        from optimum.exporters.onnx import main_export
    except ImportError as e:
        raise BackendUnavailableError("onnxruntime", "onnx", str(e)) from None
    report: dict = {}
    if awq and quant in ("int8", "int4"):
        grid, activations = ((equalize.symmetric(8, 0), equalize.per_tensor_uint8) if quant == "int8"
                             else (equalize.symmetric(4, INT4_BLOCK_SIZE), None))
        source, report["equalization"] = equalize.equalized_source(source, grid, activations)
    with tempfile.TemporaryDirectory(dir=bundle.parent, prefix=".onnx-staging-") as staging:
        staging = Path(staging)
        checkpoint, exported = staging / "checkpoint", staging / "onnx"
        source.model.save_pretrained(checkpoint)
        source.tokenizer.save_pretrained(checkpoint)
        config = json.loads((checkpoint / "config.json").read_text())
        config["max_position_embeddings"] = n_ctx  # the bundle's context length, as runtimes read it
        if quant != "fp32" and config.get("tie_word_embeddings"):
            _untie_head(checkpoint)
            config["tie_word_embeddings"] = False
            report["untied_head"] = True
        (checkpoint / "config.json").write_text(json.dumps(config, indent=2))
        try:
            main_export(str(checkpoint), output=str(exported), task="text-generation-with-past", device="cpu")
        except Exception as e:  # torch.onnx and optimum raise many kinds
            raise BackendError(f"optimum could not export the model to ONNX: {e}") from None
        for item in exported.iterdir():
            if item.name.startswith("model.onnx"):
                continue  # the graph and its external data: written below, quantized or not
            if item.name == "tokenizer.model" and (exported / "tokenizer.json").is_file():
                continue  # runtimes read tokenizer.json; from a GGUF source this "vocab file" is the whole GGUF
            shutil.copy(item, bundle / item.name)
        if quant == "fp32":
            model = onnx.load(str(exported / MODEL_FILE))
        elif quant == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # the MLP down-projections read activations with outliers (LLM.int8(), Dettmers et al. 2022)
            # that one per-tensor int8 scale cannot hold, even after AWQ scaling: on SmolLM2-135M quantizing
            # them too costs top-1 agreement 0.939 -> 0.825, so they stay in float
            graph = onnx.load(str(exported / MODEL_FILE), load_external_data=False).graph
            keep_float = [
                n.name for n in graph.node if n.op_type == "MatMul" and any(p in n.name for p in FLOAT_MATMULS)
            ]
            quantize_dynamic(str(exported / MODEL_FILE), str(staging / "int8.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True, nodes_to_exclude=keep_float)
            model = onnx.load(str(staging / "int8.onnx"))
            report["kept_in_float"] = len(keep_float)
        else:
            model = onnx.load(str(exported / MODEL_FILE))
            head = [n.name for n in model.graph.node if n.name == HEAD_MATMUL and n.op_type == "MatMul"]
            model = _matmul_nbits(model, 4, exclude=head)
            if head:
                model = _matmul_nbits(model, HEAD_BITS, include=head)
            report.update(block_size=INT4_BLOCK_SIZE, accuracy_level=INT4_ACCURACY_LEVEL,
                          head_bits=HEAD_BITS if head else None)
        report["op_types"] = dict(Counter(node.op_type for node in model.graph.node
                                          if node.op_type in ("MatMul", "MatMulInteger", "MatMulNBits",
                                                              "DynamicQuantizeLinear", "Gather")))
        large = model.ByteSize() > 1_800_000_000  # protobuf's 2 GB limit: keep weights beside the graph
        onnx.save_model(model, str(bundle / MODEL_FILE), save_as_external_data=large,
                        location=f"{MODEL_FILE}.data" if large else None)
    return report


def _matmul_nbits(model, bits: int, *, exclude=(), include=None):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=INT4_BLOCK_SIZE, is_symmetric=True,
                                     accuracy_level=INT4_ACCURACY_LEVEL, nodes_to_exclude=list(exclude),
                                     nodes_to_include=include)
    quantizer.process()
    return quantizer.model.model


def _untie_head(checkpoint: Path) -> None:
    """Give the saved checkpoint its own `lm_head.weight`, a copy of the embedding (the same function)."""
    from safetensors.torch import load_file, save_file

    files = sorted(checkpoint.glob("*.safetensors"))
    if len(files) != 1:  # save_pretrained shards only past 5 GB; a model that large is not one file here
        raise BackendError(f"cannot untie the LM head of a checkpoint in {len(files)} safetensors files")
    state = load_file(files[0])
    state["lm_head.weight"] = state["model.embed_tokens.weight"].clone()
    save_file(state, files[0], metadata={"format": "pt"})
