"""`convert default --to checkpoint`: an ordinary HF checkpoint with the GGUF's tokenizer and template."""

from __future__ import annotations

import json

import pytest

from infir_edge.errors import InvalidRequestError
from infir_edge.models.convert import gguf_to_checkpoint


def test_checkpoint_has_weights_tokenizer_and_template(default_checkpoint):
    names = {p.name for p in default_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert "tokenizer.model" not in names  # the 98 MB GGUF copy transformers would write
    config = json.loads((default_checkpoint / "config.json").read_text())
    assert config["model_type"] == "llama" and config["tie_word_embeddings"] is True


def test_special_tokens_follow_the_gguf(default_checkpoint):
    tokens = json.loads((default_checkpoint / "special_tokens_map.json").read_text())
    assert tokens["bos_token"] == "<|im_start|>" and tokens["eos_token"] == "<|im_end|>"
    assert json.loads((default_checkpoint / "tokenizer_config.json").read_text())["add_bos_token"] is False


def test_existing_output_needs_overwrite(default_checkpoint):
    with pytest.raises(InvalidRequestError, match="overwrite"):
        gguf_to_checkpoint("default", default_checkpoint)


def test_only_gguf_sources(tiny_checkpoint, tmp_path):
    from infir_edge.errors import ModelFormatError

    with pytest.raises(ModelFormatError, match="needs a GGUF"):
        gguf_to_checkpoint(tiny_checkpoint, tmp_path / "out")
