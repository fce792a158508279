"""benchmarks/prefix_reuse.py: the prompts it builds and the figures it reports."""

from __future__ import annotations

import pytest

import infir_edge
from benchmarks.prefix_reuse import _first_difference, agent_prompts, chat_rows, summarize_rows


@pytest.fixture(scope="module")
def engines(tiny_gguf):
    with infir_edge.load(tiny_gguf, n_ctx=512, threads=1) as reuse, \
            infir_edge.load(tiny_gguf, n_ctx=512, threads=1, prefix_cache=False) as fresh:
        yield {"reuse": reuse, "fresh": fresh}


@pytest.mark.parametrize("a,b,first", [([1, 2, 3], [1, 2, 3], None), ([1, 2, 3], [1, 5, 3], 1), ([1, 2], [1, 2, 3], 2)])
def test_first_difference(a, b, first):
    assert _first_difference(a, b) == first


def test_each_chat_turn_reuses_the_turn_before(engines):
    rows = chat_rows(engines, 4, conversations=(("Hello there.", "And then?", "Why?"),))
    assert [r["name"] for r in rows] == [f"conversation 0 turn {t}" for t in range(3)]
    assert rows[1]["reused_tokens"] > rows[0]["reused_tokens"] and rows[2]["reused_tokens"] > rows[1]["reused_tokens"]


def test_agent_prompts_are_the_policy_s_along_an_oracle_run(engines):
    prompts = agent_prompts(engines["fresh"], ["toggle_setting"], seeds=1)
    assert len(prompts) >= 2 and all(name.startswith("toggle_setting step") for name, _ in prompts)
    ids = [engines["fresh"].prompt_ids(prompt) for _, prompt in prompts]
    assert ids[0][:20] == ids[1][:20]  # the instructions and the task come first


def test_summary_counts_the_differing_prompts():
    rows = [{"prompt_tokens": 100, "reused_tokens": 80, "prefill_s_fresh": 1.0, "prefill_s_reuse": 0.25, "same": True,
             "first_diff": None},
            {"prompt_tokens": 100, "reused_tokens": 0, "prefill_s_fresh": 1.0, "prefill_s_reuse": 1.0, "same": False,
             "first_diff": 3}]
    summary = summarize_rows(rows)
    assert summary["differ"] == 1 and summary["differ_fraction"] == 0.5 and summary["reused_fraction"] == 0.4
    assert summary["prefill_speedup"] == 2.5 and summary["first_diff_median"] == 3
