from __future__ import annotations

from pathlib import Path

import pytest

from training.pretrain.config import load_recipe, recipe_from_dict
from training.pretrain.errors import TrainingError

RECIPES = Path(__file__).parents[3] / "training" / "recipes"


def minimal(**changes) -> dict:
    raw = {"stages": {"pretrain": {"tokens": 1024, "mixture": [{"name": "web", "domain": "web", "weight": 1}]}}}
    raw.update(changes)
    return raw


def test_cpu_recipe_runs_both_stages_in_minutes_of_steps():
    recipe = load_recipe(RECIPES / "pretrain_cpu.yaml")
    assert recipe.model.source == "default"
    assert list(recipe.stages) == ["pretrain", "anneal"]
    assert {s.domain for s in recipe.stages["anneal"].mixture} == {"code", "math"}  # web dropped, code kept
    assert recipe.stage_steps("pretrain") + recipe.stage_steps("anneal") <= 64


def test_paper_recipe_has_the_papers_token_budgets_on_eight_gpus():
    recipe = load_recipe(RECIPES / "pretrain_paper.yaml")
    assert recipe.stages["pretrain"].tokens == 900_000_000_000
    assert recipe.stages["anneal"].tokens == 40_000_000_000
    assert recipe.batch.global_batch % (recipe.batch.micro_batch * 8) == 0
    assert recipe.train.precision == "bf16"
    assert "web" not in {s.domain for s in recipe.stages["anneal"].mixture}


def test_unknown_key_is_named():
    with pytest.raises(TrainingError, match="unknown keys \\['lr_peak'\\]"):
        recipe_from_dict(minimal(optim={"lr_peak": 1e-3}))


def test_wrong_type_is_named():
    with pytest.raises(TrainingError, match="data.seq_len: expected int"):
        recipe_from_dict(minimal(data={"seq_len": "long"}))


def test_global_batch_must_split_into_micro_batches():
    with pytest.raises(TrainingError, match="multiple of batch.micro_batch"):
        recipe_from_dict(minimal(batch={"micro_batch": 3, "global_batch": 8}))


def test_a_stage_needs_a_mixture():
    with pytest.raises(TrainingError, match="non-empty list of sources"):
        recipe_from_dict({"stages": {"anneal": {"tokens": 10, "mixture": []}}})


def test_warmup_longer_than_pretraining_is_refused():
    with pytest.raises(TrainingError, match="warmup_steps"):
        recipe_from_dict(minimal(optim={"warmup_steps": 1000}))


def test_infir_1b_preset_has_llama_3_2_1b_size():
    import torch
    from transformers import LlamaForCausalLM

    from infir_edge.models.infir import preset_config

    with torch.device("meta"):
        model = LlamaForCausalLM(preset_config("infir-1b"))
    unique = {id(p): p.numel() for p in model.parameters()}  # the tied LM head counted once
    assert 1.23e9 < sum(unique.values()) < 1.24e9
