"""InfiR-VL (`LlavaForConditionalGeneration`) -> three files onnxruntime runs: the vision tower, the token
embedding table and the LM over embeddings.

`vision.onnx` maps normalized pixels `[N, 3, S, S]` to the projected image embeddings `[N, image_tokens, D]`:
the SigLIP tower up to `vision_feature_layer` (every patch: the "full" strategy) and the 2-layer projector,
the function `get_image_features` computes (layers past the feature layer are not in the graph).

The LM is exported by optimum as `export/onnx.py` exports a text model (a Llama with `past_key_values.*`
inputs and `present.*` outputs, quantized the same way), then edited so an image's embeddings can take the
place of its `<image>` positions: the embedding Gather is cut out and `input_ids` becomes `inputs_embeds`
`[B, T, D]`; the table goes beside it as `embed_tokens.npy` (`[V, D]` float32; int8 rows plus
`embed_scales.npy` in a quantized bundle). A `num_logits_to_keep` input (`[1]` int64) slices the hidden
states before the LM head, so a prefill of several hundred image positions computes one row of logits, not
one per position.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, BackendUnavailableError, InvalidRequestError
from infir_edge.export import equalize
from infir_edge.export.onnx import (
    FLOAT_MATMULS,
    HEAD_BITS,
    HEAD_MATMUL,
    INT4_ACCURACY_LEVEL,
    INT4_BLOCK_SIZE,
    MODEL_FILE,
    _matmul_nbits,
    _untie_head,
)
from infir_edge.export.source import split_vl_model

RECIPE = 1
BUNDLE_FORMAT = "onnx"  # MODEL_FILE (the LM graph) is export/onnx.py's "model.onnx"
QUANTS = ("fp32", "int8", "int4")  # the LM's weights; the tower and projector stay fp32
VISION_FILE = "vision.onnx"
WRITES_LANGUAGE_MODEL = True  # the LM graph takes inputs_embeds, so image embeddings can be spliced in
EMBED_FILE = "embed_tokens.npy"
EMBED_SCALES_FILE = "embed_scales.npy"  # int8 embedding rows' scales, only in a quantized bundle
VISION_OPSET = 17  # LayerNormalization as one op
# the LM graph's inputs and outputs besides the KV cache
EMBEDS_INPUT = "inputs_embeds"
LOGITS_TO_KEEP_INPUT = "num_logits_to_keep"
PIXELS_INPUT = "pixel_values"
IMAGE_EMBEDS_OUTPUT = "image_embeds"


@dataclass
class _LMSource:  # what equalize.equalized_source reads of an export source
    model: object
    tokenizer: object


def write_vl(model, tokenizer, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Export the LLaVA `model` (fp32) and its `tokenizer` (with `<image>`) into the directory `bundle`:
    `model.onnx` (the LM over `inputs_embeds`), `vision.onnx`, `embed_tokens.npy` (+ `embed_scales.npy` when
    quantized), `config.json` (the LM's, `max_position_embeddings` = `n_ctx`) and the tokenizer files.

    Returns the report: `files` (what was written), `vision` (what a manifest's `vision` holds: projector_file,
    image_size, image_tokens, image_token, plus embed_file and embed_scales_file), `image_tokens` and the LM's
    quantization details as `export/onnx.py` reports them."""
    try:
        import onnx
        import torch
        from optimum.exporters.onnx import main_export
    except ImportError as e:
        raise BackendUnavailableError("onnxruntime", "onnx", str(e)) from None
    from infir_edge.models.vl import IMAGE_TOKEN

    if quant not in QUANTS:
        raise InvalidRequestError(f"the ONNX VL export quantizes to one of {', '.join(QUANTS)}, got {quant!r}")
    if model.config.vision_feature_select_strategy != "full":
        raise InvalidRequestError("the ONNX VL export takes every patch (vision_feature_select_strategy 'full')")
    if next(model.parameters()).dtype != torch.float32:
        model = copy.deepcopy(model).float()
    model.eval()
    bundle = Path(bundle)
    report: dict = {}

    # the LM alone, as a LlamaForCausalLM (what optimum exports)
    lm = split_vl_model(model)
    if awq and quant in ("int8", "int4"):
        grid, activations = ((equalize.symmetric(8, 0), equalize.per_tensor_uint8) if quant == "int8"
                             else (equalize.symmetric(4, INT4_BLOCK_SIZE), None))
        equalized, report["equalization"] = equalize.equalized_source(_LMSource(lm, tokenizer), grid, activations)
        lm = equalized.model

    with tempfile.TemporaryDirectory(dir=bundle.parent, prefix=".onnx-vl-staging-") as staging:
        staging = Path(staging)
        checkpoint, exported = staging / "checkpoint", staging / "onnx"
        lm.save_pretrained(checkpoint)
        tokenizer.save_pretrained(checkpoint)
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
            raise BackendError(f"optimum could not export the VL model's LM to ONNX: {e}") from None
        for item in exported.iterdir():
            if item.name.startswith(MODEL_FILE):
                continue  # the graph and its external data: written below
            if item.name == "tokenizer.model" and (exported / "tokenizer.json").is_file():
                continue
            shutil.copy(item, bundle / item.name)

        lm_graph = onnx.load(str(exported / MODEL_FILE))
        table = _take_embeddings(lm_graph)
        _keep_last_logits(lm_graph)
        if quant == "fp32":
            np.save(bundle / EMBED_FILE, table)
        else:
            rows, scales = quantize_rows(table)
            np.save(bundle / EMBED_FILE, rows)
            np.save(bundle / EMBED_SCALES_FILE, scales)
            lm_graph = _quantize_lm(lm_graph, quant, staging, report)
        report["op_types"] = dict(Counter(node.op_type for node in lm_graph.graph.node
                                          if node.op_type in ("MatMul", "MatMulInteger", "MatMulNBits",
                                                              "DynamicQuantizeLinear", "Gather")))
        _save(lm_graph, bundle / MODEL_FILE)
        _export_vision(model, staging / VISION_FILE)
        _save(onnx.load(str(staging / VISION_FILE)), bundle / VISION_FILE)

    vision_config = model.config.vision_config
    image_tokens = int(model.config.image_seq_length)
    vision = {
        "projector_file": VISION_FILE,
        "image_size": int(vision_config.image_size),
        "image_tokens": image_tokens,
        "image_token": IMAGE_TOKEN,
        "embed_file": EMBED_FILE,
        "embed_scales_file": EMBED_SCALES_FILE if quant != "fp32" else None,
    }
    report.update(vision=vision, image_tokens=image_tokens, embedding_dim=int(table.shape[1]),
                  files=sorted(p.name for p in bundle.iterdir() if p.is_file()))
    return report


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: `rows [V, D]` int8 and `scales [V]` float32, `table ~= rows * scales[:, None]`."""
    scales = np.abs(table).max(axis=1) / 127.0  # [V]
    scales = np.where(scales == 0, 1.0, scales).astype(np.float32)
    rows = np.clip(np.rint(table / scales[:, None]), -127, 127).astype(np.int8)
    return rows, scales


def _take_embeddings(model) -> np.ndarray:
    """Cut the embedding Gather out of the LM graph: `inputs_embeds` replaces `input_ids`; return the table."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    gathers = [n for n in graph.node if n.op_type == "Gather" and list(n.input)[1:] == ["input_ids"]]
    others = [n for n in graph.node if "input_ids" in n.input and n not in gathers]
    if len(gathers) != 1 or others:
        raise BackendError("the exported LM does not read input_ids through one embedding Gather")
    gather = gathers[0]
    initializers = {t.name: t for t in graph.initializer}
    if gather.input[0] not in initializers:
        raise BackendError("the exported LM's embedding table is not an initializer")
    table = numpy_helper.to_array(initializers[gather.input[0]]).astype(np.float32)  # [V, D]
    embedded = gather.output[0]
    graph.node.remove(gather)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == embedded:
                node.input[i] = EMBEDS_INPUT
    ids = next(i for i in graph.input if i.name == "input_ids")
    dims = [d.dim_param or d.dim_value for d in ids.type.tensor_type.shape.dim]  # [batch_size, sequence_length]
    position = list(graph.input).index(ids)
    graph.input.remove(ids)
    graph.input.insert(position, helper.make_tensor_value_info(EMBEDS_INPUT, TensorProto.FLOAT,
                                                               [*dims, int(table.shape[1])]))
    for info in [v for v in graph.value_info if v.name == embedded]:
        graph.value_info.remove(info)
    used = {name for node in graph.node for name in node.input}
    for tensor in [t for t in graph.initializer if t.name not in used]:  # the table, unless the head shares it
        graph.initializer.remove(tensor)
    return table


