"""Which families export takes, to which formats, and what is refused before any work."""

from __future__ import annotations

import json

import pytest
from transformers import GemmaConfig, GPT2Config, LlamaConfig, MistralConfig, Phi3Config, Qwen2Config, Qwen3Config

from infir_edge.errors import ModelFormatError
from infir_edge.models.families import FORMATS, check_exportable, family_of, trained_context


@pytest.mark.parametrize("config,family", [
    (LlamaConfig(), "llama"), (MistralConfig(), "mistral"), (Qwen2Config(), "qwen2"), (Qwen3Config(), "qwen3"),
    (Phi3Config(), "phi3"), (GemmaConfig(), "gemma"),
])
def test_each_config_class_maps_to_its_family(config, family):
    assert family_of(config).name == family


def test_an_unknown_model_type_is_refused_with_the_supported_families():
    with pytest.raises(ModelFormatError, match="gpt2.*llama, mistral, qwen2, qwen3, phi3, gemma"):
        family_of(GPT2Config())


def test_gemma_cannot_go_to_executorch_and_the_message_names_both():
    with pytest.raises(ModelFormatError, match="gemma.*executorch"):
        check_exportable(GemmaConfig(), "executorch")


@pytest.mark.parametrize("fmt", FORMATS)
def test_phi3_goes_to_every_format(fmt):
    assert check_exportable(Phi3Config(), fmt).name == "phi3"


def test_an_unsupported_rope_scaling_is_refused():
    config = LlamaConfig(rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64})
    with pytest.raises(ModelFormatError, match="yarn"):
        check_exportable(config, "gguf")


def test_llama3_rope_scaling_is_taken():
    config = LlamaConfig(rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
    assert check_exportable(config, "executorch").name == "llama"


def test_a_sliding_window_bounds_the_trained_context():
    assert trained_context(MistralConfig(max_position_embeddings=32768, sliding_window=4096)) == 4096
    assert trained_context(MistralConfig(max_position_embeddings=32768, sliding_window=None)) == 32768


def test_an_unused_sliding_window_does_not_bound_it():
    config = Qwen2Config(max_position_embeddings=32768, sliding_window=4096, use_sliding_window=False)
    assert trained_context(config) == 32768


def test_export_refuses_an_unknown_family_before_loading_weights(tmp_path):
    from infir_edge.export import export

    checkpoint = tmp_path / "gpt2"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text(json.dumps(GPT2Config(n_layer=1).to_dict()))  # no weights at all
    with pytest.raises(ModelFormatError, match="gpt2"):
        export(checkpoint, format="gguf", quant="f32", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
