from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from infir_edge.corpora import wikipedia_summaries
from training.data.errors import DataError
from training.data.executors import ExecutorSettings
from training.data.stages import recall
from training.data.stages.base import StageContext
from training.data.stages.recall import RecallConfig, RecallStage, stdlib_chunks
from training.data.synthetic_math import math_texts

# fastText on a 60-document pool needs more passes than DeepSeekMath's settings for 1M examples
SMALL = {"seeds_per_domain": 60, "rounds": 2, "promote_threshold": 0.8, "epoch": 25, "lr": 0.5, "min_count": 1}


def pool_rows() -> list[dict]:
    """40 Wikipedia summaries and 10 worked solutions, all tagged web (the math is for recall to find), 10 code."""
    rows = [{"id": f"web{i}", "text": text, "domain": "web"} for i, text in enumerate(wikipedia_summaries()[5000:5040])]
    rows += [{"id": f"math{i}", "text": text, "domain": "web"} for i, text in enumerate(math_texts(10, seed=7))]
    rows += [{"id": f"code{i}", "text": text, "domain": "code"} for i, text in enumerate(stdlib_chunks(10, seed=3))]
    return rows


def make_context(root: Path) -> StageContext:
    rows = pool_rows()
    (root / "input").mkdir(parents=True)
    for part in range(2):
        (root / "input" / f"part{part}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[part::2]))
    return StageContext(input_folder=str(root / "input"), input_glob=None, first=True, output_folder=str(root / "out"),
                        removed_folder=str(root / "removed"), work_folder=str(root / "work"),
                        logs_folder=str(root / "logs"), tasks=2, executor=ExecutorSettings(workers=1))


def run(stage: RecallStage, context: StageContext) -> None:
    stage.prepare(context)
    stage.executors(context)[-1].run()


def read_folder(folder: str) -> list[dict]:
    return [json.loads(line) for path in sorted(Path(folder).rglob("*.jsonl.gz"))
            for line in gzip.decompress(path.read_bytes()).decode().splitlines()]


@pytest.fixture(scope="module")
def recalled(tmp_path_factory):
    context = make_context(tmp_path_factory.mktemp("recall"))
    run(RecallStage(RecallConfig(**SMALL)), context)
    return context, {doc["id"]: doc for doc in read_folder(context.output_folder)}


def test_math_documents_score_above_web_documents(recalled):
    _, docs = recalled
    math = [doc["metadata"]["recall"]["math"] for doc_id, doc in docs.items() if doc_id.startswith("math")]
    web = [doc["metadata"]["recall"]["math"] for doc_id, doc in docs.items() if doc_id.startswith("web")]
    assert min(math) > max(web)


def test_code_documents_are_recalled_as_code(recalled):
    _, docs = recalled
    assert all("code" in doc["metadata"]["recalled"] for doc_id, doc in docs.items() if doc_id.startswith("code"))


def test_every_document_survives_with_its_id_by_default(recalled):
    _, docs = recalled
    assert sorted(docs) == sorted(row["id"] for row in pool_rows())


def test_stats_count_recalled_documents_per_domain(recalled):
    context, docs = recalled
    stats = json.loads(Path(context.logs_folder, "recall", "stats.json").read_text())
    counters = next(step["stats"] for step in stats if "recall" in step["name"])
    assert counters["recalled_math"] == sum("math" in doc["metadata"]["recalled"] for doc in docs.values())


def test_report_has_held_out_precision_and_recall_per_round(recalled):
    context, _ = recalled
    report = json.loads(Path(context.work_folder, "recall_report.json").read_text())
    assert [entry["round"] for entry in report["math"]] == [1, 2]
    assert {"precision", "recall"} <= set(report["code"][-1]["held_out"])


def test_confident_hits_join_the_next_rounds_positives(recalled):
    context, _ = recalled
    first, second = json.loads(Path(context.work_folder, "recall_report.json").read_text())["math"]
    assert first["promoted"] > 0 and second["promoted_positives"] == first["promoted"]
    assert Path(context.work_folder, "math_round2.bin").exists()


def test_promotions_are_capped_per_round(tmp_path):
    context = make_context(tmp_path)
    RecallStage(RecallConfig(**{**SMALL, "promote_per_round": 2})).prepare(context)
    report = json.loads(Path(context.work_folder, "recall_report.json").read_text())
    assert report["math"][0]["promoted"] == 2


def test_rerun_loads_trained_rounds_instead_of_retraining(tmp_path, monkeypatch):
    context = make_context(tmp_path)
    stage = RecallStage(RecallConfig(**SMALL))
    stage.prepare(context)
    report = Path(context.work_folder, "recall_report.json").read_text()

    def no_training(*args, **kwargs):
        raise AssertionError("a trained round was retrained")

    monkeypatch.setattr(recall, "train_fasttext", no_training)
    stage.prepare(context)
    assert Path(context.work_folder, "recall_report.json").read_text() == report


def test_drop_unrecalled_removes_web_documents_with_a_reason(tmp_path):
    context = make_context(tmp_path)
    run(RecallStage(RecallConfig(**SMALL, drop_unrecalled=True)), context)
    kept = {doc["id"] for doc in read_folder(context.output_folder)}
    removed = read_folder(f"{context.removed_folder}/recall_below_threshold")
    assert removed and {doc["metadata"]["filter_reason"] for doc in removed} == {"recall_below_threshold"}
    assert all(doc["metadata"]["domain"] == "web" and doc["metadata"]["recalled"] == [] for doc in removed)
    assert {f"code{i}" for i in range(10)} <= kept and len(kept) + len(removed) == 60


def test_unknown_domain_is_a_data_error():
    with pytest.raises(DataError, match="poetry"):
        RecallConfig(domains=("math", "poetry"))


def test_executors_before_prepare_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="prepare"):
        RecallStage(RecallConfig(**SMALL)).executors(make_context(tmp_path))


def test_the_same_examples_train_the_same_model(tmp_path):
    positives, negatives = math_texts(30), list(wikipedia_summaries()[:30])
    settings = {"dim": 32, "word_ngrams": 2, "lr": 0.5, "epoch": 25, "min_count": 1, "bucket": 10_000, "seed": 0}
    scores = []
    for name in ("a.bin", "b.bin"):
        recall.train_fasttext(positives, negatives, "math", tmp_path / name, **settings)
        model = recall.load_fasttext(tmp_path / name)
        scores.append([recall.label_probability(model, "math", text) for text in wikipedia_summaries()[100:110]])
    assert scores[0] == scores[1]
