"""InfiR-VL -> a GGUF bundle (the LM's model.gguf + the tower's mmproj.gguf) that llama.cpp's libmtmd loads,
verified against the torch model on images."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import infir_edge
from infir_edge.errors import ModelFormatError
from infir_edge.export.mmproj import write_mmproj
from infir_edge.export.parity import synthetic_images
from infir_edge.models.gguf_header import read_gguf_header

THREADS = 1  # llama.cpp's threads spin: on a shared 2-core machine one thread is the fast choice


@pytest.fixture(scope="module")
def vl_bundle(tiny_vl_checkpoint, tmp_path_factory) -> Path:
    """The tiny VL checkpoint exported through the command line (f32: an exact comparison)."""
    out = tmp_path_factory.mktemp("vl") / "bundle"
    command = [str(Path(sys.executable).with_name("infir-edge")), "export", str(tiny_vl_checkpoint), "--format", "gguf",
               "--quant", "f32", "--out", str(out), "--max-context", "256", "--threads", str(THREADS)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    assert "images: embedding cosine" in proc.stdout
    return out


@pytest.fixture(scope="module")
def torch_vl(tiny_vl_checkpoint):
    with infir_edge.load(tiny_vl_checkpoint, n_ctx=256, threads=THREADS) as engine:
        yield engine


@pytest.fixture(scope="module")
def llama_vl(vl_bundle):
    with infir_edge.load(vl_bundle, n_ctx=256, threads=THREADS) as engine:
        yield engine


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_mmproj_has_the_llava_keys_and_tensors(vl_bundle, torch_vl):
    header = read_gguf_header(vl_bundle / "mmproj.gguf")
    meta, config = header.metadata, torch_vl.model.config
    vision = config.vision_config
    assert meta["general.architecture"] == "clip" and meta["clip.projector_type"] == "mlp"
    assert meta["clip.has_vision_encoder"] is True and meta["clip.use_gelu"] is True
    assert (meta["clip.vision.image_size"], meta["clip.vision.patch_size"]) == (64, 16)
    assert meta["clip.vision.embedding_length"] == vision.hidden_size
    assert meta["clip.vision.feed_forward_length"] == vision.intermediate_size
    assert meta["clip.vision.block_count"] == vision.num_hidden_layers
    assert meta["clip.vision.projection_dim"] == config.text_config.hidden_size
    assert meta["clip.vision.image_mean"] == meta["clip.vision.image_std"] == [0.5, 0.5, 0.5]
    assert "clip.vision.feature_layer" not in meta  # llama.cpp's default is LLaVA's second-to-last layer
    names = {t.name for t in header.tensors}
    assert {"v.patch_embd.weight", "v.patch_embd.bias", "v.position_embd.weight", "mm.0.weight", "mm.2.bias",
            "v.blk.1.ffn_down.weight", "v.blk.0.attn_out.bias"} <= names
    assert len(names) == 3 + 16 * vision.num_hidden_layers + 4
    assert not any(n.startswith(("v.post_ln", "v.pre_ln", "v.class_embd")) for n in names)
    assert {t.ggml_type.name for t in header.tensors} == {"F32"}  # beside an f32 LM


def test_manifest_records_the_projector_and_its_parity(vl_bundle):
    manifest = _manifest(vl_bundle)
    assert manifest["vision"] == {"projector_file": "mmproj.gguf", "image_size": 64, "image_tokens": 16,
                                  "image_token": "<image>"}
    assert manifest["files"]["mmproj.gguf"]["bytes"] == (vl_bundle / "mmproj.gguf").stat().st_size
    figures = manifest["verification"]["vision"]
    assert figures["passed"] and figures["images"] == 3
    assert figures["min_cosine"] > 0.999 and figures["max_rel_error"] < 0.01
    assert figures["top1_agreement"] == 1.0 and figures["greedy_match_tokens"] == figures["tokens"]
    assert manifest["verification"]["top1_agreement"] >= 0.999  # the LM, text only


def test_image_embeddings_match_torch(llama_vl, torch_vl):
    assert llama_vl.supports_images and llama_vl.image_tokens == torch_vl.image_tokens == 16
    embeddings = []
    for image in synthetic_images():
        ours, reference = llama_vl.image_embeddings(image), torch_vl.image_embeddings(image)
        assert ours.shape == reference.shape == (16, 64)
        assert _cosines(ours, reference).min() > 0.999
        embeddings.append(ours)
    assert _cosines(embeddings[0], embeddings[1]).mean() < 0.99  # the images do make a difference


def test_generation_from_an_image_matches_torch(llama_vl, torch_vl, tmp_path):
    image = synthetic_images()[1]
    image.save(tmp_path / "screen.png")
    for given in (image, tmp_path / "screen.png"):
        messages = [{"role": "user", "content": [{"type": "image", "image": given},
                                                  {"type": "text", "text": "What does the screen show?"}]}]
        ours = llama_vl.generate(messages, max_new_tokens=8, ignore_eos=True)
        reference = torch_vl.generate(messages, max_new_tokens=8, ignore_eos=True)
        assert ours.token_ids == reference.token_ids and len(ours.token_ids) == 8
        assert ours.timings.prompt_tokens == reference.timings.prompt_tokens
    assert llama_vl.generate("Hello", max_new_tokens=4).text == torch_vl.generate("Hello", max_new_tokens=4).text


def test_a_text_prompt_after_an_image_prompt_reuses_nothing(llama_vl):
    # libmtmd writes the image's positions without input_ids knowing: what it still holds of the text prompt before
    # is stale, and matching it would reuse a cache of image embeddings
    text = "Describe the weather today in one sentence."
    first = llama_vl.generate(text, max_new_tokens=6, ignore_eos=True)
    llama_vl.generate([{"role": "user", "content": [{"type": "image", "image": synthetic_images()[1]},
                                                    {"type": "text", "text": text}]}], max_new_tokens=4)
    again = llama_vl.generate(text, max_new_tokens=6, ignore_eos=True)
    assert llama_vl.last_prefill_reused == 0 and again.token_ids == first.token_ids


def test_f16_projector_keeps_the_embeddings(vl_bundle, torch_vl, tmp_path):
    from infir_edge.runtime.llamacpp import LlamaCppEngine

    path = tmp_path / "mmproj-f16.gguf"
    write_mmproj(torch_vl.model, path, dtype="f16")
    types = {t.name: t.ggml_type.name for t in read_gguf_header(path).tensors}
    assert types["v.blk.0.attn_q.weight"] == types["mm.0.weight"] == types["v.patch_embd.weight"] == "F16"
    assert types["v.blk.0.attn_q.bias"] == types["v.position_embd.weight"] == "F32"
    with LlamaCppEngine(vl_bundle / "model.gguf", n_ctx=256, threads=THREADS, mmproj=path) as engine:
        for image in synthetic_images():
            assert _cosines(engine.image_embeddings(image), torch_vl.image_embeddings(image)).min() > 0.999


def test_the_language_model_split_shares_the_weights(torch_vl):
    import torch

    from infir_edge.export.source import split_vl_model

    lm = split_vl_model(torch_vl.model)
    assert type(lm).__name__ == "LlamaForCausalLM"
    assert lm.get_input_embeddings().weight.data_ptr() == torch_vl.model.get_input_embeddings().weight.data_ptr()
    ids = torch.tensor([[1, 200, 3000, 49152, 7]])
    with torch.inference_mode():
        assert torch.equal(lm(ids).logits, torch_vl.model(input_ids=ids).logits)


def _copy(bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle, tmp_path / "copy"))


def test_damaged_projectors_are_refused(vl_bundle, tmp_path):
    copy = _copy(vl_bundle, tmp_path)
    projector = copy / "mmproj.gguf"
    data = projector.read_bytes()
    # the manifest catches a truncated copy; the file itself is checked when it is loaded beside the model
    projector.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="manifest says"):
        infir_edge.load(copy)
    with pytest.raises(ModelFormatError, match="truncated"):
        infir_edge.load(copy / "model.gguf", n_ctx=256)
    projector.write_bytes(b"NOTGGUF!" + data[8:])
    with pytest.raises(ModelFormatError, match="not a GGUF"):
        infir_edge.load(copy, n_ctx=256)
    shutil.copy(copy / "model.gguf", projector)  # the language model is no projector
    with pytest.raises(ModelFormatError, match="expected 'clip'"):
        infir_edge.load(copy / "model.gguf", n_ctx=256)
    # a header that reads well but whose image size is int32: clip.cpp asserts uint32 and aborts -> the probe
    key = b"clip.vision.image_size"
    at = data.index(key) + len(key)
    assert data[at:at + 4] == (4).to_bytes(4, "little")  # GGUF_TYPE_UINT32
    projector.write_bytes(data[:at] + (5).to_bytes(4, "little") + data[at + 4:])
    with pytest.raises(ModelFormatError, match="crashed|failed"):
        infir_edge.load(copy, n_ctx=256)


def test_a_projector_for_another_model_is_refused(vl_bundle, tmp_path):
    from tiny_models import write_tiny_gguf

    from infir_edge.runtime.llamacpp import LlamaCppEngine

    narrow = write_tiny_gguf(tmp_path / "narrow.gguf", n_embd=32, n_ff=64)
    with pytest.raises(ModelFormatError, match="projects to width 64 but the language model's is 32"):
        LlamaCppEngine(narrow, n_ctx=256, threads=THREADS, mmproj=vl_bundle / "mmproj.gguf")


def test_a_manifest_without_vision_still_loads_as_text(vl_bundle, tmp_path):
    copy = _copy(vl_bundle, tmp_path)
    manifest = _manifest(copy)
    del manifest["vision"]
    del manifest["files"]["mmproj.gguf"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with infir_edge.load(copy, n_ctx=256, threads=THREADS) as engine:
        assert not engine.supports_images
        assert len(engine.generate("Hello", max_new_tokens=3).token_ids) == 3
