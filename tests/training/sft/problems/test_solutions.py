"""Worked solutions and arithmetic drills: every line's arithmetic is right, the last number is the answer."""

from __future__ import annotations

import random
import re
from functools import cache

import pytest

from training.sft.problems import STYLES, TIERS, arithmetic_drills, generate_problems, numbers_in, solve
from training.sft.problems.render import expression

EQUATION = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)")


@cache
def sample() -> tuple:
    """Problems of every tier and split, and drills."""
    sets = [generate_problems(tier, 80, seed=5, split=split) for tier in TIERS for split in ("train", "test")]
    return tuple(p for problems in sets for p in problems) + tuple(arithmetic_drills(80, seed=5))


def right(a: str, op: str, b: str, c: str) -> bool:
    a, b, c = int(a), int(b), int(c)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op] == c


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_every_arithmetic_line_is_right(style):
    for problem in sample():
        for line in solve(problem, style=style).splitlines():
            for equation in EQUATION.findall(line):
                assert right(*equation), (line, problem.question)


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_the_last_number_is_the_answer_and_the_last_line_says_so(style):
    for problem in sample():
        text = solve(problem, style=style)
        assert numbers_in(text)[-1] == str(problem.answer)
        assert text.splitlines()[-1] == f"The answer is {problem.answer}."


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_one_operation_per_line_and_one_line_per_operation(style):
    for problem in sample():
        lines = solve(problem, style=style).splitlines()
        counts = [len(EQUATION.findall(line)) for line in lines]
        assert max(counts) == 1 and sum(counts) == problem.ops


def test_the_operations_chain_from_the_start_to_the_answer():
    for problem in sample():
        results = [int(c) for *_, c in EQUATION.findall(solve(problem, style=3))]
        assert results[-1] == problem.answer


def test_each_distractor_is_named_as_irrelevant_before_the_steps():
    for problem in [p for p in sample() if p.distractors]:
        lines = solve(problem, style=0).splitlines()
        for fact, line in zip(problem.program["distractors"], lines, strict=False):
            assert str(fact["args"][0]) in numbers_in(line) and not EQUATION.search(line)
            assert "not" in line or "ignored" in line


def test_styles_differ_and_a_random_style_is_reproducible():
    problem = next(p for p in sample() if p.ops == 4)
    assert len({solve(problem, style=s) for s in range(len(STYLES))}) == len(STYLES) >= 4
    assert solve(problem, rng=random.Random(3)) == solve(problem, rng=random.Random(3))
    assert solve(problem) == solve(problem, style=0)
    with pytest.raises(ValueError):
        solve(problem, style=len(STYLES))


def test_solutions_are_short():
    four = [p for p in sample() if p.ops == 4]
    for problem in four:
        for style in range(len(STYLES)):
            assert len(solve(problem, style=style).split()) <= 75  # ~60-90 tokens: digits are one token each


def test_drills_are_bare_arithmetic_that_python_agrees_with():
    drills = arithmetic_drills(200, seed=1)
    assert drills == arithmetic_drills(200, seed=1)
    assert len({d.question for d in drills}) == 200
    assert {d.ops for d in drills} == {1, 2, 3}
    for drill in drills:
        assert drill.family == "arithmetic" and drill.split == "train" and drill.distractors == 0
        assert eval(expression(drill.program).replace("/", "//")) == drill.answer  # noqa: S307 (our own digits)
        assert 0 <= drill.answer <= 1000
