from __future__ import annotations

import gzip
import json

import pytest

from training.data.errors import DataError
from training.data.executors import ExecutorSettings
from training.data.stages.base import StageContext
from training.data.stages.decontam import DecontamConfig, DecontamStage, eval_items

QUESTION = ("Maya buys 7 notebooks at 3 dollars each and pays with a 50 dollar note; "
            "how much change does she get back from the cashier")
FILLER = "The history of the region is long and well documented by several local archives and museums. "


def read(folder) -> list[dict]:
    return [json.loads(line) for file in sorted(folder.rglob("*.jsonl.gz")) for line in gzip.open(file, "rt")]


@pytest.fixture
def decontaminated(tmp_path):
    evals = tmp_path / "shop.jsonl"
    evals.write_text(json.dumps({"question": QUESTION, "answer": "29"}) + "\n")
    plain = tmp_path / "essay.txt"
    plain.write_text("the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn")
    words = QUESTION.split()
    texts = {
        "copied": FILLER + " ".join(words[:11]).upper() + "!",  # 11 words: two 10-grams, case and punctuation differ
        "other-numbers": FILLER + QUESTION.replace("7", "9").replace("50", "20"),  # numbers normalized to 0
        "nine-words": FILLER + " ".join(words[:9]),
        "essay": FILLER + "The quick brown fox jumps over the lazy dog, while the farmer sleeps.",
        "clean": FILLER * 3,
    }
    (tmp_path / "in").mkdir()
    with gzip.open(tmp_path / "in" / "0.jsonl.gz", "wt") as f:
        f.writelines(json.dumps({"id": k, "text": t, "metadata": {"domain": "web"}}) + "\n" for k, t in texts.items())
    context = StageContext(input_folder=str(tmp_path / "in"), input_glob=None, first=True,
                           output_folder=str(tmp_path / "out"), removed_folder=str(tmp_path / "removed"),
                           work_folder=str(tmp_path / "work"), logs_folder=str(tmp_path / "logs"), tasks=2,
                           executor=ExecutorSettings(workers=1))
    stage = DecontamStage(DecontamConfig(builtin_evals=[], eval_files=[str(evals), str(plain)]))
    stage.prepare(context)
    stage.executors(context)[-1].run()
    return tmp_path


def test_documents_sharing_a_10gram_with_an_eval_item_are_removed(decontaminated):
    removed = {r["id"]: r["metadata"] for r in read(decontaminated / "removed" / "contaminated")}
    assert set(removed) == {"copied", "other-numbers", "essay"}
    assert removed["copied"]["filter_reason"] == "contaminated"
    assert removed["copied"]["contaminated_task"] == "shop" and removed["essay"]["contaminated_task"] == "essay"
    assert {r["id"] for r in read(decontaminated / "out")} == {"nine-words", "clean"}


def test_the_index_manifest_counts_items_per_task(decontaminated):
    manifest = json.loads((decontaminated / "work" / "index" / "manifest.json").read_text())
    assert manifest["items"] == {"shop": 1, "essay": 1} and manifest["n_grams"] == 10


def test_default_evals_are_humaneval_and_the_arithmetic_sets():
    from training.eval.arithmetic import eval_set_files

    tasks = {task for task, _ in eval_items(DecontamConfig())}
    assert tasks == {"humaneval"} | {path.name.split(".")[0] for path in eval_set_files()}


def test_a_missing_eval_file_or_unknown_builtin_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        eval_items(DecontamConfig(builtin_evals=[], eval_files=[str(tmp_path / "nope.jsonl")]))
    with pytest.raises(DataError, match="unknown builtin_evals"):
        eval_items(DecontamConfig(builtin_evals=["mmlu"]))
