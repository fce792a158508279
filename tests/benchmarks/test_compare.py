"""benchmarks.compare and `infir-edge bench --compare`: ratios B / A of two results.json files."""

from __future__ import annotations

import json

import pytest
from sample_results import error_cell, make_cell, sample_results

from benchmarks.compare import compare_files, compare_results
from infir_edge.cli import main
from infir_edge.errors import InvalidRequestError


def _row(table: str, cell: str, metric: str) -> list[str]:
    """The A, B and B/A columns of one table row."""
    for line in table.splitlines():
        if line.startswith(cell) and line[len(cell):].strip().startswith(metric + " "):
            return line[len(cell):].strip()[len(metric):].split()
    raise AssertionError(f"no row {cell} / {metric} in:\n{table}")


@pytest.fixture()
def two_runs():
    a = sample_results(cells=[make_cell("gguf", "q8_0", decode=50.0, ttft=0.2, perplexity=20.0),
                              make_cell("onnx", "int8")])
    b = sample_results(cells=[make_cell("gguf", "q8_0", decode=75.0, ttft=0.1, perplexity=22.0),
                              make_cell("executorch", "8da4w")])
    b["memory_bandwidth"]["best_bandwidth_gb_s"] = 30.0
    b["machine"]["cpu_model"] = "Other CPU 1"
    return a, b


def _write(tmp_path, name: str, results: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(results))
    return str(path)


def test_decode_ratio_is_b_over_a(two_runs):
    assert _row(compare_results(*two_runs), "gguf q8_0", "decode tok/s") == ["50.0", "75.0", "1.500"]


def test_ttft_is_shown_in_milliseconds(two_runs):
    assert _row(compare_results(*two_runs), "gguf q8_0", "ttft ms") == ["200.0", "100.0", "0.500"]


def test_perplexity_ratio(two_runs):
    assert _row(compare_results(*two_runs), "gguf q8_0", "perplexity") == ["20.000", "22.000", "1.100"]


def test_bandwidth_ratio_in_header(two_runs):
    assert "bandwidth B/A: 1.500" in compare_results(*two_runs)


def test_header_names_both_cpus(two_runs):
    text = compare_results(*two_runs)
    assert "A: Test CPU 9000, 4 threads" in text and "B: Other CPU 1, 4 threads" in text


def test_cells_only_in_one_run_are_named(two_runs):
    lines = compare_results(*two_runs).splitlines()
    assert "only in A: onnx int8" in lines and "only in B: executorch 8da4w" in lines


def test_cells_only_in_one_run_have_no_rows(two_runs):
    text = compare_results(*two_runs)
    assert not any(line.startswith(("onnx int8", "executorch 8da4w")) for line in text.splitlines())


def test_missing_figure_prints_a_dash(two_runs):
    a, b = two_runs
    b["cells"][0] = make_cell("gguf", "q8_0", perplexity=None)
    assert _row(compare_results(a, b), "gguf q8_0", "perplexity") == ["20.000", "-", "-"]


def test_errored_cell_is_named(two_runs):
    a, b = two_runs
    b["cells"][0] = error_cell("gguf", "q8_0", "BackendError: crashed")
    assert "error in B gguf q8_0: BackendError: crashed" in compare_results(a, b).splitlines()


def test_differing_settings_are_named(two_runs):
    a, b = two_runs
    b["settings"]["new_tokens"] = 128
    assert "differs: new_tokens 64 (A) vs 128 (B)" in compare_results(a, b).splitlines()


def test_compare_files_reads_both(tmp_path, two_runs):
    text = compare_files(_write(tmp_path, "a.json", two_runs[0]), _write(tmp_path, "b.json", two_runs[1]))
    assert _row(text, "gguf q8_0", "decode tok/s") == ["50.0", "75.0", "1.500"]


def test_non_json_file_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json {")
    with pytest.raises(InvalidRequestError, match="bad.json"):
        compare_files(bad, _write(tmp_path, "b.json", sample_results()))


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InvalidRequestError, match="absent.json"):
        compare_files(tmp_path / "absent.json", _write(tmp_path, "b.json", sample_results()))


def test_json_without_cells_is_refused(tmp_path):
    other = _write(tmp_path, "other.json", {"results_version": 1})
    with pytest.raises(InvalidRequestError, match="other.json"):
        compare_files(_write(tmp_path, "a.json", sample_results()), other)


def test_cli_compare_prints_the_table(tmp_path, capsys, two_runs):
    a, b = _write(tmp_path, "a.json", two_runs[0]), _write(tmp_path, "b.json", two_runs[1])
    assert main(["bench", "--compare", a, b]) == 0
    assert _row(capsys.readouterr().out, "gguf q8_0", "decode tok/s") == ["50.0", "75.0", "1.500"]


def test_cli_compare_bad_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert main(["bench", "--compare", str(bad), _write(tmp_path, "b.json", sample_results())]) == 2
    assert "bad.json" in capsys.readouterr().err
