from __future__ import annotations

import gzip
import json
import random

import pytest

from training.data.errors import DataError
from training.data.executors import ExecutorSettings
from training.data.stages.base import StageContext
from training.data.stages.dedup import DedupConfig, DedupStage

WORDS = [f"{a}{b}{c}" for a in "bcdfgklmnprst" for b in "aeiou" for c in "lmnrst"]


def words(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(count)]


def read(folder) -> list[dict]:
    return [json.loads(line) for file in sorted(folder.rglob("*.jsonl.gz")) for line in gzip.open(file, "rt")]


@pytest.fixture(scope="module")
def deduplicated(tmp_path_factory):
    """30 distinct documents, 4 exact copies (whitespace changed), 4 near copies (2 of 120 words changed) and 5
    templated problems that differ only in their numbers; the stage run once with 2 tasks."""
    rng = random.Random(0)
    originals = [words(rng, 120) for _ in range(30)]
    records = [{"id": f"orig-{i}", "text": " ".join(w), "metadata": {"domain": "web"}} for i, w in enumerate(originals)]
    records += [{"id": f"exact-{i}", "text": "  ".join(originals[i]) + "\n", "metadata": {"domain": "web"}}
                for i in range(4)]
    for i in range(4, 8):
        near = list(originals[i])
        near[30], near[90] = "changed", "words"
        records.append({"id": f"near-{i}", "text": " ".join(near), "metadata": {"domain": "web"}})
    template = "A train travels {} km in {} hours and then {} km in {} hours. What is its average speed over the trip?"
    records += [{"id": f"math-{i}", "text": template.format(*(rng.randrange(10, 999) for _ in range(4))),
                 "metadata": {"domain": "math"}} for i in range(5)]
    root = tmp_path_factory.mktemp("dedup")
    (root / "in").mkdir()
    rng.shuffle(records)
    for part in range(3):
        with gzip.open(root / "in" / f"{part}.jsonl.gz", "wt") as f:
            f.writelines(json.dumps(r) + "\n" for r in records[part::3])
    context = StageContext(input_folder=str(root / "in"), input_glob=None, first=True,
                           output_folder=str(root / "out"), removed_folder=str(root / "removed"),
                           work_folder=str(root / "work"), logs_folder=str(root / "logs"), tasks=2,
                           executor=ExecutorSettings(workers=1))
    DedupStage(DedupConfig()).executors(context)[-1].run()
    return root, records


def test_every_copy_is_removed_and_one_of_each_pair_kept(deduplicated):
    root, records = deduplicated
    kept = {r["id"] for r in read(root / "out")}
    removed = {r["id"] for r in read(root / "removed")}
    assert len(kept) == len(records) - 8 and not kept & removed
    for i in range(8):
        copy = f"exact-{i}" if i < 4 else f"near-{i}"
        assert (f"orig-{i}" in kept) != (copy in kept)


def test_removed_documents_carry_their_phase_as_reason(deduplicated):
    root, _ = deduplicated
    reasons = {folder.name: {r["metadata"]["filter_reason"] for r in read(folder)}
               for folder in (root / "removed").iterdir()}
    assert reasons == {"exact_duplicate": {"exact_duplicate"}, "minhash_near_duplicate": {"minhash_near_duplicate"}}
    assert len(read(root / "removed" / "exact_duplicate")) == 4


def test_problems_that_differ_only_in_numbers_are_not_duplicates(deduplicated):
    root, _ = deduplicated
    assert sum(r["id"].startswith("math-") for r in read(root / "out")) == 5


def test_a_rerun_redoes_nothing(deduplicated):
    root, records = deduplicated
    context = StageContext(str(root / "in"), None, True, str(root / "out"), str(root / "removed"),
                           str(root / "work"), str(root / "logs"), 2, ExecutorSettings(workers=1))
    executors = DedupStage(DedupConfig()).executors(context)
    assert len(executors) == 7 and all(not e.get_incomplete_ranks() for e in executors)


def test_both_phases_off_is_refused():
    with pytest.raises(DataError, match="both off"):
        DedupStage(DedupConfig(exact=False, minhash=False))
