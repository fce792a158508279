from __future__ import annotations

import pytest

from training.data.sources import read_jsonl
from training.pretrain.builtin_data import ensure_training_data
from training.pretrain.config import BuiltinData
from training.pretrain.errors import TrainingError


def test_missing_data_is_built_from_the_builtin_corpora(tmp_path):
    kept = tmp_path / "data" / "kept"
    build = BuiltinData(stages=["filter"], wiki=20, code=2, math=20)
    ensure_training_data(kept, build, echo=lambda line: None)
    documents = [d for f in kept.glob("*.jsonl.gz") for d in read_jsonl(f)]
    assert {d["metadata"]["domain"] for d in documents} == {"web", "code", "math"}
    assert 30 <= len(documents) <= 42  # the heuristic filter may drop a few


def test_a_folder_the_user_gave_is_used_as_it_is(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    ensure_training_data(kept, BuiltinData(), echo=lambda line: pytest.fail(line))


def test_without_a_build_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(TrainingError, match="does not exist"):
        ensure_training_data(tmp_path / "kept", None, echo=print)
