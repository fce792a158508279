from __future__ import annotations

import pytest

from infir_edge.errors import InvalidRequestError
from infir_edge.reasoning import extract_answer
from training.eval.arithmetic import EVAL_SETS
from training.eval.math_accuracy import MathConfig, eval_sets, is_correct, run_math


@pytest.mark.parametrize(("prediction", "answer", "correct"), [
    ("290.50", "290.5", True),
    ("290.5", "290.50", True),
    ("$1,200", "1200", True),
    ("-3.0", "-3", True),
    ("7867", "7866", False),
    ("290.51", "290.5", False),
    (None, "5", False),
    ("no number", "5", False),
])
def test_predictions_are_compared_as_numbers(prediction, answer, correct):
    assert is_correct(prediction, answer) is correct


def test_a_known_correct_response_scores_correct_through_the_sdks_extraction():
    response = ("The fence is 2 * (33 + 9) - 1 = 83 m long.\nAt $3.50 per metre: 83 * 3.50 = 290.50.\n"
                "The answer is 290.50.")
    assert is_correct(extract_answer(response, "number"), "290.5")


def test_a_known_wrong_response_scores_wrong_through_the_sdks_extraction():
    response = "The fence is 2 * (33 + 9) = 84 m long, so 84 * 3.50 = 294.\nThe answer is 294."
    assert not is_correct(extract_answer(response, "number"), "290.5")


def test_an_unknown_set_is_refused():
    with pytest.raises(InvalidRequestError, match="unknown arithmetic set"):
        eval_sets(["no_such_set"])


def test_a_real_engine_gets_one_record_per_item_scored_by_the_shared_rule(tiny_gguf):
    import infir_edge

    with infir_edge.load(tiny_gguf, threads=1) as engine:  # llama.cpp's spinning threads crawl on a busy CPU
        figures, records = run_math(engine, limit=1, config=MathConfig(budget=16))
    assert [r["set"] for r in records] == sorted(EVAL_SETS)
    for record in records:
        assert record["correct"] == is_correct(record["prediction"], record["answer"])
        assert record["response"]
    assert figures["items"] == 2
    assert set(figures["sets"]) == set(EVAL_SETS)
    assert figures["accuracy"] == sum(r["correct"] for r in records) / 2
