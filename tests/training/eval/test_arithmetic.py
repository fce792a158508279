from __future__ import annotations

from training.data.synthetic_math import math_texts
from training.eval.arithmetic import EVAL_SETS, eval_set_files, generate_eval_set, load_eval_set, write_eval_sets


def test_committed_files_equal_a_fresh_generation(tmp_path):
    fresh = write_eval_sets(tmp_path)
    committed = {path.name: path for path in eval_set_files()}
    for path in fresh:
        assert committed[path.name].read_bytes() == path.read_bytes()


def test_every_set_is_listed_with_its_size_and_unique_ids():
    names = {path.name.split(".")[0] for path in eval_set_files()}
    assert set(EVAL_SETS) <= names
    for path in eval_set_files():
        items = load_eval_set(path)
        assert len({item["id"] for item in items}) == len(items)
        if path.stem in EVAL_SETS:
            assert len(items) == EVAL_SETS[path.stem][1]
            assert all(item["question"] and item["answer"] for item in items)


def test_items_are_long_enough_for_ngram_decontamination():
    for name in EVAL_SETS:
        assert min(len(item["question"].split()) for item in generate_eval_set(name)) >= 12


def test_no_evaluation_question_appears_in_training_math():
    questions = [item["question"] for name in EVAL_SETS for item in generate_eval_set(name)]
    training = "\n".join(math_texts(500))
    assert not any(question in training for question in questions)
