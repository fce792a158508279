from __future__ import annotations

import json
import subprocess
import sys

import pytest

from training.eval.cli import main


@pytest.fixture(scope="module")
def tiny_run(tiny_gguf, tmp_path_factory):
    """`--limit 2` on the tiny GGUF, all three suites, once for the tests that read its output."""
    out = tmp_path_factory.mktemp("eval") / "run"
    code = main(["--model", str(tiny_gguf), "--suites", "humaneval,math,ppl", "--limit", "2", "--out", str(out),
                 "--threads", "1"])  # one thread: llama.cpp's spinning threads crawl on a busy shared CPU
    return code, out


def test_it_writes_results_report_and_records_of_three_suites(tiny_run):
    code, out = tiny_run
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["suites"]) == ["humaneval", "math", "ppl"]
    assert results["model"]["backend"] == "llamacpp"
    assert results["settings"]["limit"] == 2
    assert set(results["wall_s"]) == {"humaneval", "math", "ppl"}
    lines = {name: (out / f"{name}.jsonl").read_text().splitlines() for name in results["suites"]}
    assert {name: len(rows) for name, rows in lines.items()} == {"humaneval": 2, "math": 4, "ppl": 2}
    report = (out / "report.md").read_text()
    assert "| humaneval | pass@1" in report and "| ppl | perplexity |" in report


def test_an_existing_out_is_refused_without_overwrite(tiny_run, tiny_gguf, capsys):
    _, out = tiny_run
    before = (out / "results.json").read_bytes()
    code = main(["--model", str(tiny_gguf), "--suites", "ppl", "--limit", "1", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--overwrite" in err
    assert (out / "results.json").read_bytes() == before


def test_an_unknown_suite_exits_2_with_one_error_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "training.eval", "--model", "default", "--suites", "math,poetry",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2
    expected = "error: unknown suite(s): poetry (choose from humaneval, math, ppl, word_problems)"
    assert run.stderr.splitlines() == [expected]
    assert not (tmp_path / "out").exists()


def test_a_nonexistent_model_exits_2(tmp_path, capsys):
    code = main(["--model", str(tmp_path / "missing.gguf"), "--suites", "ppl", "--out", str(tmp_path / "out")])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "out").exists()
