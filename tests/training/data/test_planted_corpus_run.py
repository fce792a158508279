"""The issue's acceptance on a small planted corpus: filter, dedup and decontam through the command."""

from __future__ import annotations

import json

import pytest

from training.data.cli import main
from training.data.corpus import build_mixed_corpus, planted_rates


@pytest.fixture(scope="module")
def rates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    corpus = folder / "corpus.jsonl.gz"
    build_mixed_corpus(corpus, good=200, seed=11)
    assert main(["run", "--recipe", "training/recipes/data_cpu.yaml", "--input", str(corpus), "--out",
                 str(folder / "out"), "--stages", "filter,dedup,decontam", "--workers", "2"]) == 0
    assert "good_kept" in (folder / "out" / "report.md").read_text()
    json.loads((folder / "out" / "stats.json").read_text())
    return planted_rates(corpus, folder / "out")


def test_contamination_is_removed(rates):
    assert rates["contamination_removed"]["rate"] >= 0.9


def test_junk_is_removed(rates):
    assert rates["junk_removed"]["rate"] >= 0.8


def test_near_duplicate_pairs_are_resolved(rates):
    assert rates["near_dup_pairs_resolved"]["rate"] >= 0.8


def test_good_documents_are_kept(rates):
    assert rates["good_kept"]["rate"] >= 0.85 and rates["unaccounted"] == 0
