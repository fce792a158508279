"""llama.cpp's prefix cache: a request keeps the KV cache of the prompt prefix it shares with the previous one."""

from __future__ import annotations

import json

import numpy as np
import pytest

import infir_edge
from infir_edge.cli import main
from infir_edge.errors import BackendError, InvalidRequestError
from infir_edge.runtime.llamacpp import _batch_sizes

TEXT = "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat. " * 4


def _close(a, b) -> bool:
    # the tiny model's logits are of order 1; a KV cache built one token at a time rounds up to ~3e-5 apart
    return np.allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)


@pytest.fixture
def engine(tiny_gguf):
    with infir_edge.load(tiny_gguf, n_ctx=512, threads=1) as engine:
        yield engine


@pytest.fixture(scope="module")
def fresh(tiny_gguf):
    """The reference: every prompt evaluated from an empty cache."""
    with infir_edge.load(tiny_gguf, n_ctx=512, threads=1, prefix_cache=False) as engine:
        yield engine


@pytest.fixture
def ids(engine) -> list[int]:
    return engine.tokenize(TEXT)


def _prefill(engine, token_ids) -> np.ndarray:
    with engine._exclusive():
        return np.array(engine._prefill(token_ids))


def test_a_prompt_sharing_a_prefix_reuses_it(engine, ids):
    engine.generate(ids, max_new_tokens=4)
    other = ids[:30] + engine.tokenize(" A different ending for this prompt.", add_special=False)
    second = engine.generate(other, max_new_tokens=4)
    assert engine.last_prefill_reused == 30 and second.timings.cached_tokens == 30


def test_an_identical_prompt_evaluates_its_last_tokens_again(engine, fresh, ids):
    engine.generate(ids, max_new_tokens=4)
    logits = _prefill(engine, ids)
    assert engine.last_prefill_reused == len(ids) - 2  # two: a one-token batch takes other kernels
    assert _close(logits, _prefill(fresh, ids))


def test_the_tokens_a_generation_decoded_are_not_reused(engine, ids):
    first = engine.generate(ids, max_new_tokens=6, ignore_eos=True)
    engine.generate(ids + first.token_ids[:5] + ids[:3], max_new_tokens=2)
    assert engine.last_prefill_reused == len(ids)  # the decoded ones went through the single-token kernels


def test_a_shorter_prompt_reuses_all_but_its_last_two_tokens(engine, fresh, ids):
    engine.generate(ids, max_new_tokens=4)
    logits = _prefill(engine, ids[:20])
    assert engine.last_prefill_reused == 18
    assert _close(logits, _prefill(fresh, ids[:20]))


def test_a_prompt_diverging_at_its_first_token_reuses_nothing(engine, fresh, ids):
    engine.generate(ids, max_new_tokens=4)
    other = engine.tokenize("Something else entirely. " + TEXT)
    logits = _prefill(engine, other)
    assert engine.last_prefill_reused == 0
    assert _close(logits, _prefill(fresh, other))


def test_a_generation_after_reuse_matches_a_fresh_one(engine, fresh, ids):
    engine.generate(ids, max_new_tokens=4)
    prompt = ids[:50] + engine.tokenize(" and then", add_special=False)
    ours = engine.generate(prompt, max_new_tokens=12, ignore_eos=True)
    assert engine.last_prefill_reused == 50
    assert ours.token_ids == fresh.generate(prompt, max_new_tokens=12, ignore_eos=True).token_ids


def test_prefix_cache_off_reuses_nothing(fresh, ids):
    fresh.generate(ids, max_new_tokens=4)
    fresh.generate(ids, max_new_tokens=4)
    assert fresh.last_prefill_reused == 0
    assert fresh.info().prefix_cache is False


def test_info_reports_the_prefix_cache(engine):
    assert engine.info().prefix_cache is True


@pytest.mark.parametrize("failure", [RuntimeError("llama_decode returned -1"), KeyboardInterrupt()])
def test_a_failed_prefill_leaves_an_empty_cache(engine, fresh, ids, monkeypatch, failure):
    engine.generate(ids, max_new_tokens=4)
    real_eval = engine._llm.eval

    def failing(tokens):
        real_eval(tokens[:3])  # part of the batch made it into the cache
        raise failure

    monkeypatch.setattr(engine._llm, "eval", failing)
    with pytest.raises((BackendError, KeyboardInterrupt)):
        engine.generate(ids[:40] + ids[:10], max_new_tokens=4)
    monkeypatch.setattr(engine._llm, "eval", real_eval)
    assert engine._llm.n_tokens == 0
    logits = _prefill(engine, ids)
    assert engine.last_prefill_reused == 0
    assert _close(logits, _prefill(fresh, ids))


def test_teacher_forced_logits_stay_exact_between_generations(engine, fresh, ids):
    engine.generate(ids, max_new_tokens=4)
    assert np.array_equal(engine.teacher_forced_logits(ids[:40]), fresh.teacher_forced_logits(ids[:40]))
    logits = _prefill(engine, ids[:30])  # the cache holds the teacher-forced tokens, evaluated one by one
    assert engine.last_prefill_reused == 0
    assert _close(logits, _prefill(fresh, ids[:30]))


@pytest.mark.parametrize("n,sizes", [(5, [5]), (512, [512]), (513, [511, 2]), (1025, [512, 511, 2]), (1, [1])])
def test_a_prompt_is_never_cut_into_a_one_token_batch(n, sizes):
    assert _batch_sizes(n, 512) == sizes


def test_the_rest_of_a_prompt_is_evaluated_in_batches_of_two_or_more(tiny_gguf, monkeypatch):
    with infir_edge.load(tiny_gguf, n_ctx=512, threads=1, n_batch=8) as engine:
        ids = engine.tokenize(TEXT)[:30]
        engine.generate(ids[:12], max_new_tokens=2)
        sizes, real_eval = [], engine._llm.eval
        monkeypatch.setattr(engine._llm, "eval", lambda tokens: sizes.append(len(tokens)) or real_eval(tokens))
        _prefill(engine, ids[:21])  # 12 kept, 9 to evaluate: 8 + 1 would leave a one-token batch
        assert engine.last_prefill_reused == 12 and sizes == [7, 2]


def test_prefix_cache_must_be_a_bool(tiny_gguf):
    with pytest.raises(InvalidRequestError, match="prefix_cache"):
        infir_edge.load(tiny_gguf, prefix_cache="no")


def test_a_backend_without_a_prefix_cache_refuses_the_option(tiny_gguf):
    with pytest.raises(InvalidRequestError, match="does not take these options"):
        infir_edge.load(tiny_gguf, backend="torch", prefix_cache=False)


def test_the_cli_turns_the_prefix_cache_off(tiny_gguf, capsys):
    assert main(["info", "--model", str(tiny_gguf), "--threads", "1", "--no-prefix-cache", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["prefix_cache"] is False
    assert main(["generate", "--model", str(tiny_gguf), "--threads", "1", "--no-prefix-cache", "-n", "2", "Hi"]) == 0


@pytest.mark.parametrize("command", [["generate", "Hi"], ["chat"], ["reason", "Why?"], ["serve"]])
def test_the_generation_commands_take_the_flag(command):
    from infir_edge.cli import build_parser

    assert build_parser().parse_args([*command, "--no-prefix-cache"]).prefix_cache is False
    assert build_parser().parse_args(command).prefix_cache is True
