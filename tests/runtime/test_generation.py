"""GenerationConfig validates what it is given; Timings derive rates correctly."""

from __future__ import annotations

import pytest

from infir_edge.errors import InvalidRequestError
from infir_edge.runtime.generation import GenerationConfig, Timings


@pytest.mark.parametrize(
    "options",
    [
        {"max_new_tokens": 0},
        {"temperature": -1},
        {"temperature": float("nan")},
        {"top_k": -1},
        {"top_p": 0.0},
        {"min_p": 1.0},
        {"repetition_penalty": 0},
        {"stop": ("",)},
        {"ignore_eos": "yes"},
    ],
)
def test_invalid_values_are_refused(options):
    with pytest.raises(InvalidRequestError):
        GenerationConfig(**options)


def test_a_single_stop_string_becomes_a_tuple():
    assert GenerationConfig(stop="\n").stop == ("\n",)


def test_unknown_override_is_refused():
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        GenerationConfig().replace(max_tokens=3)


def test_decode_rate_counts_steps_after_the_first_token():
    timings = Timings(prompt_tokens=10, generated_tokens=11, prefill_s=0.5, decode_s=2.0)
    assert timings.prefill_tokens_per_s == 20.0
    assert timings.decode_tokens_per_s == 5.0


def test_prefill_rate_counts_only_the_tokens_evaluated():
    timings = Timings(prompt_tokens=110, cached_tokens=100, prefill_s=0.5)
    assert timings.prefill_tokens_per_s == 20.0


@pytest.mark.parametrize("options", [{"seed": -1}, {"stop": 5}, {"max_new_tokens": True}, {"top_k": 1.5}])
def test_wrong_types_are_refused(options):
    with pytest.raises(InvalidRequestError):
        GenerationConfig(**options)


def test_no_stop_strings():
    assert GenerationConfig(stop=None).stop == ()
