"""The SDK's sampler: each GenerationConfig knob does what it says."""

from __future__ import annotations

import numpy as np

from infir_edge.runtime.generation import GenerationConfig
from infir_edge.runtime.sampling import Sampler

LOGITS = np.array([1.0, 3.0, 2.5, -1.0, 0.5], dtype=np.float32)


def _draws(config: GenerationConfig, n: int = 400) -> set[int]:
    sampler = Sampler(config, len(LOGITS))
    return {sampler(LOGITS) for _ in range(n)}


def test_greedy_is_argmax():
    assert Sampler(GenerationConfig(temperature=0.0), 5)(LOGITS) == 1


def test_top_k_one_is_greedy():
    assert _draws(GenerationConfig(temperature=1.0, top_k=1, seed=0)) == {1}


def test_top_k_limits_the_candidates():
    assert _draws(GenerationConfig(temperature=5.0, top_k=2, seed=0)) == {1, 2}


def test_top_p_keeps_the_smallest_nucleus():
    assert _draws(GenerationConfig(temperature=1.0, top_p=0.05, seed=0)) == {1}


def test_min_p_drops_unlikely_tokens():
    # p(2)/p(1) = e^-0.5 = 0.61 stays; p(4)/p(1) = e^-2.5 = 0.08 goes
    assert _draws(GenerationConfig(temperature=1.0, min_p=0.5, seed=0)) == {1, 2}


def test_high_temperature_reaches_every_token():
    assert _draws(GenerationConfig(temperature=10.0, seed=0), n=2000) == {0, 1, 2, 3, 4}


def test_same_seed_same_tokens():
    config = GenerationConfig(temperature=1.0, seed=123)
    a, b = Sampler(config, 5), Sampler(config, 5)
    assert [a(LOGITS) for _ in range(50)] == [b(LOGITS) for _ in range(50)]


def test_repetition_penalty_demotes_seen_tokens():
    sampler = Sampler(GenerationConfig(repetition_penalty=2.0), 5)
    sampler.observe([1])
    assert sampler(LOGITS) == 2  # 3.0 / 2 = 1.5 < 2.5


def test_padding_past_the_vocabulary_is_ignored():
    padded = np.concatenate([LOGITS, np.full(3, 100.0, dtype=np.float32)])
    assert Sampler(GenerationConfig(), 5)(padded) == 1


def test_tiny_temperature_behaves_like_greedy():
    assert _draws(GenerationConfig(temperature=1e-300, seed=0), n=50) == {1}


def test_nan_logits_are_never_chosen():
    logits = np.array([np.nan, 1.0, np.nan, 0.5, np.nan], dtype=np.float32)
    sampler = Sampler(GenerationConfig(temperature=1.0, seed=0), 5)
    assert {sampler(logits) for _ in range(200)} <= {1, 3}
