"""The benchmark end to end on a tiny random-init model (--repeats 1): what it writes, not how fast it is."""

from __future__ import annotations

import json

import pytest

from benchmarks.bench import DEFAULT_QUANTS, BenchSettings, plan_cells, run_bench, run_job
from infir_edge.cli import main
from infir_edge.errors import InvalidRequestError


def test_formats_alone_plan_their_default_quants():
    assert plan_cells(("gguf",), None) == [("gguf", q) for q in DEFAULT_QUANTS["gguf"]]


def test_each_quant_goes_to_the_formats_that_have_it():
    assert plan_cells(("gguf", "onnx"), ("q8_0", "int8")) == [("gguf", "q8_0"), ("onnx", "int8")]


def test_a_quant_no_requested_format_has_is_refused():
    with pytest.raises(InvalidRequestError, match="8da4w"):
        plan_cells(("gguf",), ("8da4w",))


def test_an_unknown_format_is_refused():
    with pytest.raises(InvalidRequestError, match="tflite"):
        plan_cells(("tflite",), None)


def test_a_finished_job_is_not_run_again(tmp_path):
    job = {"kind": "cell", "bundle": "/nonexistent"}
    saved = tmp_path / "cells" / "x.json"
    first = run_job(job, saved)  # fails: no such bundle, and the failure is recorded, not raised
    assert "error" in first
    from benchmarks.bench import _job_key

    saved.write_text(json.dumps({"job_key": _job_key(job), "job": job, "result": {"decode": 1}}))
    assert run_job(job, saved) == {"decode": 1}


@pytest.fixture(scope="module")
def bench_run(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "out"
    settings = BenchSettings(model=str(tiny_checkpoint), formats=("gguf",), quants=("q8_0",), prompt_tokens=16,
                             new_tokens=8, repeats=1, threads=1)
    return out, run_bench(settings, out, bundles_root=tmp_path_factory.mktemp("bundles"))


def test_results_hold_the_bandwidth_and_time_to_first_token(bench_run):
    out, _ = bench_run
    results = json.loads((out / "results.json").read_text())
    assert any("bandwidth" in key for key in results) and results["memory_bandwidth"]["best_bandwidth_gb_s"] > 0
    cell = results["cells"][0]
    assert "error" not in cell, cell.get("traceback")
    assert any("ttft" in key for key in cell) and cell["ttft_s"]["median"] > 0
    assert results["machine"]["threads"] == 1 and results["machine"]["cpu_model"]


def test_each_cell_has_the_raw_ratio_roofline_and_accuracy(bench_run):
    cell = bench_run[1]["cells"][0]
    assert cell["raw"]["runtime"] == "llama-cpp-python" and cell["raw"]["sdk_over_raw_decode"] > 0
    assert cell["roofline"]["decode_tok_s"] > 0 and cell["roofline"]["sdk_fraction"] > 0
    assert cell["accuracy"]["wikipedia"]["perplexity"] > 1
    assert cell["accuracy"]["arithmetic"]["problems"] == 24
    assert cell["prompt_tokens"] == 16


def test_the_report_and_at_least_two_plots_are_written(bench_run):
    out, _ = bench_run
    assert "| gguf q8_0 |" in (out / "report.md").read_text()
    plots = sorted(p.name for p in out.glob("*.png"))
    assert len(plots) >= 2 and all((out / p).read_bytes()[:4] == b"\x89PNG" for p in plots)


def test_auto_is_compared_with_llama_cpp_defaults(bench_run):
    auto = bench_run[1]["auto"]
    assert "error" not in auto, auto.get("traceback")
    assert auto["baseline"]["runtime"].startswith("llama-cpp-python") and auto["speedup_over_baseline"] > 0
    assert {p["label"] for p in auto["probe"]} == {"model", "gguf-q8_0"}


def test_earlier_results_are_not_overwritten_without_the_flag(bench_run, tiny_checkpoint, capsys):
    out, _ = bench_run
    code = main(["bench", "--model", str(tiny_checkpoint), "--formats", "gguf", "--quants", "q8_0", "--out", str(out)])
    assert code == 2 and "--overwrite" in capsys.readouterr().err
