from __future__ import annotations

from collections import Counter

import pytest

from infir_edge.corpora import humaneval_problems
from training.data.corpus import build_mixed_corpus, planted_rates, shingle_jaccard
from training.data.sources import read_jsonl, write_jsonl
from training.eval.arithmetic import eval_set_files, load_eval_set


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl.gz"
    counts = build_mixed_corpus(path, good=60, seed=0)
    return path, counts, list(read_jsonl(path))


def test_counts_per_planted_kind(corpus):
    _, counts, documents = corpus
    assert counts == {"good": 60, "near_dup": 6, "contamination": 3, "junk": 6}
    assert Counter(d["metadata"]["planted"] for d in documents) == counts


def test_good_documents_mix_domains_60_20_20_and_are_long_enough(corpus):
    good = [d for d in corpus[2] if d["metadata"]["planted"] == "good"]
    assert Counter(d["metadata"]["domain"] for d in good) == {"web": 36, "code": 12, "math": 12}
    assert all(len(d["text"]) >= 300 for d in good)


def test_ids_are_unique_and_the_file_is_stable_per_seed(corpus, tmp_path):
    path, _, documents = corpus
    assert len({d["id"] for d in documents}) == len(documents)
    build_mixed_corpus(tmp_path / "again.jsonl.gz", good=60, seed=0)
    assert (tmp_path / "again.jsonl.gz").read_bytes() == path.read_bytes()
    build_mixed_corpus(tmp_path / "other.jsonl.gz", good=60, seed=1)
    assert {d["id"] for d in read_jsonl(tmp_path / "other.jsonl.gz")} != {d["id"] for d in documents}


def test_near_duplicates_are_near_and_include_exact_copies(corpus):
    by_id = {d["id"]: d for d in corpus[2]}
    copies = [d for d in corpus[2] if d["metadata"]["planted"] == "near_dup"]
    originals = [by_id[d["metadata"]["near_dup_of"]] for d in copies]
    assert all(o["metadata"]["planted"] == "good" for o in originals)
    assert all(shingle_jaccard(c["text"], o["text"]) >= 0.7 for c, o in zip(copies, originals, strict=True))
    assert any(c["text"] == o["text"] for c, o in zip(copies, originals, strict=True))
    assert any(c["text"] != o["text"] for c, o in zip(copies, originals, strict=True))


def test_contamination_embeds_its_evaluation_item(corpus):
    items = {item["id"]: item for path in eval_set_files() for item in load_eval_set(path)}
    humaneval = {p["task_id"]: p for p in humaneval_problems()}
    for document in (d for d in corpus[2] if d["metadata"]["planted"] == "contamination"):
        reference = document["metadata"]["contaminated_with"]
        if reference in humaneval:
            assert humaneval[reference]["prompt"] + humaneval[reference]["canonical_solution"] in document["text"]
        else:
            assert items[reference]["question"] in document["text"]


def test_junk_comes_in_different_kinds(corpus):
    kinds = [d["metadata"]["junk_kind"] for d in corpus[2] if d["metadata"]["planted"] == "junk"]
    assert len(set(kinds)) == len(kinds) == 6


def _document(id_: str, **metadata) -> dict:
    return {"text": f"text of {id_}", "id": id_, "metadata": {"domain": "web", **metadata}}


def test_planted_rates_on_a_hand_made_run(tmp_path):
    corpus = [
        _document("g1", planted="good"), _document("g2", planted="good"), _document("g3", planted="good"),
        _document("d1", planted="near_dup", near_dup_of="g1"), _document("d2", planted="near_dup", near_dup_of="g2"),
        _document("c1", planted="contamination", contaminated_with="HumanEval/0"),
        _document("c2", planted="contamination", contaminated_with="multi_step_arithmetic/0001"),
        _document("j1", planted="junk", junk_kind="lorem_ipsum"),
    ]  # fmt: skip
    write_jsonl(corpus, tmp_path / "corpus.jsonl")
    run = tmp_path / "run"
    write_jsonl([_document("g1"), _document("g2"), _document("d2"), _document("c2")], run / "kept" / "00000.jsonl.gz")
    write_jsonl([_document("j1", filter_reason="lorem_ipsum")], run / "removed" / "filter" / "c4" / "00000.jsonl.gz")
    write_jsonl([_document("d1", filter_reason="minhash")], run / "removed" / "dedup" / "00001.jsonl.gz")
    write_jsonl([_document("c1", filter_reason="contaminated")], run / "removed" / "decontam" / "00000.jsonl.gz")
    removed_good = _document("g3", filter_reason="too_few_sentences")
    write_jsonl([removed_good], run / "removed" / "filter" / "c4" / "00001.jsonl.gz")

    rates = planted_rates(tmp_path / "corpus.jsonl", run)

    assert rates["contamination_removed"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert rates["junk_removed"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert rates["near_dup_pairs_resolved"] == {"numerator": 1, "denominator": 2, "rate": 0.5}  # g2 and d2 both kept
    assert rates["good_kept"] == {"numerator": 2, "denominator": 3, "rate": 2 / 3}
    assert rates["removed_by_stage"] == {"decontam": {"contamination": 1}, "dedup": {"near_dup": 1},
                                         "filter": {"good": 1, "junk": 1}}  # fmt: skip
    assert rates["unaccounted"] == 0
