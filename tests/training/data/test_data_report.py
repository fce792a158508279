"""report.py's tests (named test_data_report: tests/benchmarks/test_report.py holds the benchmarks')."""

from __future__ import annotations

import gzip
import json

from training.data.report import count_documents, count_removed, reader_counters, render


def write(path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def test_documents_and_characters_are_counted_over_every_file(tmp_path):
    write(tmp_path / "00000.jsonl.gz", [{"id": "a", "text": "abc"}, {"id": "b", "text": "de"}])
    write(tmp_path / "00003.jsonl.gz", [{"id": "c", "text": "f"}])
    assert count_documents(tmp_path) == {"documents": 3, "characters": 6}


def test_removed_documents_are_counted_per_rule_and_reason(tmp_path):
    write(tmp_path / "gopher_quality" / "00000.jsonl.gz", [
        {"id": "a", "text": "ab", "metadata": {"filter_reason": "gopher_short_doc"}},
        {"id": "b", "text": "abc", "metadata": {"filter_reason": "gopher_short_doc"}},
        {"id": "c", "text": "x", "metadata": {"filter_reason": "gopher_below_alpha_threshold"}}])
    write(tmp_path / "auto_generated" / "00001.jsonl.gz", [{"id": "d", "text": "y"}])
    assert count_removed(tmp_path) == {
        "auto_generated": {"documents": 1, "characters": 1, "reasons": {"auto_generated": 1}},
        "gopher_quality": {"documents": 3, "characters": 6,
                           "reasons": {"gopher_short_doc": 2, "gopher_below_alpha_threshold": 1}}}


def test_reader_counters_merge_every_task_and_do_not_double_count_executors(tmp_path):
    def stats(executor: str, rank: int, malformed: int) -> None:
        folder = tmp_path / executor / "stats"
        folder.mkdir(parents=True, exist_ok=True)
        steps = [{"name": "reader", "stats": {"malformed_lines": {"total": malformed}, "documents": 5}},
                 {"name": "writer", "stats": {"total": 5}}]
        (folder / f"{rank:05d}.json").write_text(json.dumps(steps))

    for executor in ("exact_signatures", "exact_filter"):  # two executors read the same input
        stats(executor, 0, 2)
        stats(executor, 1, 1)
    assert reader_counters(tmp_path) == {"malformed_lines": 3, "truncated_files": 0, "missing_text": 0}


def test_the_report_shows_stages_rules_and_planted_rates():
    stats = {"input": {"documents": 10, "characters": 100, "malformed_lines": 1, "truncated_files": 0,
                       "missing_text": 0},
             "stages": [{"name": "filter", "documents_in": 10, "characters_in": 100, "documents_out": 8,
                         "characters_out": 90, "wall_s": 2.0, "workers": 2, "documents_per_s": 5.0,
                         "removed": {"c4_quality": {"documents": 2, "characters": 10,
                                                    "reasons": {"too_few_sentences": 2}}}}],
             "kept": {"documents": 8, "characters": 90},
             "planted": {"junk_removed": {"numerator": 9, "denominator": 10, "rate": 0.9}, "unaccounted": 0}}
    text = render(stats)
    assert "| filter | 10 | 8 | 100 | 90 | 2.0 | 5.0 | 2 |" in text
    assert "| filter | c4_quality | too_few_sentences: 2 | 2 | 10 |" in text
    assert "malformed lines skipped: 1" in text and "| junk_removed | 9 / 10 (90.0%) |" in text