def _keep_last_logits(model) -> None:
    """Slice the hidden states before the LM head to the last `num_logits_to_keep` positions."""
    from onnx import TensorProto, helper

    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}
    head = producers.get("logits")
    if head is None or head.op_type != "MatMul":
        raise BackendError("the exported LM's logits do not come from one MatMul (the LM head)")
    nodes = list(graph.node)
    at = nodes.index(head)
    hidden, sliced = head.input[0], "/lm_head/kept_hidden"
    graph.input.append(helper.make_tensor_value_info(LOGITS_TO_KEEP_INPUT, TensorProto.INT64, [1]))
    graph.initializer.extend([
        helper.make_tensor("/lm_head/slice_end", TensorProto.INT64, [1], [np.iinfo(np.int64).max]),
        helper.make_tensor("/lm_head/slice_axis", TensorProto.INT64, [1], [1]),
    ])
    added = [
        helper.make_node("Neg", [LOGITS_TO_KEEP_INPUT], ["/lm_head/slice_start"], name="/lm_head/KeepNeg"),
        helper.make_node("Slice", [hidden, "/lm_head/slice_start", "/lm_head/slice_end", "/lm_head/slice_axis"],
                         [sliced], name="/lm_head/KeepSlice"),
    ]
    head.input[0] = sliced
    del graph.node[:]
    graph.node.extend(nodes[:at] + added + nodes[at:])


