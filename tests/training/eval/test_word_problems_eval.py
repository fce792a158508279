"""The word-problem tiers' judging convention (the last number of the reply), their test-split items, and greedy
decoding batched on the torch backend against one prompt at a time."""

from __future__ import annotations

import shutil

import pytest
from tiny_models import CHAIN_PROMPT

import infir_edge
from training.eval.batched import greedy_replies
from training.eval.word_problems import (
    EVAL_SEED,
    INSTRUCTION,
    SYSTEM_PROMPT,
    TIERS,
    WordProblemsConfig,
    chat_prompt,
    last_number,
    run_word_problems,
    tier_figures,
    tier_items,
)
from training.sft.problems import generate_problems
from training.sft.problems.catalog import FAMILIES, PHRASINGS


@pytest.mark.parametrize(("text", "number"), [
    ("The answer is 1,200.", 1200),
    ("x = 3.5", 3.5),
    ("No number here.", None),
    ("", None),
    ("3 + 4 = 7, so she has 7 left, not 12 or 5.", 5),
    ("The answer is 42.0", 42.0),
    ("It went down to -8.", -8),
    ("Step 1: 20 - 12 = 8.\nThe answer is 8.", 8),
])  # fmt: skip
def test_last_number_is_the_last_number_written(text, number):
    value = last_number(text)
    assert value == number and type(value) is type(number)


def test_tier_figures_count_each_tier_and_row_on_its_first_items():
    judged = [(True, True), (False, True), (True, False), (False, False), (True, True)]  # (tools off, calculator)
    records = [{"tier": tier, "correct": off, "with_tools": {"correct": on}} for tier, (off, on)
               in zip(["a", "a", "a", "b", "b"], judged, strict=True)]
    assert tier_figures(records, with_tools=False) == {"a": {"accuracy": 2 / 3, "correct": 2, "items": 3},
                                                       "b": {"accuracy": 0.5, "correct": 1, "items": 2}}
    assert tier_figures(records, with_tools=True, first=2) == {"a": {"accuracy": 1.0, "correct": 2, "items": 2},
                                                               "b": {"accuracy": 0.5, "correct": 1, "items": 2}}
    assert tier_figures([{"tier": "a", "correct": True}], with_tools=True) is None  # the calculator row not asked


def test_tier_items_are_deterministic():
    for tier in TIERS:
        assert tier_items(tier, 12) == tier_items(tier, 12)
        assert len({item["question"] for item in tier_items(tier, 12)}) == 12


def test_tier_items_come_from_the_test_split():
    for tier in TIERS:
        items = tier_items(tier, 20)
        problems = generate_problems(tier, 20, seed=EVAL_SEED, split="test")
        assert [p.question for p in problems] == [item["question"] for item in items]
        assert [p.answer for p in problems] == [item["answer"] for item in items]
        for problem in problems:
            assert problem.split == "test"
            assert {PHRASINGS[t].split for t in problem.templates} == {"test"}
            assert problem.family in FAMILIES  # a train family in test wording, or a test-only family


def test_tier_items_are_first_items_of_a_longer_list():
    """The decontamination writes 200 items per tier; the evaluation of fewer items asks the first ones."""
    assert tier_items("multi_step", 200)[:7] == tier_items("multi_step", 7)


@pytest.fixture(scope="module")
def sharp_checkpoint(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint with its weights scaled up, so its greedy text differs from prompt to prompt (the random
    init's own replies are all newlines, which any padding bug would leave unchanged)."""
    import torch
    from transformers import AutoModelForCausalLM

    path = tmp_path_factory.mktemp("sharp") / "tiny-sharp"
    shutil.copytree(tiny_checkpoint, path)
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.mul_(20.0)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def engine(sharp_checkpoint):
    with infir_edge.load(sharp_checkpoint, backend="torch", threads=1) as engine:
        yield engine


QUESTIONS = ["Hi", "What is 2 + 3?", "Tom has 5 apples and buys 3 more. How many apples does he have now?",
             "Write a long story about a dragon who learns arithmetic at school with her friends, then sums it up."]


def test_greedy_replies_are_the_same_batched_and_one_by_one(engine):
    prompts = [chat_prompt(engine, q) for q in QUESTIONS]
    assert len({len(engine.prompt_ids(p)) for p in prompts}) == 4  # the batch is left-padded
    batched = greedy_replies(engine, prompts, max_new_tokens=10, batch_size=4)
    alone = greedy_replies(engine, prompts, max_new_tokens=10, batch_size=1)
    assert len(set(alone)) == 4 and all(reply.text.strip() for reply in alone)
    assert batched == alone


def test_greedy_replies_cut_at_a_stop_string_the_same_both_ways(engine):
    prompts = [chat_prompt(engine, q) for q in QUESTIONS]
    full = [reply.text for reply in greedy_replies(engine, prompts, max_new_tokens=10, batch_size=1)]
    stop = next(c for c in "etaoinsr" if sum(c in reply for reply in full) >= 2)
    batched = greedy_replies(engine, prompts, max_new_tokens=10, stop=[stop], batch_size=4)
    alone = greedy_replies(engine, prompts, max_new_tokens=10, stop=[stop], batch_size=1)
    assert [r.text for r in batched] == [r.text for r in alone] == [reply.split(stop)[0] for reply in full]


def test_batched_replies_answer_calculator_calls_as_the_engine_does(chain_model):
    from infir_edge.tools import ToolCall

    prompts = [CHAIN_PROMPT, "Hello there, how are you", CHAIN_PROMPT]  # padded rows beside each other
    with infir_edge.load(chain_model("torch"), backend="torch") as chain:
        batched = greedy_replies(chain, prompts, max_new_tokens=7, batch_size=3, tools=("calculator",))
        alone = greedy_replies(chain, prompts, max_new_tokens=7, batch_size=1, tools=("calculator",))
    assert batched == alone
    assert batched[0].text == batched[2].text == "<<48/2=24>> clips"  # 7 sampled tokens; the answer's 3 on top
    assert batched[0].tool_calls == (ToolCall("calculator", "48/2", "24", "24>>"),)


def test_run_word_problems_gives_each_tier_limit_items_judged_by_the_last_number(engine):
    figures, records = run_word_problems(engine, limit=2, config=WordProblemsConfig(max_new_tokens=8, batch_size=4))
    assert set(figures["tiers"]) == set(TIERS)
    assert figures["system_prompt"] == SYSTEM_PROMPT and figures["instruction"] == INSTRUCTION
    assert len(records) == 4
    for tier, figure in figures["tiers"].items():
        assert figure["items"] == 2
        assert figure["correct"] == sum(r["correct"] for r in records if r["tier"] == tier)
        assert figure["accuracy"] == figure["correct"] / 2
    for record in records:
        assert record["prediction"] == last_number(record["reply"])
        assert record["correct"] == (record["prediction"] == record["answer"])
    assert [r["question"] for r in records] == [i["question"] for t in TIERS for i in tier_items(t, 2)]
