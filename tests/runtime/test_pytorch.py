"""The torch backend on a tiny random-init checkpoint."""

from __future__ import annotations

import sys

import pytest

import infir_edge
from infir_edge.errors import BackendUnavailableError


@pytest.fixture(scope="module")
def tiny_engine(tiny_checkpoint):
    with infir_edge.load(tiny_checkpoint, n_ctx=256) as engine:
        yield engine


def test_stream_joins_to_generate(tiny_engine):
    config = infir_edge.GenerationConfig(max_new_tokens=16)
    pieces = list(tiny_engine.stream("Hello there", config))
    generation = tiny_engine.generate("Hello there", config)
    assert "".join(pieces) == generation.text
    assert len(generation.token_ids) == 16


def test_kv_cache_decoding_matches_a_full_forward(tiny_engine):
    generation = tiny_engine.generate("The quick brown fox", max_new_tokens=8)
    ids = tiny_engine.tokenize("The quick brown fox") + generation.token_ids
    full = tiny_engine.teacher_forced_logits(ids)
    prompt_len = len(ids) - 8
    assert full[prompt_len - 1 : -1].argmax(axis=-1).tolist() == generation.token_ids


def test_chat_uses_the_checkpoint_template(tiny_engine):
    text = tiny_engine.apply_chat_template([{"role": "user", "content": "hi"}])
    assert text.endswith("<|im_start|>assistant\n")


def test_info_reports_the_checkpoint(tiny_engine, tiny_checkpoint):
    info = tiny_engine.info()
    assert (info.backend, info.format, info.architecture) == ("torch", "checkpoint", "llama")
    assert info.n_ctx == 256 and info.n_vocab == 49152


def test_missing_torch_names_the_extra(tiny_checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(BackendUnavailableError, match=r"infir-edge\[torch\]"):
        infir_edge.load(tiny_checkpoint)


def test_broken_weights_are_a_format_error(tiny_checkpoint, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_checkpoint.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"garbage" * 100)
    with pytest.raises(infir_edge.ModelFormatError):
        infir_edge.load(broken)


def test_closed_engine_refuses_requests(tiny_checkpoint):
    engine = infir_edge.load(tiny_checkpoint, n_ctx=64)
    engine.close()
    with pytest.raises(infir_edge.InvalidRequestError, match="closed"):
        engine.generate("Hello", max_new_tokens=2)


def test_teacher_forcing_refuses_ids_outside_the_vocabulary(tiny_engine):
    with pytest.raises(infir_edge.InvalidRequestError):
        tiny_engine.teacher_forced_logits([1, 2, 10**9])


def test_a_gguf_runs_on_torch_as_on_llama_cpp(tiny_gguf):
    """transformers dequantizes the GGUF (undoing llama.cpp's RoPE row order); the logits must match."""
    import numpy as np

    text = "The quick brown fox jumps over the lazy dog, 12345!"
    llama = infir_edge.load(tiny_gguf, n_ctx=128)
    torch = infir_edge.load(tiny_gguf, backend="torch", n_ctx=128)
    with llama, torch:
        ids = llama.tokenize(text)
        assert torch.tokenize(text) == ids
        assert torch.eog_token_ids == llama.eog_token_ids
        difference = np.abs(llama.teacher_forced_logits(ids) - torch.teacher_forced_logits(ids)).max()
    assert difference < 1e-2  # f16 weights on both sides; measured 9e-4 against logits of magnitude ~2


def test_auto_dtype_is_bf16_only_where_the_cpu_computes_it(monkeypatch):
    import torch

    from infir_edge.runtime.pytorch import native_dtype

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert native_dtype(torch) == "float32"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert native_dtype(torch) == "bfloat16"
