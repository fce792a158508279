"""inspect_gguf refuses files that are well-formed but describe an incoherent model."""

from __future__ import annotations

import pytest
from tiny_models import write_tiny_gguf

from infir_edge.errors import ModelFormatError
from infir_edge.models.gguf_model import inspect_gguf


def test_default_model_facts(default_gguf):
    info = inspect_gguf(default_gguf)
    assert (info.n_layer, info.n_embd, info.n_head, info.n_head_kv, info.n_vocab) == (30, 576, 9, 3, 49152)
    assert info.quantization == "Q4_1"
    assert info.n_params == 134_515_008
    assert "<|im_start|>" in info.chat_template


def test_duplicated_token_is_refused(tmp_path, default_gguf):
    tokens = list(inspect_gguf(default_gguf).header.metadata["tokenizer.ggml.tokens"])
    tokens[1000] = tokens[1001]
    path = write_tiny_gguf(tmp_path / "dup.gguf", tokens=tokens)
    with pytest.raises(ModelFormatError, match="repeats the token"):
        inspect_gguf(path)


def test_block_count_must_match_the_tensors(tmp_path):
    path = write_tiny_gguf(tmp_path / "blocks.gguf", block_count=7)
    with pytest.raises(ModelFormatError, match="block_count' is 7"):
        inspect_gguf(path)


def test_token_types_must_cover_the_vocabulary(tmp_path, default_gguf):
    # one token fewer (the embedding follows the token list), but the token types of the full vocabulary
    tokens = inspect_gguf(default_gguf).header.metadata["tokenizer.ggml.tokens"][:-1]
    path = write_tiny_gguf(tmp_path / "short.gguf", tokens=tokens)
    with pytest.raises(ModelFormatError, match="token_type' does not have one entry per token"):
        inspect_gguf(path)
