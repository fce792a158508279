from __future__ import annotations

import dataclasses
import gzip
import json
import random
from pathlib import Path

import pytest

from training.data.errors import DataError
from training.data.executors import ExecutorSettings
from training.data.pipeline import build_stages, run_pipeline
from training.data.recipe import load_recipe

RECIPE = Path(__file__).resolve().parents[3] / "training" / "recipes" / "data_cpu.yaml"
STAGES = ["filter", "dedup", "decontam"]


def recipe(workers: int = 1, kind: str = "local"):
    loaded = load_recipe(RECIPE)
    return dataclasses.replace(loaded, executor=dataclasses.replace(loaded.executor, workers=workers, kind=kind))


def read(folder: Path) -> list[dict]:
    return [json.loads(line) for file in sorted(folder.rglob("*.jsonl.gz")) for line in gzip.open(file, "rt")]


def passes_filter(text: str) -> bool:
    from datatrove.data import Document

    from training.data.stages.base import StageContext
    from training.data.stages.heuristic import HeuristicStage

    context = StageContext("in", None, True, "out", "removed", "work", "logs", 1, ExecutorSettings())
    document = Document(text, "d", metadata={"domain": "web"})
    return all(rule.filter(document) is True for rule in HeuristicStage(recipe().filter).rules(context))


def write_corpus(folder: Path) -> list[str]:
    """~100 documents in a .jsonl and a .jsonl.gz (one malformed line): real Wikipedia summaries and stdlib
    modules, junk, exact copies and HumanEval solutions. Returns the ids of the readable documents."""
    from infir_edge.corpora import humaneval_problems, stdlib_source_files, wikipedia_summaries

    rng = random.Random(0)
    wiki = [t for t in wikipedia_summaries()[:200] if passes_filter(t)][:60]
    code = [t for t in (p.read_text() for p in rng.sample(stdlib_source_files(), 20)) if t.strip()][:10]
    records = [{"id": f"wiki-{i}", "text": t, "domain": "web"} for i, t in enumerate(wiki)]
    records += [{"id": f"code-{i}", "text": t, "metadata": {"domain": "code", "path": "lib/m.py"}}
                for i, t in enumerate(code)]
    records += [{"id": f"junk-{i}", "text": "Best deals! Click here now. " * 30, "domain": "web"} for i in range(8)]
    records += [{"id": f"copy-{i}", "text": wiki[i] + "\n", "domain": "web"} for i in range(8)]
    records += [{"id": f"eval-{i}", "text": p["prompt"] + p["canonical_solution"],
                 "metadata": {"domain": "code", "path": "solution.py"}} for i, p in enumerate(humaneval_problems()[:6])]
    rng.shuffle(records)
    folder.mkdir(parents=True)
    lines = [json.dumps(r) for r in records]
    (folder / "a.jsonl").write_text("\n".join([*lines[:40], "{not json"]) + "\n")
    with gzip.open(folder / "b.jsonl.gz", "wt") as f:
        f.write("\n".join(lines[40:]) + "\n")
    return [r["id"] for r in records]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    ids = write_corpus(root / "input")
    stats = run_pipeline(recipe(), root / "input", root / "out", stages=STAGES, echo=lambda line: None)
    return root / "out", ids, stats


def test_every_input_document_is_kept_or_removed_once_with_its_id(finished):
    out, ids, _ = finished
    kept, removed = [r["id"] for r in read(out / "kept")], [r["id"] for r in read(out / "removed")]
    assert sorted(kept + removed) == sorted(ids)
    assert all(r["metadata"]["filter_reason"] for r in read(out / "removed"))


def test_junk_copies_and_contamination_go_to_their_stage_and_rule(finished):
    out, _, _ = finished
    where = {r["id"]: path.relative_to(out / "removed").parts[:2]
             for path in (out / "removed").glob("*/*") for r in read(path)}
    assert all(where[f"junk-{i}"][0] == "filter" for i in range(8))
    copies = {where.get(f"copy-{i}") or where.get(f"wiki-{i}") for i in range(8)}
    assert copies == {("dedup", "exact_duplicate")}
    assert {where[f"eval-{i}"] for i in range(6)} == {("decontam", "contaminated")}


def test_stats_and_report_count_stages_rules_and_malformed_lines(finished):
    out, ids, stats = finished
    assert json.loads((out / "stats.json").read_text()) == stats
    assert stats["input"]["documents"] == len(ids) and stats["input"]["malformed_lines"] == 1
    assert [s["name"] for s in stats["stages"]] == STAGES
    for before, after in zip(stats["stages"], stats["stages"][1:], strict=False):
        assert after["documents_in"] == before["documents_out"]
    assert stats["stages"][1]["removed"]["exact_duplicate"]["documents"] == 8
    assert all(s["wall_s"] > 0 and s["workers"] == 1 for s in stats["stages"])
    report = (out / "report.md").read_text()
    assert "| dedup | exact_duplicate | exact_duplicate: 8 |" in report and "malformed lines skipped: 1" in report


def test_a_rerun_skips_every_stage(finished):
    out, ids, stats = finished
    lines = []
    again = run_pipeline(recipe(), out.parent / "input", out, stages=STAGES, echo=lines.append)
    assert [line for line in lines if "already done" in line] == [f"[{i}/3] {s}: already done, skipped"
                                                                 for i, s in enumerate(STAGES, start=1)]
    assert again["kept"] == stats["kept"]


