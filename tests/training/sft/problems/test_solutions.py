"""Worked solutions and arithmetic drills: every line's arithmetic is right, the last number is the answer."""

from __future__ import annotations

import random
from collections import Counter
from functools import cache

import pytest

from training.sft.problems import STYLES, TIERS, arithmetic_drills, generate_problems, numbers_in, solve
from training.sft.problems.program import ABSORBED, steps
from training.sft.problems.render import expression, sentences
from training.sft.problems.worked import chain_is_right, chains, sides

WALK = STYLES.index("walk")


@cache
def sample() -> tuple:
    """Problems of every tier and split, and drills."""
    sets = [generate_problems(tier, 80, seed=5, split=split) for tier in TIERS for split in ("train", "test")]
    return tuple(p for problems in sets for p in problems) + tuple(arithmetic_drills(80, seed=5))


@pytest.mark.parametrize("style", range(len(STYLES)))
def test_every_arithmetic_line_is_right(style):
    for problem in sample():
        for line in solve(problem, style=style).splitlines():
            for chain in chains(line):
                assert chain_is_right(chain), (line, problem.question)


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
        counts = [len(chains(line)) for line in lines]
        assert max(counts) == 1 and sum(counts) == problem.ops


def test_the_operations_chain_from_the_start_to_the_answer():
    for problem in sample():
        results = [int(sides(chain)[-1]) for chain in chains(solve(problem, style=3))]
        assert results[-1] == problem.answer


def test_each_distractor_is_named_as_irrelevant_before_the_steps():
    for problem in [p for p in sample() if p.distractors]:
        lines = solve(problem, style=0).splitlines()
        for fact, line in zip(problem.program["distractors"], lines, strict=False):
            assert str(fact["args"][0]) in numbers_in(line) and not chains(line)
            assert "not" in line or "ignored" in line


def test_styles_differ_and_a_random_style_is_reproducible():
    problem = next(p for p in sample() if p.ops == 4)
    assert len({solve(problem, style=s) for s in range(len(STYLES))}) == len(STYLES) >= 4
    assert solve(problem, rng=random.Random(3)) == solve(problem, rng=random.Random(3))
    drawn = [solve(problem, rng=random.Random(seed)) for seed in range(200)]
    assert 0.6 < drawn.count(solve(problem, style=WALK)) / 200 < 0.8  # the walk is most of what is drawn
    assert solve(problem) == solve(problem, style=0)
    with pytest.raises(ValueError):
        solve(problem, style=len(STYLES))


def test_solutions_are_short():
    four = [p for p in sample() if p.ops == 4]
    for problem in four:
        for style in range(len(STYLES)):
            # the reply gets 160 new tokens; the walk quotes the events, and its longest here is ~146 tokens
            assert len(solve(problem, style=style).split()) <= 85


def test_drills_are_bare_arithmetic_that_python_agrees_with():
    drills = arithmetic_drills(200, seed=1)
    assert drills == arithmetic_drills(200, seed=1)
    assert len({d.question for d in drills}) == 200
    assert {d.ops for d in drills} == {1, 2, 3}
    for drill in drills:
        assert drill.family == "arithmetic" and drill.split == "train" and drill.distractors == 0
        assert eval(expression(drill.program).replace("/", "//")) == drill.answer  # noqa: S307 (our own digits)
        assert 0 <= drill.answer <= 1000


def test_the_walk_takes_the_facts_in_the_order_the_question_tells_them():
    for problem in [p for p in sample() if p.family != "arithmetic"]:
        ops_of = Counter(step.event for step in steps(problem.program))  # event index (-1: a groups start) -> ops
        expected = []  # per line: the operations it shows, or "aside"
        for sentence in sentences(problem.program):
            if sentence.role == "start":
                expected += [1] * ops_of[-1] or [0]  # a groups start is a product; a plain one a "Start with" line
            elif sentence.role == "event":
                expected += [1] * ops_of[sentence.event]
            elif sentence.role == "distractor":
                expected.append("aside")
        last = len(problem.program["events"]) - 1
        if last >= 0 and problem.program["events"][last]["kind"] in ABSORBED:  # told in the question itself
            expected += [1] * ops_of[last]
        lines = solve(problem, style=WALK).splitlines()[:-1]
        shown = ["aside" if line.endswith("not needed.") else len(chains(line)) for line in lines]
        assert shown == expected, (problem.question, lines)


def test_the_walk_quotes_each_event_then_computes_it():
    for problem in [p for p in sample() if p.family != "arithmetic"]:
        lines = solve(problem, style=WALK).splitlines()
        for sentence in sentences(problem.program):
            if sentence.role != "event" or not sentence.clause:
                continue
            assert sentence.clause.lower() in problem.question.lower()  # the question's own words, minus "Then, "
            quoting = [line for line in lines if line.startswith(f"{sentence.clause}: ")]
            assert quoting and chains(quoting[0]), (sentence.clause, lines)


def test_a_drill_has_no_text_to_walk_and_gets_the_plain_style():
    drill = arithmetic_drills(1, seed=2)[0]
    assert solve(drill, style=WALK) == solve(drill, style=0)


def test_a_wrong_link_anywhere_in_a_chain_is_caught():
    assert chain_is_right("148 + 62 = 208 + 2 = 210") and not chain_is_right("148 + 62 = 218 + 2 = 210")
    assert not chain_is_right("12 * 23 = 268")
    assert sides("2 + 3 * 4 = 14") == ["2 + 3 * 4", "14"] and chain_is_right("2 + 3 * 4 = 14")
    assert chains("so 5 - 8 = -3, then -3 * 2 = -6") == ["5 - 8 = -3", "-3 * 2 = -6"]
    assert not chain_is_right("5 - 8 = 3")
