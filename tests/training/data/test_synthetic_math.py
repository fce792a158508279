from __future__ import annotations

import re

from training.data.synthetic_math import math_problems, math_texts


def test_texts_are_deterministic_per_seed_and_differ_across_seeds():
    assert math_texts(20, seed=3) == math_texts(20, seed=3)
    assert set(math_texts(20, seed=3)).isdisjoint(math_texts(20, seed=4))


def test_a_longer_list_starts_with_the_shorter_one():
    assert math_texts(30, seed=1)[:10] == math_texts(10, seed=1)


def test_texts_are_300_to_1500_characters():
    assert all(300 <= len(text) <= 1500 for text in math_texts(300))


def test_texts_hold_worked_solutions_with_answers():
    for text in math_texts(50):
        assert re.search(r"(Example|Problem|Exercise|Question) 1", text)
        assert re.search(r"(Answer: |answer is |Final answer: |result is )\S", text)


def test_no_line_repeats_within_a_text():
    for text in math_texts(200):
        lines = [line for line in text.split("\n") if line.strip()]
        assert len(lines) == len(set(lines))


def test_problem_answers_are_computed():
    for problem in math_problems(200, seed=0, kinds=("chain",)):
        value = None
        for step in problem["solution"].split("\n"):  # "Adding 5: 12 + 5 = 17."
            left, right = step.split(": ", 1)[1].rstrip(".").split(" = ")
            a, operator, b = left.split(" ")
            assert value is None or int(a) == value
            value = {"+": int(a) + int(b), "−": int(a) - int(b), "×": int(a) * int(b), "÷": int(a) // int(b)}[operator]
            assert int(right) == value
        assert problem["answer"] == str(value)


def test_problems_are_distinct_and_carry_question_answer_solution():
    problems = math_problems(100, seed=5)
    assert len({p["question"] for p in problems}) == 100
    assert all(p["question"] and p["answer"] and p["solution"] for p in problems)


def test_exam_phrasing_shares_no_ten_word_sequence_with_training_text():
    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.sub(r"\d+", "0", re.sub(r"[^\w\s]", " ", text.lower())).split()
        return {tuple(words[i : i + 10]) for i in range(len(words) - 9)}

    exam = set().union(*(grams(p["question"]) for p in math_problems(200, seed=9)))
    assert not any(grams(text) & exam for text in math_texts(200, seed=0))
