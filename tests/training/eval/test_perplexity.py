from __future__ import annotations

import math

import numpy as np
import pytest

from training.eval.perplexity import PerplexityConfig, run_perplexity, token_nll, wikipedia_slice, windows

SMALL = PerplexityConfig(articles=3, window=64)  # a few windows, some articles split in several


@pytest.fixture(scope="module")
def llama_tiny(tiny_gguf):
    import infir_edge

    # one thread: llama.cpp's threads wait for each other by spinning, which crawls on a busy shared CPU
    with infir_edge.load(tiny_gguf, threads=1) as engine:
        yield engine


@pytest.fixture(scope="module")
def torch_tiny(tiny_gguf):
    import infir_edge

    with infir_edge.load(tiny_gguf, backend="torch", threads=1) as engine:
        yield engine


def test_token_nll_is_exact_and_finite_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [3.0, 1.0, 2.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    nll = token_nll(logits, [0, 1, 2])
    assert np.isfinite(nll).all()
    expected_second = -math.log(math.exp(2.0) / (math.exp(3.0) + math.exp(1.0) + math.exp(2.0)))
    assert nll == pytest.approx([1e4, expected_second])  # target 1 of row 0: logit 0 against 1e4


def test_windows_cover_the_slice_in_order_within_the_window(llama_tiny):
    cut = windows(llama_tiny, SMALL)
    assert max(len(w["ids"]) for w in cut) <= SMALL.window
    for index, text in enumerate(wikipedia_slice(SMALL)):
        ids = [t for w in cut if w["article"] == index for t in w["ids"]]
        assert ids == llama_tiny.tokenize(text)
    assert len({w["article"] for w in cut}) == SMALL.articles < len(cut)


def test_limit_takes_the_first_windows(llama_tiny):
    figures, records = run_perplexity(llama_tiny, limit=2, config=SMALL)
    first = windows(llama_tiny, SMALL)[:2]
    assert [r["tokens"] for r in records] == [len(w["ids"]) for w in first]
    assert figures["tokens_scored"] == sum(len(w["ids"]) - 1 for w in first)


def test_torch_perplexity_equals_transformers_own_loss(torch_tiny, tiny_gguf):
    import torch
    import transformers

    figures, _ = run_perplexity(torch_tiny, limit=3, config=SMALL)
    reference = transformers.AutoModelForCausalLM.from_pretrained(
        str(tiny_gguf.parent), gguf_file=tiny_gguf.name, dtype=torch.float32).eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for window in windows(torch_tiny, SMALL)[:3]:
            ids = torch.tensor([window["ids"]])
            loss = reference(input_ids=ids, labels=ids).loss.item()  # mean NLL of tokens 1..T-1
            total += loss * (len(window["ids"]) - 1)
            count += len(window["ids"]) - 1
    assert figures["tokens_scored"] == count
    assert figures["ppl"] == pytest.approx(math.exp(total / count), rel=1e-4)


def test_two_backends_of_the_same_weights_agree(llama_tiny, torch_tiny):
    llama, _ = run_perplexity(llama_tiny, limit=3, config=SMALL)
    torch, _ = run_perplexity(torch_tiny, limit=3, config=SMALL)
    assert llama["tokens_scored"] == torch["tokens_scored"]
    assert llama["ppl"] == pytest.approx(torch["ppl"], rel=1e-3)
