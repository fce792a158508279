"""GGUF export of a tiny random-init checkpoint: every quantization, verified against torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

import infir_edge
from infir_edge.errors import InvalidRequestError, ModelFormatError, VerificationError
from infir_edge.export import export
from infir_edge.export.gguf import rope_to_interleaved
from infir_edge.export.source import strip_generation_markers


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    """quant -> bundle directory; 4-bit bundles forced (a random tiny model has near-tied logits)."""
    root = tmp_path_factory.mktemp("bundles")
    bundles = {}
    for quant in ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q6_k"):
        bundles[quant] = export(tiny_checkpoint, format="gguf", quant=quant, out=root / quant,
                                max_context=256, force=quant in ("q4_0", "q4_1", "q6_k"))
    return bundles


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


@pytest.mark.parametrize("quant,floor", [("f32", 0.999), ("f16", 0.98), ("bf16", 0.9), ("q8_0", 0.9)])
def test_lossless_and_8bit_exports_match_the_reference(exported, quant, floor):
    verification = _manifest(exported[quant])["verification"]
    assert verification["top1_agreement"] >= floor
    assert verification["tokenizer_agreement"] == 1.0
    assert verification["passed"] and not verification["forced"]


def test_f32_export_is_exact(exported):
    assert _manifest(exported["f32"])["verification"]["mean_kl"] < 1e-4


def test_manifest_records_source_files_and_settings(exported, tiny_checkpoint):
    manifest = _manifest(exported["q8_0"])
    assert manifest["format"] == "gguf" and manifest["quantization"] == "q8_0"
    assert len(manifest["source"]["sha256"]) == 64 and manifest["source"]["path"] == str(tiny_checkpoint)
    assert manifest["files"]["model.gguf"]["bytes"] == (exported["q8_0"] / "model.gguf").stat().st_size
    assert manifest["context_length"] == 256 and manifest["sdk_version"] == infir_edge.__version__


def test_quantized_tensor_types_are_reported(exported):
    report = _manifest(exported["q4_0"])["export_report"]
    assert report["tensor_types"]["Q4_0"] > 0
    assert report["tensor_types"]["F32"] > 0  # the norms


def test_k_quant_fallbacks_are_reported(exported):
    # the tiny model's rows (64, 128) are not multiples of 256: llama.cpp picks other types
    assert _manifest(exported["q6_k"])["export_report"]["fallbacks"]


def test_bundle_loads_through_the_sdk(exported):
    with infir_edge.load(exported["q8_0"]) as engine:
        info = engine.info()
        assert (info.backend, info.quantization, info.n_ctx_train) == ("llamacpp", "Q8_0", 256)
        assert len(engine.generate("Hello", max_new_tokens=4).token_ids) == 4


def test_bundle_loads_in_plain_llama_cpp(exported):
    import llama_cpp

    llm = llama_cpp.Llama(str(exported["q8_0"] / "model.gguf"), n_ctx=64, verbose=False)
    try:
        assert llm.create_completion("Hello", max_tokens=3, temperature=0)["choices"][0]["text"] is not None
    finally:
        llm.close()


def test_truncated_bundle_is_refused(exported, tmp_path):
    import shutil

    copy = shutil.copytree(exported["q8_0"], tmp_path / "copy")
    data = (copy / "model.gguf").read_bytes()
    (copy / "model.gguf").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="manifest says"):
        infir_edge.load(copy)


def test_manifest_that_is_not_json_is_refused(exported, tmp_path):
    import shutil

    copy = shutil.copytree(exported["q8_0"], tmp_path / "copy")
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="manifest"):
        infir_edge.load(copy)


def test_existing_bundle_needs_overwrite(exported, tiny_checkpoint):
    with pytest.raises(InvalidRequestError, match="overwrite"):
        export(tiny_checkpoint, format="gguf", quant="q8_0", out=exported["q8_0"])


def test_below_the_floor_fails_and_leaves_nothing(tiny_checkpoint, tmp_path, monkeypatch):
    import infir_edge.export.parity as parity

    monkeypatch.setitem(parity.FLOORS, "q8_0", 1.01)  # a floor no export can reach
    with pytest.raises(VerificationError, match="floor"):
        export(tiny_checkpoint, format="gguf", quant="q8_0", out=tmp_path / "b", max_context=256)
    assert not (tmp_path / "b").exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_quant_is_refused(tiny_checkpoint, tmp_path):
    with pytest.raises(InvalidRequestError, match="q4_0"):
        export(tiny_checkpoint, format="gguf", quant="int3", out=tmp_path / "b")


def test_rope_permutation_interleaves_the_halves():
    # one head of dim 4: HF rows [r0, r1 | r2, r3] (halves) -> llama.cpp [r0, r2, r1, r3] (pairs)
    weight = np.arange(4, dtype=np.float32)[:, None] * np.ones((4, 2), dtype=np.float32)
    assert rope_to_interleaved(weight, n_heads=1)[:, 0].tolist() == [0, 2, 1, 3]


def test_generation_markers_are_stripped():
    template = "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}"
    assert strip_generation_markers(template) == "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def test_awq_can_be_skipped(tiny_checkpoint, tmp_path):
    bundle = export(tiny_checkpoint, format="gguf", quant="q4_0", out=tmp_path / "b", max_context=256, force=True,
                    awq=False)
    manifest = _manifest(bundle)
    assert "equalization" not in manifest["export_report"] and manifest["export_settings"]["awq"] is False


def test_verification_prefills_every_prompt_from_an_empty_cache(tiny_checkpoint, tmp_path, monkeypatch):
    # the greedy prompt is a prefix of the teacher-forced one: a reused cache would round differently
    import infir_edge.runtime.loader as loader
    from infir_edge.export import verify

    options, real_load = [], loader.load
    monkeypatch.setattr(loader, "load", lambda *args, **kwargs: options.append(kwargs) or real_load(*args, **kwargs))
    bundle = export(tiny_checkpoint, format="gguf", quant="f32", out=tmp_path / "b", max_context=256)
    assert verify(bundle)["greedy_match_tokens"] == _manifest(bundle)["verification"]["greedy_match_tokens"]
    assert [o.get("prefix_cache") for o in options] == [False, False]
