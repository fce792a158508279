"""The `python -m training.data` command (named test_data_cli: tests/test_cli.py holds the SDK's)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.data.cli import main

ROOT = Path(__file__).resolve().parents[3]
RECIPE = ROOT / "training" / "recipes" / "data_cpu.yaml"


def command(input_path: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "training.data", "run", "--recipe", str(RECIPE), "--input", str(input_path),
            "--out", str(out), "--stages", "filter,dedup,decontam", *extra]


def read(folder: Path) -> list[dict]:
    return [json.loads(line) for file in sorted(folder.rglob("*.jsonl.gz")) for line in gzip.open(file, "rt")]


@pytest.mark.parametrize(("content", "message"), [(None, "does not exist"), ("", "is empty")])
def test_a_missing_or_empty_input_exits_2_with_one_line(tmp_path, content, message):
    path = tmp_path / "in.jsonl"
    if content is not None:
        path.write_text(content)
    result = subprocess.run(command(path, tmp_path / "out"), cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: input {path} {message}" + (
        "" if content is None else ": no JSON object on any line")]


def test_an_unknown_stage_exits_2(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "b"}\n')
    assert main(["run", "--recipe", str(RECIPE), "--input", str(path), "--out", str(tmp_path / "o"),
                 "--stages", "filter,sort"]) == 2
    assert "unknown stage 'sort'" in capsys.readouterr().err


@pytest.mark.parametrize(("executor", "needs"), [("slurm", "sbatch"), ("ray", "ray")])
def test_a_cluster_executor_without_its_tools_exits_2(tmp_path, capsys, monkeypatch, executor, needs):
    import importlib.util
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "b"}\n')
    assert main(["run", "--recipe", str(RECIPE), "--input", str(path), "--out", str(tmp_path / "o"),
                 "--executor", executor]) == 2
    assert f"needs {needs}" in capsys.readouterr().err


def test_a_killed_run_resumes_without_redoing_losing_or_duplicating(tmp_path):
    from infir_edge.corpora import wikipedia_summaries

    records = [{"id": f"doc-{i}", "text": t, "domain": "web"} for i, t in enumerate(wikipedia_summaries()[:300])]
    records += [{"id": f"copy-{i}", "text": records[i]["text"], "domain": "web"} for i in range(20)]
    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    out = tmp_path / "out"
    first = subprocess.Popen(command(path, out, "--workers", "2"), cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("logs/*/*/completions/*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and its worker pool
    first.wait()
    # a task is done once its completion marker exists: its stats file is written just before, so a kill between
    # the two leaves a stats file of a task that rightly runs again
    done = {p: p.stat().st_mtime_ns for p in out.glob("logs/*/*/stats/*.json")
            if (p.parent.parent / "completions" / p.stem).exists()}
    assert done and not (out / "stats.json").exists()

    result = subprocess.run(command(path, out, "--workers", "2"), cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in done.items())  # completed tasks were not rerun
    kept, removed = [r["id"] for r in read(out / "kept")], [r["id"] for r in read(out / "removed")]
    assert sorted(kept + removed) == sorted(r["id"] for r in records)
    assert len(set(kept)) == len(kept) and sum(i.startswith("copy-") or i.startswith("doc-") for i in removed) >= 20
    stats = json.loads((out / "stats.json").read_text())
    assert stats["input"]["documents"] == len(records) and stats["kept"]["documents"] == len(kept)


def test_corpus_prints_the_planted_counts(tmp_path, capsys):
    assert main(["corpus", "--out", str(tmp_path / "c.jsonl.gz"), "--good", "20"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["good"] == 20 and sum(counts.values()) == len(read(tmp_path))
