from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from training.data.sources import builtin_documents, write_jsonl


@pytest.fixture(scope="session")
def kept_documents(tmp_path_factory) -> Path:
    """A small kept/ folder as the data pipeline writes it: web, code and math documents."""
    folder = tmp_path_factory.mktemp("data") / "kept"
    folder.mkdir()
    write_jsonl(builtin_documents(wiki=60, code=6, math=60, seed=0), folder / "00000.jsonl.gz")
    return folder


def tiny_recipe(checkpoint: Path, kept: Path, **overrides) -> dict:
    """A recipe of 8 pretrain + 4 anneal steps of 4 x 64 tokens on the tiny checkpoint (seconds on 2 cores)."""
    recipe = {
        "model": {"source": str(checkpoint)},
        "data": {"kept": str(kept), "build_if_missing": None, "seq_len": 64, "document_separator": "<|endoftext|>",
                 "tokenize_tasks": 1, "tokenize_executor": {"workers": 1}},
        "stages": {
            "pretrain": {"tokens": 2048, "mixture": [{"name": "web", "domain": "web", "weight": 0.5},
                                                     {"name": "math", "domain": "math", "weight": 0.5}]},
            "anneal": {"tokens": 1024, "mixture": [{"name": "math", "domain": "math", "weight": 1.0}]},
        },
        "optim": {"lr": 1.0e-3, "warmup_steps": 2},
        "batch": {"micro_batch": 2, "global_batch": 4},
        "train": {"checkpoint_every": 3, "threads": 1},
    }
    for key, value in overrides.items():
        recipe[key] = {**recipe[key], **value}
    return recipe


def write_recipe(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe))
    return path