def _quantize_lm(model, quant: str, staging: Path, report: dict):
    import onnx

    if quant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # as export/onnx.py: the MLP down-projections stay in float (activation outliers)
        keep_float = [n.name for n in model.graph.node
                      if n.op_type == "MatMul" and any(p in n.name for p in FLOAT_MATMULS)]
        _save(model, staging / "lm-float.onnx")
        quantize_dynamic(str(staging / "lm-float.onnx"), str(staging / "lm-int8.onnx"), weight_type=QuantType.QInt8,
                         per_channel=True, nodes_to_exclude=keep_float)
        report["kept_in_float"] = len(keep_float)
        return onnx.load(str(staging / "lm-int8.onnx"))
    head = [n.name for n in model.graph.node if n.name == HEAD_MATMUL and n.op_type == "MatMul"]
    model = _matmul_nbits(model, 4, exclude=head)
    if head:
        model = _matmul_nbits(model, HEAD_BITS, include=head)
    report.update(block_size=INT4_BLOCK_SIZE, accuracy_level=INT4_ACCURACY_LEVEL, head_bits=HEAD_BITS if head else None)
    return model


def _save(model, path: Path) -> None:
    import onnx

    large = model.ByteSize() > 1_800_000_000  # protobuf's 2 GB limit: keep weights beside the graph
    onnx.save_model(model, str(path), save_as_external_data=large, location=f"{path.name}.data" if large else None)


def _export_vision(model, path: Path) -> None:
    """The tower to `vision_feature_layer` and the projector as one graph, `[N, 3, S, S] -> [N, image_tokens, D]`."""
    import torch

    class Vision(torch.nn.Module):
        def __init__(self, llava) -> None:
            super().__init__()
            self.tower, self.projector = llava.model.vision_tower, llava.model.multi_modal_projector
            self.layer = llava.config.vision_feature_layer

        def forward(self, pixel_values):
            # as get_image_features, which returns a list per image (a traced list would fix N)
            hidden = self.tower(pixel_values, output_hidden_states=True).hidden_states
            layers = [self.layer] if isinstance(self.layer, int) else self.layer
            return self.projector(torch.cat([hidden[i] for i in layers], dim=-1))  # [N, P, D]

    size = model.config.vision_config.image_size
    example = torch.zeros(1, 3, size, size)
    try:
        with torch.no_grad():
            torch.onnx.export(Vision(model).eval(), (example,), str(path), input_names=[PIXELS_INPUT],
                              output_names=[IMAGE_EMBEDS_OUTPUT], opset_version=VISION_OPSET, dynamo=False,
                              dynamic_axes={PIXELS_INPUT: {0: "num_images"}, IMAGE_EMBEDS_OUTPUT: {0: "num_images"}})
    except Exception as e:  # torch.onnx raises many kinds
        raise BackendError(f"torch.onnx could not export the vision tower: {e}") from None


def write_vision(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> tuple[dict, dict]:
    """`export()`'s entry for an InfiR-VL source: the whole ONNX bundle; (the report, the manifest's vision entry)."""
    report = write_vl(source.vl_model, source.tokenizer, bundle, quant, n_ctx, awq=awq)
    return report, report["vision"]
