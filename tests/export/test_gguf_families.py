"""GGUF export of every model family: exact at f32, the same greedy tokens as torch, quantized, and RoPE scaling
that must reach llama.cpp (each RoPE test has a twin proving the check fails without it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tiny_models import LINEAR_SCALING, LLAMA3_SCALING, manifest_of, write_tiny_family_checkpoint

import infir_edge
from infir_edge.errors import ModelFormatError, VerificationError
from infir_edge.export import export
from infir_edge.export import gguf as gguf_export

FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma")


@pytest.mark.parametrize("family", FAMILIES)
def test_f32_export_matches_the_reference(full_precision_bundle, family):
    verification = manifest_of(full_precision_bundle(family, "gguf"))["verification"]
    assert verification["top1_agreement"] >= 0.99
    assert verification["passed"] and not verification["forced"]


@pytest.mark.parametrize("family", FAMILIES)
def test_bundle_generates_as_torch_does(full_precision_bundle, tiny_family_checkpoint, family):
    prompt = "The capital of France is"
    with infir_edge.load(full_precision_bundle(family, "gguf")) as engine:
        assert engine.info().backend == "llamacpp"
        ours = engine.generate(prompt, max_new_tokens=6).token_ids
    with infir_edge.load(tiny_family_checkpoint(family), backend="torch") as reference:
        expected = reference.generate(prompt, max_new_tokens=6).token_ids
    assert ours[:4] == expected[:4]


def test_q8_0_export_of_a_non_llama_family_passes(tiny_family_checkpoint, tmp_path):
    bundle = export(tiny_family_checkpoint("qwen3"), format="gguf", quant="q8_0", out=tmp_path / "b", max_context=256)
    manifest = manifest_of(bundle)
    assert manifest["verification"]["passed"] and manifest["export_report"]["tensor_types"]["Q8_0"] > 0


@pytest.mark.parametrize("family", ["phi3", "gemma"])
def test_awq_q4_0_runs_on_fused_and_offset_families(tiny_family_checkpoint, tmp_path, family):
    bundle = export(tiny_family_checkpoint(family), format="gguf", quant="q4_0", out=tmp_path / "b",
                    max_context=256, force=True)
    manifest = manifest_of(bundle)
    assert manifest["export_report"]["equalization"]
    assert manifest["export_report"]["tensor_types"]["Q4_0"] > 0


@pytest.fixture(scope="module")
def scaled_checkpoint(tmp_path_factory, default_checkpoint):
    """rope type -> a tiny llama whose attention is sharp enough that positions matter, trained context 64.
    (At sharpen 6 a GGUF without its scaling still kept top-1 0.99 (llama3) / 0.97 (linear), above the f32 floor;
    at 16 it drops to 0.36 / 0.30 while the right export keeps >= 0.997.)"""
    scalings = {"llama3": LLAMA3_SCALING, "linear": LINEAR_SCALING}
    return {rope: write_tiny_family_checkpoint(tmp_path_factory.mktemp("rope") / rope, default_checkpoint, "llama",
                                               rope_scaling=scaling, sharpen=16.0)
            for rope, scaling in scalings.items()}


@pytest.mark.parametrize("rope", ["llama3", "linear"])
def test_rope_scaled_export_matches_the_reference(scaled_checkpoint, tmp_path, rope):
    bundle = export(scaled_checkpoint[rope], format="gguf", quant="f32", out=tmp_path / "b", max_context=256)
    assert manifest_of(bundle)["verification"]["top1_agreement"] >= 0.99


def test_llama3_export_without_rope_freqs_fails_verification(scaled_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(gguf_export, "rope_freqs", lambda config: None)
    with pytest.raises(VerificationError):
        export(scaled_checkpoint["llama3"], format="gguf", quant="f32", out=tmp_path / "b", max_context=256)


def test_linear_export_without_scaling_keys_fails_verification(scaled_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(gguf_export, "add_rope_scaling", lambda writer, config: None)
    with pytest.raises(VerificationError):
        export(scaled_checkpoint["linear"], format="gguf", quant="f32", out=tmp_path / "b", max_context=256)


def test_llama3_rope_factors_span_one_to_the_factor():
    from transformers import LlamaConfig

    config = LlamaConfig(hidden_size=64, num_attention_heads=4, rope_scaling=LLAMA3_SCALING)
    factors = gguf_export.rope_freqs(config)
    assert factors.shape == (8,)  # head_dim / 2
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(32.0)


def test_sentencepiece_tokenizer_is_refused_for_gguf():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GemmaConfig, PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(vocab={"<unk>": 0, "▁a": 1}, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    source = SimpleNamespace(family=SimpleNamespace(name="gemma", gguf_arch="GEMMA"),
                             model=SimpleNamespace(config=GemmaConfig()),
                             tokenizer=PreTrainedTokenizerFast(tokenizer_object=backend))
    with pytest.raises(ModelFormatError, match="gemma.*GGUF"):
        gguf_export.check_writable(source)


def test_a_tensor_gguf_py_cannot_name_is_refused(tiny_family_checkpoint):
    import torch
    from transformers import AutoModelForCausalLM

    from infir_edge.errors import BackendError

    model = AutoModelForCausalLM.from_pretrained(tiny_family_checkpoint("qwen2"))
    model.model.layers[0].register_buffer("unknown_scale", torch.ones(4))  # persistent: in the state dict
    with pytest.raises(BackendError, match="unknown_scale"):
        gguf_export.gguf_tensors(model)
