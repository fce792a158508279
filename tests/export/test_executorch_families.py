"""ExecuTorch export of every family export_llm has a model class for (tiny random-init checkpoints, fp32 unless
said): each passes its verification unforced and generates the greedy tokens transformers does; Gemma is refused
before any work; Llama 3 RoPE scaling survives the export, and dropping it is caught."""

from __future__ import annotations

import json

import pytest
from tiny_models import LINEAR_SCALING, LLAMA3_SCALING, write_tiny_family_checkpoint

import infir_edge
from infir_edge.cli import main
from infir_edge.errors import ModelFormatError, VerificationError
from infir_edge.export import executorch as executorch_export
from infir_edge.export import export
from infir_edge.models.families import FAMILIES

EXECUTORCH_FAMILIES = [f.name for f in FAMILIES if f.executorch_class]
PROMPT = "The keeper of the light"


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


# an ExecuTorch export takes a minute or two here: the default run exports Phi-3 (the most rewritten: its fused
# projections are split), `make test-slow` every family; the Llama path is also tests/export/test_executorch_export.py
DEFAULT_RUN_FAMILIES = ("phi3",)


@pytest.fixture(scope="module", params=[
    pytest.param(f, marks=() if f in DEFAULT_RUN_FAMILIES else pytest.mark.slow) for f in EXECUTORCH_FAMILIES])
def family_export(request, tiny_family_checkpoint, tmp_path_factory):
    """(family, checkpoint, its fp32 .pte bundle), exported without force: a failed verification fails here."""
    checkpoint = tiny_family_checkpoint(request.param)
    bundle = export(checkpoint, format="executorch", quant="fp32", out=tmp_path_factory.mktemp("pte") / request.param,
                    max_context=256)
    return request.param, checkpoint, bundle


@pytest.fixture(scope="module")
def llama3_checkpoint(tmp_path_factory, default_checkpoint):
    # a short original context, so the scaling changes frequencies the verification prompts reach, and attention
    # sharp enough that they matter: transformers with the scaling dropped agrees with itself on 0.99 of the
    # verification tokens at sharpen 6, on 0.62 at 12
    return write_tiny_family_checkpoint(tmp_path_factory.mktemp("rope") / "llama3", default_checkpoint, "llama",
                                        rope_scaling=LLAMA3_SCALING, sharpen=12.0)


def test_every_family_with_a_model_class_is_tested():
    assert EXECUTORCH_FAMILIES == ["llama", "mistral", "qwen2", "qwen3", "phi3"]


def test_fp32_export_agrees_with_transformers(family_export):
    family, _, bundle = family_export
    manifest = _manifest(bundle)
    assert manifest["export_settings"]["family"] == family
    assert manifest["verification"]["top1_agreement"] >= 0.99 and not manifest["verification"]["forced"]


def test_greedy_tokens_match_the_torch_backend(family_export):
    _, checkpoint, bundle = family_export
    config = infir_edge.GenerationConfig(max_new_tokens=8, ignore_eos=True)
    with infir_edge.load(bundle) as pte, infir_edge.load(checkpoint, backend="torch") as reference:
        tokens = pte.generate(PROMPT, config).token_ids
        assert len(tokens) == 8 and tokens == reference.generate(PROMPT, config).token_ids


def test_engine_reports_the_family(family_export):
    family, _, bundle = family_export
    with infir_edge.load(bundle) as engine:
        assert engine.info().architecture == family


@pytest.mark.slow
def test_8da4w_quantizes_every_unfused_linear(tiny_family_checkpoint, tmp_path):
    # Phi-3's fused qkv_proj and gate_up_proj become q/k/v and gate/up: 7 Linears a layer, 2 layers, and the head
    bundle = export(tiny_family_checkpoint("phi3"), format="executorch", quant="8da4w", out=tmp_path / "q",
                    max_context=256, force=True)
    report = _manifest(bundle)["export_report"]
    assert report["quantized_linears"] == 2 * 7 + 1 and report["output_head"] == "8da8w"


def test_gemma_is_refused(tiny_family_checkpoint, tmp_path):
    with pytest.raises(ModelFormatError, match=r"gemma.*executorch"):
        export(tiny_family_checkpoint("gemma"), format="executorch", quant="fp32", out=tmp_path / "g")
    assert not (tmp_path / "g").exists()


def test_cli_refuses_gemma_with_exit_2(tiny_family_checkpoint, tmp_path):
    argv = ["export", str(tiny_family_checkpoint("gemma")), "--format", "executorch", "--quant", "fp32",
            "--out", str(tmp_path / "g")]
    assert main(argv) == 2


@pytest.mark.parametrize("scaling", [LLAMA3_SCALING, LINEAR_SCALING], ids=["llama3", "linear"])
def test_rope_tables_match_transformers(scaling):
    import torch
    from executorch.examples.models.llama.model_args import ModelArgs
    from executorch.examples.models.llama.rope import Rope
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = LlamaConfig(hidden_size=64, num_attention_heads=4, rope_scaling=scaling, max_position_embeddings=512)
    rope = Rope(ModelArgs(dim=64, n_heads=4, max_seq_len=256, max_context_len=256,
                          **executorch_export.rope_params(config)))
    cos, sin = LlamaRotaryEmbedding(config)(torch.zeros(1), torch.arange(256)[None])  # [1, T, head_dim]
    assert torch.allclose(rope.freqs_cos, cos[0], atol=1e-5) and torch.allclose(rope.freqs_sin, sin[0], atol=1e-5)


@pytest.mark.slow  # the RoPE tables themselves are compared with transformers' above, in every run
def test_llama3_rope_scaling_survives_the_export(llama3_checkpoint, tmp_path):
    bundle = export(llama3_checkpoint, format="executorch", quant="fp32", out=tmp_path / "b", max_context=256)
    assert _manifest(bundle)["verification"]["top1_agreement"] >= 0.99


@pytest.mark.slow
def test_dropped_rope_scaling_fails_verification(llama3_checkpoint, tmp_path, monkeypatch):
    rope_params = executorch_export.rope_params

    def without_scaling(config):  # the per-dimension frequency factors left out
        return {k: v for k, v in rope_params(config).items() if not k.startswith("rope_scaling_")}

    monkeypatch.setattr(executorch_export, "rope_params", without_scaling)
    with pytest.raises(VerificationError):
        export(llama3_checkpoint, format="executorch", quant="fp32", out=tmp_path / "b", max_context=256)
