"""ONNX export (onnxruntime-genai's model builder) of every model family: exact at fp32, the same greedy tokens as
torch, quantized, and RoPE scaling that must reach the builder's rotary caches."""

from __future__ import annotations

import json

import pytest
from tiny_models import LINEAR_SCALING, LLAMA3_SCALING, manifest_of, write_tiny_family_checkpoint

import infir_edge
from infir_edge.errors import VerificationError
from infir_edge.export import export
from infir_edge.export import onnx as onnx_export

FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma")
# every run exports the families the builder is handed most differently (Phi-3's RoPE switches, Gemma's norms and
# embedding scale); `make test-slow` all of them
DEFAULT_RUN_FAMILIES = ("phi3", "gemma")
BY_FAMILY = [pytest.param(f, marks=() if f in DEFAULT_RUN_FAMILIES else pytest.mark.slow) for f in FAMILIES]


@pytest.mark.parametrize("family", BY_FAMILY)
def test_fp32_export_matches_the_reference(full_precision_bundle, family):
    verification = manifest_of(full_precision_bundle(family, "onnx"))["verification"]
    assert verification["top1_agreement"] >= 0.99
    assert verification["passed"] and not verification["forced"]


@pytest.mark.parametrize("family", BY_FAMILY)
def test_bundle_generates_as_torch_does(full_precision_bundle, tiny_family_checkpoint, family):
    prompt, options = "The capital of France is", {"max_new_tokens": 8, "ignore_eos": True}
    with infir_edge.load(full_precision_bundle(family, "onnx")) as engine:
        assert engine.info().backend == "onnxruntime"
        ours = engine.generate(prompt, **options).token_ids
    with infir_edge.load(tiny_family_checkpoint(family), backend="torch") as reference:
        expected = reference.generate(prompt, **options).token_ids
    assert ours == expected and len(ours) == 8


@pytest.mark.slow
def test_int4_export_of_a_non_llama_family_runs(tiny_family_checkpoint, tmp_path):
    bundle = export(tiny_family_checkpoint("qwen3"), format="onnx", quant="int4", out=tmp_path / "b", max_context=256,
                    force=True)
    assert manifest_of(bundle)["export_report"]["op_types"]["MatMulNBits"] > 0
    with infir_edge.load(bundle) as engine:
        assert len(engine.generate("Hello", max_new_tokens=4, ignore_eos=True).token_ids) == 4


@pytest.fixture(scope="module")
def scaled_checkpoint(tmp_path_factory, default_checkpoint):
    """rope type -> a tiny llama whose attention is sharp enough that positions matter (at q/k x6 a dropped
    scaling still agrees on 0.99 of the tokens), trained context 64."""
    scalings = {"llama3": LLAMA3_SCALING, "linear": LINEAR_SCALING}
    return {rope: write_tiny_family_checkpoint(tmp_path_factory.mktemp("rope") / rope, default_checkpoint, "llama",
                                               rope_scaling=scaling, sharpen=16.0)
            for rope, scaling in scalings.items()}


@pytest.mark.parametrize("rope", ["llama3", pytest.param("linear", marks=pytest.mark.slow)])
def test_rope_scaled_export_matches_the_reference(scaled_checkpoint, tmp_path, rope):
    bundle = export(scaled_checkpoint[rope], format="onnx", quant="fp32", out=tmp_path / "b", max_context=256)
    assert manifest_of(bundle)["verification"]["top1_agreement"] >= 0.99


@pytest.mark.slow  # the GGUF and ExecuTorch twins of this check run in every run / under test-slow
def test_llama3_export_without_its_original_context_fails_verification(scaled_checkpoint, tmp_path, monkeypatch):
    staged = onnx_export.stage_checkpoint

    def without_original_context(model, tokenizer, folder, n_ctx):
        path = staged(model, tokenizer, folder, n_ctx) / "config.json"
        config = json.loads(path.read_text())
        del config["original_max_position_embeddings"]  # the builder then takes the bundle's context for it
        path.write_text(json.dumps(config))
        return folder

    monkeypatch.setattr(onnx_export, "stage_checkpoint", without_original_context)
    with pytest.raises(VerificationError):
        export(scaled_checkpoint["llama3"], format="onnx", quant="fp32", out=tmp_path / "b", max_context=256)
