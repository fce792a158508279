"""Evol-Instruct operators on programs: each changes what it says, keeps the answer consistent, and words the result
from train phrasings only."""

from __future__ import annotations

import random
from functools import cache

import pytest

from training.sft.problems import EVOLUTIONS, evolve, generate_problems, numbers_in
from training.sft.problems.catalog import FAMILIES, PHRASINGS
from training.sft.problems.problem import build


@cache
def seeds(split: str = "train") -> tuple:
    return tuple(generate_problems("one_two_step", 60, seed=9, split=split) +
                 generate_problems("multi_step", 60, seed=9, split=split))  # fmt: skip


def evaluate(program: dict) -> int:
    """The answer, computed without the package's own arithmetic."""
    args = program["start"]["args"]
    value = args[0] * args[1] if len(args) == 2 else args[0]
    for event in program["events"]:
        kind, x = event["kind"], event["args"]
        step = x[0] * x[1] if kind.endswith("_groups") else x[0]
        if kind in ("gain", "gain_groups", "older", "future"):
            value += step
        elif kind in ("lose", "lose_groups", "younger", "past"):
            value -= step
        elif kind in ("multiply", "times_age"):
            value *= step
        elif kind in ("share", "part_age"):
            assert value % step == 0
            value //= step
        else:
            value = step - value
    return value


def evolved(operation: str, split: str = "train"):
    rng = random.Random(4)
    pairs = [(p, evolve(p, operation, rng)) for p in seeds(split)]
    return [(p, e) for p, e in pairs if e is not None]


def consistent(problem) -> bool:
    """The answer is what the program computes, and the question is what the program renders."""
    return problem.answer == evaluate(problem.program) and build(problem.program) == problem


def test_deepen_adds_one_operation_and_the_answer_follows_the_new_question():
    pairs = evolved("deepen")
    assert len(pairs) > 0.8 * len(seeds())
    for before, after in pairs:
        assert after.ops == before.ops + 1
        assert consistent(after) and after.question != before.question
        assert 0 <= after.answer <= 1000


def test_deepen_stops_at_five_operations():
    five = generate_problems("multi_step", 20, seed=2, ops=(5, 5))
    assert all(evolve(p, "deepen", random.Random(0)) is None for p in five)


def test_add_distractor_adds_a_number_and_leaves_the_answer():
    for before, after in evolved("add_distractor"):
        assert after.answer == before.answer and after.ops == before.ops
        assert after.distractors == before.distractors + 1
        assert len(numbers_in(after.question)) > len(numbers_in(before.question))
        assert consistent(after)


def test_change_numbers_changes_numbers_and_keeps_the_answer_consistent():
    pairs = evolved("change_numbers")
    assert len(pairs) > 0.8 * len(seeds())
    for before, after in pairs:
        assert numbers_in(after.question) != numbers_in(before.question)
        assert after.ops == before.ops and consistent(after)


def test_change_names_changes_the_people_not_the_arithmetic():
    for before, after in evolved("change_names"):
        assert after.answer == before.answer and numbers_in(after.question) == numbers_in(before.question)
        assert {a["name"] for a in after.program["actors"]}.isdisjoint(a["name"] for a in before.program["actors"])


def test_concretize_adds_a_detail_without_a_number():
    pairs = evolved("concretize")
    assert pairs
    for before, after in pairs:
        assert after.answer == before.answer and numbers_in(after.question) == numbers_in(before.question)
        assert len(after.question) > len(before.question)


@pytest.mark.parametrize("operation", EVOLUTIONS)
def test_evolved_problems_use_train_phrasings_only_even_from_test_problems(operation):
    pairs = evolved(operation, "test")
    assert pairs  # test problems of train families evolve into train problems
    for before, after in pairs:
        assert after.split == "train" and {PHRASINGS[t].split for t in after.templates} == {"train"}
        assert consistent(after)
        assert FAMILIES[before.family].split == "train"


def test_test_only_families_and_unknown_operations_are_refused():
    shells = generate_problems("multi_step", 3, seed=1, split="test", family_names=["beach_shells"])
    assert all(evolve(p, "deepen", random.Random(0)) is None for p in shells)
    with pytest.raises(ValueError, match="unknown evolution"):
        evolve(seeds()[0], "paraphrase", random.Random(0))
