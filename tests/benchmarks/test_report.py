from sample_results import make_cell, sample_results

from benchmarks.report import summary_table, targets, write_report


def test_targets_name_the_figure_and_whether_it_is_met():
    results = sample_results(cells=[
        make_cell("gguf", "q8_0", decode=100.0, roofline=150.0, sdk_over_raw=0.99),
        make_cell("onnx", "int4", decode=50.0, roofline=200.0, sdk_over_raw=0.90),
    ])
    lines = targets(results)
    assert "SDK/raw decode on llamacpp >= 0.97: lowest 0.990 (met)" in lines
    assert "SDK/raw decode on onnxruntime >= 0.97: lowest 0.900 (MISSED)" in lines
    assert any(line.startswith("fastest (gguf q8_0, 100.0 tok/s) at 67% of its roofline") and "(met)" in line
               for line in lines)
    assert "onnx int4 decode within 1.5x of the fastest: 2.00x slower (MISSED)" in lines


def test_report_has_a_row_per_measured_cell_and_lists_the_failed_ones(tmp_path):
    results = sample_results()
    text = write_report(results, tmp_path / "report.md").read_text()
    measured = [c for c in results["cells"] if "error" not in c]
    failed = [c for c in results["cells"] if "error" in c]
    sections = {part.split("\n", 1)[0]: part for part in text.split("## ")}
    for cell in measured:
        for title in ("Speed and memory (SDK)", "SDK against the raw runtime on the same file", "Accuracy"):
            assert f"| {cell['format']} {cell['quant']} |" in sections[title]
    assert failed and all(f"- {c['format']} {c['quant']}: {c['error']}" in text for c in failed)


def test_summary_states_what_auto_picked_and_its_speedup():
    text = summary_table(sample_results())
    auto = sample_results()["auto"]
    assert f"**{auto['speedup_over_baseline']:.2f}x**" in text
