from __future__ import annotations

import ast
import gzip
import json

from training.data.sources import builtin_documents, code_chunks, read_jsonl, write_jsonl


def test_counts_domains_and_datatrove_format():
    documents = list(builtin_documents(wiki=5, code=4, math=3, seed=1))
    domains = [d["metadata"]["domain"] for d in documents]
    assert domains == ["web"] * 5 + ["code"] * 4 + ["math"] * 3
    assert all(set(d) == {"text", "id", "metadata"} and d["text"] and d["metadata"]["source"] for d in documents)
    assert len({d["id"] for d in documents}) == len(documents)


def test_the_seed_picks_the_order_deterministically():
    first = [d["id"] for d in builtin_documents(wiki=6, code=3, math=2, seed=0)]
    assert first == [d["id"] for d in builtin_documents(wiki=6, code=3, math=2, seed=0)]
    assert first != [d["id"] for d in builtin_documents(wiki=6, code=3, math=2, seed=1)]


def test_code_documents_parse_and_are_capped():
    for document in builtin_documents(wiki=0, code=60, math=0, seed=2):
        assert len(document["text"]) <= 20_000
        ast.parse(document["text"])
        assert "do not edit" not in document["text"][:500].lower()


def test_big_classes_are_cut_at_methods_into_parseable_pieces():
    methods = "".join(f"    def method_{i}(self):\n        return {i}\n\n" for i in range(50))
    source = f'"""Module."""\nimport os\n\n\nclass Big:\n    """Doc."""\n\n{methods}\nX = 1\n'
    chunks = code_chunks(source, limit=400)
    assert len(chunks) > 3 and all(len(chunk) <= 400 for chunk in chunks)
    for chunk in chunks:
        ast.parse(chunk)
    assert sum(chunk.count("def method_") for chunk in chunks) == 50


def test_write_jsonl_gzip_and_plain_round_trip(tmp_path):
    documents = [{"text": "é", "id": "a", "metadata": {"domain": "web"}}, {"text": "b", "id": "b", "metadata": {}}]
    assert write_jsonl(documents, tmp_path / "x.jsonl.gz") == 2
    assert write_jsonl(documents, tmp_path / "x.jsonl") == 2
    with gzip.open(tmp_path / "x.jsonl.gz", "rt", encoding="utf-8") as f:
        assert [json.loads(line) for line in f] == documents
    assert list(read_jsonl(tmp_path / "x.jsonl")) == documents
    assert not list(tmp_path.glob(".*tmp"))  # written atomically: no temporary file left
