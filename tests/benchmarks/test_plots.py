"""benchmarks.plots: the PNGs of a results.json, and the Pareto front they draw."""

from __future__ import annotations

import pytest
from sample_results import error_cell, make_cell, sample_results

from benchmarks.plots import pareto_front, write_plots

ALL_PLOTS = {"decode.png", "prefill.png", "memory.png", "accuracy_vs_size.png"}


@pytest.fixture(scope="module")
def sample_plots(tmp_path_factory):
    """The plots of the sample results, drawn once (a second per call): (directory, paths returned)."""
    out = tmp_path_factory.mktemp("plots")
    return out, write_plots(sample_results(), out)


def test_write_plots_writes_every_plot(sample_plots):
    _, written = sample_plots
    assert {p.name for p in written} == ALL_PLOTS


@pytest.mark.parametrize("name", sorted(ALL_PLOTS))
def test_each_plot_is_a_png(sample_plots, name):
    out, _ = sample_plots
    assert (out / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_returned_paths_are_the_files_written(sample_plots):
    out, written = sample_plots
    assert sorted(written) == sorted(out.iterdir())


def test_an_errored_cell_is_skipped(tmp_path):
    results = sample_results(cells=[error_cell("gguf", "q4_0"), make_cell("gguf", "q8_0")])
    assert {p.name for p in write_plots(results, tmp_path)} == ALL_PLOTS


def test_only_errored_cells_write_no_plot(tmp_path):
    assert write_plots(sample_results(cells=[error_cell("gguf", "q4_0")]), tmp_path) == []


def test_no_accuracy_means_no_accuracy_plot(tmp_path):
    results = sample_results(cells=[make_cell("gguf", "q8_0", perplexity=None),
                                    make_cell("onnx", "int8", perplexity=None)])
    names = {p.name for p in write_plots(results, tmp_path)}
    assert "accuracy_vs_size.png" not in names and not (tmp_path / "accuracy_vs_size.png").exists()


def test_cells_without_raw_still_plot(tmp_path):
    results = sample_results(cells=[make_cell("gguf", "q8_0", sdk_over_raw=None)])
    assert {p.name for p in write_plots(results, tmp_path)} == ALL_PLOTS


def test_pareto_front_lower_is_better():
    # (size, perplexity): 1 is beaten by 0 (smaller and better), 3 by 2 (same size, worse)
    points = [(100.0, 20.0), (150.0, 25.0), (200.0, 18.0), (200.0, 19.0), (50.0, 40.0)]
    assert pareto_front(points) == [4, 0, 2]


def test_pareto_front_higher_is_better():
    # (size, accuracy): 1 is beaten by 0 (smaller and more accurate), 3 by 2 (same size, less accurate)
    points = [(100.0, 0.5), (150.0, 0.4), (200.0, 0.7), (200.0, 0.6), (50.0, 0.1)]
    assert pareto_front(points, lower_is_better=False) == [4, 0, 2]


def test_pareto_front_keeps_identical_points():
    assert pareto_front([(1.0, 2.0), (1.0, 2.0)]) == [0, 1]


def test_pareto_front_of_nothing_is_empty():
    assert pareto_front([]) == []
