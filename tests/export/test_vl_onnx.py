"""InfiR-VL to ONNX: the tiny random-init VL checkpoint exported in fp32 runs on onnxruntime with images, as torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infir_edge.export.onnx_vl import EMBED_FILE, VISION_FILE, quantize_rows
from infir_edge.runtime.chat import split_images
from infir_edge.runtime.onnxrt_vl import OnnxRuntimeVLEngine
from infir_edge.runtime.pytorch_vl import TorchVLEngine

N_CTX = 256


def _image(seed: int, size=(90, 120)):
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _messages(*images, text="What is on the screen?"):
    parts = [{"type": "image", "image": i} for i in images]
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def vl_bundle(tiny_vl_checkpoint, tmp_path_factory):
    """The fp32 export through `export()`: the bundle, verified against the checkpoint, and its report."""
    from infir_edge.export import export

    bundle = export(tiny_vl_checkpoint, format="onnx", quant="fp32", out=tmp_path_factory.mktemp("vl-onnx") / "fp32",
                    max_context=N_CTX, threads=1)
    return bundle, json.loads((bundle / "manifest.json").read_text())["export_report"]


def test_export_verifies_the_image_path_and_load_takes_images(vl_bundle):
    import infir_edge

    manifest = json.loads((vl_bundle[0] / "manifest.json").read_text())
    assert manifest["verification"]["passed"] and manifest["verification"]["vision"]["min_cosine"] > 0.9999
    with infir_edge.load(vl_bundle[0], threads=1) as engine:
        assert engine.supports_images and engine.backend_name == "onnxruntime"
        assert engine.generate(_messages(_image(9)), max_new_tokens=3).timings.generated_tokens == 3


@pytest.fixture(scope="module")
def engines(tiny_vl_checkpoint, vl_bundle):
    with TorchVLEngine(tiny_vl_checkpoint, n_ctx=N_CTX, threads=1) as torch_engine, \
            OnnxRuntimeVLEngine(vl_bundle[0] / "model.onnx", threads=1) as onnx_engine:
        yield torch_engine, onnx_engine


def test_the_bundle_holds_the_three_graphs_and_the_tokenizer(vl_bundle):
    import onnx

    bundle, report = vl_bundle
    assert {"model.onnx", "genai_config.json", VISION_FILE, EMBED_FILE, "tokenizer.json", "config.json"} <= set(
        report["files"])
    assert report["vision"] == {"projector_file": VISION_FILE, "image_size": 64, "image_tokens": 16,
                                "image_token": "<image>", "embed_file": EMBED_FILE, "embed_scales_file": None}
    inputs = {i.name for i in onnx.load(str(bundle / "model.onnx"), load_external_data=False).graph.input}
    assert {"inputs_embeds", "attention_mask"} <= inputs  # the builder's LM (exclude_embeds)
    assert "input_ids" not in inputs and "past_key_values.0.key" in inputs
    assert np.load(bundle / EMBED_FILE).shape == (49153, report["embedding_dim"]) == (49153, 64)


def test_image_embeddings_match_torch(engines):
    torch_engine, onnx_engine = engines
    image = _image(0)
    expected, got = torch_engine.image_embeddings(image), onnx_engine.image_embeddings(image)
    assert got.shape == expected.shape == (16, 64)
    error = float(np.abs(got - expected).max())
    print(f"image embeddings max abs error {error:.3g}")
    assert error < 1e-4


def test_image_prompt_logits_and_greedy_tokens_match_torch(engines):
    torch_engine, onnx_engine = engines
    images = [_image(1), _image(2, (200, 100))]
    flat, _ = split_images(_messages(*images))
    prompt = torch_engine.apply_chat_template(flat)
    expected = torch_engine._prefill_images(prompt, images)
    got = onnx_engine._prefill_images(prompt, images)
    error = float(np.abs(got - expected).max())
    print(f"image prompt logits max abs error {error:.3g}")
    assert error < 1e-4
    # the image positions matter: another image changes the logits far more than the export error
    other = onnx_engine._prefill_images(prompt, [_image(3), images[1]])
    assert float(np.abs(other - got).max()) > 100 * max(error, 1e-7)

    options = {"max_new_tokens": 8, "temperature": 0, "ignore_eos": True}
    reference = torch_engine.generate(_messages(images[0]), **options)
    generation = onnx_engine.generate(_messages(images[0]), **options)
    assert generation.token_ids == reference.token_ids and len(generation.token_ids) == 8
    assert generation.timings.prompt_tokens == reference.timings.prompt_tokens


def test_text_only_prompts_run_as_before(engines):
    torch_engine, onnx_engine = engines
    options = {"max_new_tokens": 8, "temperature": 0, "ignore_eos": True}
    expected = torch_engine.generate("Hello there", **options).token_ids
    assert onnx_engine.generate("Hello there", **options).token_ids == expected
    ids = torch_engine.tokenize("The quick brown fox jumps")
    error = np.abs(onnx_engine.teacher_forced_logits(ids) - torch_engine.teacher_forced_logits(ids)).max()
    assert error < 1e-4


def test_the_engine_loads_from_the_bundle_directory(vl_bundle):
    with OnnxRuntimeVLEngine(vl_bundle[0], threads=1) as engine:
        assert engine.supports_images and engine.image_tokens == 16
        info = engine.info()
        assert info.format == "onnx" and info.architecture == "llava" and info.n_ctx == N_CTX


def test_int8_embedding_rows_round_trip():
    table = np.random.default_rng(0).normal(size=(50, 64)).astype(np.float32)
    table[3] = 0
    rows, scales = quantize_rows(table)
    assert rows.dtype == np.int8 and scales.shape == (50,)
    assert np.abs(rows * scales[:, None] - table).max() <= scales.max() / 2 + 1e-7
