"""VL recipes: both shipped recipes load; what a typo would break an hour in is refused at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from training.pretrain.errors import TrainingError
from training.vl.recipe import load_vl_recipe, tower_shape, vl_recipe_from_dict

RECIPES = Path(__file__).parents[3] / "training" / "recipes"


def _cpu() -> dict:
    return yaml.safe_load((RECIPES / "vl_cpu.yaml").read_text())


@pytest.mark.parametrize("name", ["vl_cpu.yaml", "vl_paper.yaml"])
def test_the_shipped_recipes_load(name):
    recipe = load_vl_recipe(RECIPES / name)
    assert [s.name for s in recipe.stages] == ["stage1", "stage2", "stage3"]


def test_the_cpu_recipe_follows_the_papers_freeze_plan_for_stages_one_and_two():
    stages = load_vl_recipe(RECIPES / "vl_cpu.yaml").stages
    assert stages[0].train == ["projector"] and set(stages[1].train) == {"projector", "lm"}


def test_a_shape_override_changes_the_presets_tower():
    raw = _cpu()
    raw["model"]["shape"] = {"num_hidden_layers": 2}
    assert tower_shape(vl_recipe_from_dict(raw).model).num_hidden_layers == 2


@pytest.mark.parametrize("change, message", [
    (lambda r: r["stages"].pop(), "stage1, stage2, stage3"),
    (lambda r: r["stages"][0].update(train=["eyes"]), "choose from"),
    (lambda r: r["stages"][1].update(data={"photos": 3}), "unknown data set"),
    (lambda r: r["stages"][0].update(data={"captions": 0}), "data.captions names no folder"),
    (lambda r: r["export"].update(formats=["tflite"]), "gguf|onnx|executorch"),
    (lambda r: r["export"].update(formats=["onnx:f32"]), "one of fp32"),
    (lambda r: r["data"]["render"].update(colour="pink"), "data.render"),
    (lambda r: r["model"].update(shape={"fingers": 5}), "model.preset/shape"),
    (lambda r: r["model"].update(preset="giant"), "model.preset/shape"),
    (lambda r: r["data"].update(grounding="many"), "grounding"),
])
def test_mistakes_are_refused_when_the_recipe_loads(change, message):
    raw = _cpu()
    change(raw)
    with pytest.raises(TrainingError, match=message):
        vl_recipe_from_dict(raw)
