"""InfiR-VL (`LlavaForConditionalGeneration`) -> three files onnxruntime runs: the vision tower, the token
embedding table and the LM over embeddings.

`vision.onnx` maps normalized pixels `[N, 3, S, S]` to the projected image embeddings `[N, image_tokens, D]`:
the SigLIP tower up to `vision_feature_layer` (every patch: the "full" strategy) and the 2-layer projector,
the function `get_image_features` computes (layers past the feature layer are not in the graph).

The LM is exported by `export/onnx.py`'s path (AWQ, the checkpoint staged for onnxruntime-genai's model builder,
its quantization) with the builder's `exclude_embeds` option: the graph takes `inputs_embeds` `[B, T, D]` in place
of `input_ids`, so an image's embeddings can take the place of its `<image>` positions, and `attention_mask` and
`past_key_values.{i}.key|value`; it returns `logits` and `present.{i}.key|value` (genai_config.json names them).
The table goes beside it as `embed_tokens.npy` (`[V, D]` float32; int8 rows plus `embed_scales.npy` in a
quantized bundle).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np

from infir_edge.errors import BackendError, InvalidRequestError
from infir_edge.export import onnx as onnx_export
from infir_edge.export.source import split_vl_model

RECIPE = 2  # 2: the LM from onnxruntime-genai's model builder
BUNDLE_FORMAT = "onnx"  # MODEL_FILE (the LM graph) is export/onnx.py's "model.onnx"
QUANTS = onnx_export.QUANTS  # the LM's weights; the tower and projector stay fp32
VISION_FILE = "vision.onnx"
WRITES_LANGUAGE_MODEL = True  # the LM graph takes inputs_embeds, so image embeddings can be spliced in
EMBED_FILE = "embed_tokens.npy"
EMBED_SCALES_FILE = "embed_scales.npy"  # int8 embedding rows' scales, only in a quantized bundle
VISION_OPSET = 17  # LayerNormalization as one op
PIXELS_INPUT = "pixel_values"
IMAGE_EMBEDS_OUTPUT = "image_embeds"


def write_vl(model, tokenizer, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> dict:
    """Export the LLaVA `model` (fp32) and its `tokenizer` (with `<image>`) into the directory `bundle`:
    `model.onnx` (the LM over `inputs_embeds`) with its genai_config.json, `vision.onnx`, `embed_tokens.npy`
    (+ `embed_scales.npy` when quantized), `config.json` (the LM's) and the tokenizer files.

    Returns the report: `files` (what was written), `vision` (what a manifest's `vision` holds: projector_file,
    image_size, image_tokens, image_token, plus embed_file and embed_scales_file), `image_tokens` and the LM's
    quantization details as `export/onnx.py` reports them."""
    import torch

    from infir_edge.models.vl import IMAGE_TOKEN

    if quant not in QUANTS:
        raise InvalidRequestError(f"the ONNX VL export quantizes to one of {', '.join(QUANTS)}, got {quant!r}")
    if model.config.vision_feature_select_strategy != "full":
        raise InvalidRequestError("the ONNX VL export takes every patch (vision_feature_select_strategy 'full')")
    if next(model.parameters()).dtype != torch.float32:
        model = copy.deepcopy(model).float()
    model.eval()
    bundle = Path(bundle)

    lm = split_vl_model(model)  # the LM alone, as a causal LM of its family (what the builder reads)
    table = lm.get_input_embeddings().weight.detach().float().numpy().copy()  # [V, D]
    lm, report = onnx_export.awq_model(lm, tokenizer, quant) if awq else (lm, {})
    with tempfile.TemporaryDirectory(dir=bundle.parent, prefix=".onnx-vl-staging-") as staging:
        staging = Path(staging)
        checkpoint = onnx_export.stage_checkpoint(lm, tokenizer, staging / "checkpoint", n_ctx)
        report.update(onnx_export.build(checkpoint, bundle, quant, staging, {"exclude_embeds": "true"}))
        _export_vision(model, staging / VISION_FILE)
        _save(staging / VISION_FILE, bundle / VISION_FILE)
    if quant == "fp32":
        np.save(bundle / EMBED_FILE, table)
    else:
        rows, scales = quantize_rows(table)
        np.save(bundle / EMBED_FILE, rows)
        np.save(bundle / EMBED_SCALES_FILE, scales)

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


def _save(source: Path, path: Path) -> None:
    import onnx

    model = onnx.load(str(source))
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