def test_a_rerun_with_other_stages_is_refused(finished):
    out, _, _ = finished
    with pytest.raises(DataError, match="other .*stages"):
        run_pipeline(recipe(), out.parent / "input", out, stages=["filter"], echo=lambda line: None)


def test_stages_run_in_the_given_order_and_overwrite_starts_over(tmp_path):
    write_corpus(tmp_path / "input")
    (tmp_path / "out" / "kept").mkdir(parents=True)
    (tmp_path / "out" / "kept" / "stale.jsonl.gz").write_bytes(gzip.compress(b'{"id": "stale", "text": "x"}\n'))
    run_pipeline(recipe(), tmp_path / "input", tmp_path / "out", stages=["dedup", "filter"], overwrite=True,
                 echo=lambda line: None)
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "work").iterdir() if p.is_dir()) == ["00-input", "01-dedup", "02-filter"]
    assert (out / "work" / "01-dedup" / "docs").is_dir() and not (out / "work" / "02-filter" / "docs").exists()
    assert sorted(p.name for p in (out / "logs").iterdir()) == [
        "dedup", "filter"]
    assert "stale" not in {r["id"] for r in read(out / "kept")}
    assert json.loads((out / "run.json").read_text())["stages"] == ["dedup", "filter"]


def test_parquet_input_keeps_ids_and_extra_columns_as_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from infir_edge.corpora import wikipedia_summaries

    texts = [t for t in wikipedia_summaries() if t.count(". ") >= 5][:4]
    (tmp_path / "input").mkdir()
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(4)], "text": texts, "source": ["wiki"] * 4}),
                   tmp_path / "input" / "part.parquet")
    run_pipeline(recipe(), tmp_path / "input", tmp_path / "out", stages=["filter"], echo=lambda line: None)
    kept = read(tmp_path / "out" / "kept")
    assert sorted(r["id"] for r in kept) == ["p0", "p1", "p2", "p3"]
    assert {r["metadata"]["source"] for r in kept} == {"wiki"} and {r["metadata"]["domain"] for r in kept} == {"web"}


@pytest.mark.parametrize("content", [None, "", "\n\n{broken\n"])
def test_a_missing_or_empty_input_is_a_data_error(tmp_path, content):
    path = tmp_path / "input.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match="does not exist" if content is None else "empty"):
        run_pipeline(recipe(), path, tmp_path / "out", stages=["filter"], echo=lambda line: None)


def test_slurm_builds_the_same_pipelines_without_running_them(tmp_path):
    from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor

    paper = load_recipe(RECIPE.with_name("data_paper.yaml"))
    slurm = dataclasses.replace(recipe(), executor=dataclasses.replace(paper.executor, workers=2))
    local, remote = ([stage.executors(context) for stage, context in build_stages(r, STAGES, tmp_path)]
                     for r in (recipe(), slurm))

    def shapes(chains):
        return [[[type(step).__name__ for step in e.pipeline] for e in chain] for chain in chains]

    assert shapes(local) == shapes(remote)
    assert all(isinstance(e, SlurmPipelineExecutor) for chain in remote for e in chain)
    assert all(isinstance(e, LocalPipelineExecutor) for chain in local for e in chain)
    assert remote[1][-1].depends is remote[1][-2] and remote[0][0].partition == "cpu"
    assert remote[0][0].logging_dir.path == str(tmp_path / "logs" / "filter" / "filter")
    assert not (tmp_path / "logs").exists()  # nothing was submitted


def test_as_many_files_as_tasks_are_linked_not_copied(tmp_path):
    from infir_edge.corpora import wikipedia_summaries

    texts = [t for t in wikipedia_summaries()[:100] if passes_filter(t)][:8]
    (tmp_path / "input" / "part").mkdir(parents=True)
    for i in range(4):  # data_cpu.yaml's 4 tasks
        lines = [json.dumps({"id": f"f{i}-{k}", "text": texts[2 * i + k], "domain": "web"}) for k in range(2)]
        (tmp_path / "input" / "part" / f"{i}.jsonl").write_text("\n".join(lines) + "\n")
    run_pipeline(recipe(), tmp_path / "input", tmp_path / "out", stages=["filter"], echo=lambda line: None)
    staged = sorted((tmp_path / "out" / "work" / "00-input").rglob("*.jsonl"))
    assert len(staged) == 4 and all(p.is_symlink() for p in staged)
    assert len(read(tmp_path / "out" / "kept")) == 8


def test_a_stage_that_removes_everything_leaves_the_next_an_empty_input(tmp_path):
    (tmp_path / "input").mkdir()
    spam = [json.dumps({"id": f"s{i}", "text": "Click here! " * 50, "domain": "web"}) for i in range(3)]
    (tmp_path / "input" / "spam.jsonl").write_text("\n".join(spam) + "\n")
    stats = run_pipeline(recipe(), tmp_path / "input", tmp_path / "out", stages=["filter", "dedup"],
                         echo=lambda line: None)
    assert stats["kept"]["documents"] == 0 and stats["stages"][1]["documents_in"] == 0
