"""Word problem generation: determinism, arithmetic, tiers, the train/test split, records, numbers_in."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache

import pytest

from training.sft.problems import TIERS, WordProblem, generate_problems, numbers_in
from training.sft.problems.catalog import FAMILIES, PHRASINGS


@cache
def problems(tier: str, split: str, count: int = 300, seed: int = 0) -> tuple[WordProblem, ...]:
    return tuple(generate_problems(tier, count, seed=seed, split=split))


def evaluate(program: dict) -> tuple[int, list[int]]:
    """The answer and every intermediate value, computed without the package's own arithmetic."""
    args = program["start"]["args"]
    value = args[0] * args[1] if len(args) == 2 else args[0]
    values = [value]
    for event in program["events"]:
        kind, x = event["kind"], event["args"]
        if kind in ("gain_groups", "lose_groups"):
            values.append(x[0] * x[1])
            value = value + x[0] * x[1] if kind == "gain_groups" else value - x[0] * x[1]
        elif kind in ("gain", "older", "future"):
            value += x[0]
        elif kind in ("lose", "younger", "past"):
            value -= x[0]
        elif kind in ("multiply", "times_age"):
            value *= x[0]
        elif kind in ("share", "part_age"):
            assert value % x[0] == 0, f"{value} / {x[0]} is not exact"
            value //= x[0]
        else:
            assert kind == "pay"
            value = x[0] - value
        values.append(value)
    return value, values


def ten_grams(text: str) -> set[tuple[str, ...]]:
    words = re.sub(r"[^\w\s]", " ", re.sub(r"\d[\d,]*", "0", text.lower())).split()
    return {tuple(words[i : i + 10]) for i in range(len(words) - 9)}


def test_same_seed_same_problems_and_another_seed_others():
    first = generate_problems("multi_step", 50, seed=7)
    assert first == generate_problems("multi_step", 50, seed=7)
    assert [p.question for p in first] != [p.question for p in generate_problems("multi_step", 50, seed=8)]


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("tier", sorted(TIERS))
def test_answer_equals_an_independent_evaluation_of_the_program(tier, split):
    for problem in problems(tier, split):
        assert evaluate(problem.program)[0] == problem.answer, problem.question


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("tier", sorted(TIERS))
def test_every_value_is_a_whole_number_in_range(tier, split):
    for problem in problems(tier, split):
        _, values = evaluate(problem.program)
        assert all(isinstance(v, int) and 0 <= v <= 1000 for v in values), (values, problem.question)


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("tier", sorted(TIERS))
def test_operation_and_distractor_counts_match_the_tier(tier, split):
    (ops_low, ops_high), (facts_low, facts_high) = TIERS[tier]["ops"], TIERS[tier]["distractors"]
    seen_ops = Counter()
    for problem in problems(tier, split):
        assert ops_low <= problem.ops <= ops_high
        assert facts_low <= problem.distractors == len(problem.program["distractors"]) <= facts_high
        seen_ops[problem.ops] += 1
    assert set(seen_ops) == set(range(ops_low, ops_high + 1))


def test_ops_and_distractors_override_the_tier():
    for problem in generate_problems("one_two_step", 60, seed=3, ops=(5, 5), distractors=(2, 2)):
        assert problem.ops == 5 and problem.distractors == 2


def test_a_distractor_adds_a_number_but_not_an_operation():
    for problem in problems("multi_step", "train"):
        assert str(problem.program["distractors"][0]["args"][0]) in numbers_in(problem.question)


@pytest.mark.parametrize("split", ["train", "test"])
def test_no_two_problems_ask_the_same_question(split):
    many = generate_problems("one_two_step", 1000, seed=11, split=split)
    assert len({p.question for p in many}) == len(many)


def test_each_split_uses_only_its_own_phrasings_and_no_id_is_shared():
    ids = {}
    for split in ("train", "test"):
        ids[split] = {t for tier in TIERS for p in problems(tier, split) for t in p.templates}
        assert {PHRASINGS[t].split for t in ids[split]} == {split}
        assert all(p.split == split for tier in TIERS for p in problems(tier, split))
    assert not ids["train"] & ids["test"]


def test_test_questions_share_no_ten_word_sequence_with_train_questions():
    for tier in TIERS:
        train = set().union(*(ten_grams(p.question) for p in problems(tier, "train")))
        shared = [p.question for p in problems(tier, "test", seed=1) if ten_grams(p.question) & train]
        assert not shared, shared[:3]


def test_at_least_three_families_are_test_only_and_absent_from_train():
    test_only = {name for name, fam in FAMILIES.items() if fam.split == "test"}
    assert len(test_only) >= 3 and len(FAMILIES) >= 14
    train_families = {p.family for tier in TIERS for p in problems(tier, "train")}
    assert not train_families & test_only
    assert test_only <= {p.family for tier in TIERS for p in problems(tier, "test")}


def test_about_a_third_of_the_phrasings_of_each_kind_are_test_only():
    kinds = Counter(p.kind for p in PHRASINGS.values() if not p.id.startswith("arithmetic."))
    for kind in kinds:
        of_kind = [p for p in PHRASINGS.values() if p.kind == kind and not p.id.startswith("arithmetic.")]
        share = sum(p.split == "test" for p in of_kind) / len(of_kind)
        assert 0.2 <= share <= 0.6, (kind, share)


def test_families_restricts_the_draw_and_rejects_unknown_names():
    only = generate_problems("multi_step", 30, seed=2, split="test", family_names=["beach_shells", "ages"])
    assert {p.family for p in only} == {"beach_shells", "ages"}
    with pytest.raises(ValueError, match="not in the train split"):
        generate_problems("multi_step", 5, seed=2, family_names=["beach_shells"])


def test_record_round_trips_through_json():
    for problem in problems("multi_step", "test")[:50] + problems("one_two_step", "train")[:50]:
        record = json.loads(json.dumps(problem.to_record()))
        assert WordProblem.from_record(record) == problem
        assert set(record) == {"question", "answer", "family", "ops", "distractors", "split", "templates", "program"}


def test_numbers_in_normalizes_separators_and_currency():
    assert numbers_in("She pays $4 for 1,200 beads and 3.5 kg.") == ["4", "1200", "3.5"]
    assert numbers_in("Ages 10-12, then 5 - 3 = 2.") == ["10", "12", "5", "3", "2"]
    assert numbers_in("It was -7 degrees; 1,2345 and 12,30.") == ["-7", "1", "2345", "12", "30"]
    assert numbers_in("no numbers here") == []
