"""The InfiR recipe file (training/recipe.py): the CPU recipe loads, and every key and value type is checked at load,
the inline pretrain section included, with an error naming where the mistake is."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from infir_edge.errors import InfirEdgeError
from training.pretrain.errors import TrainingError
from training.recipe import ARMS, InfirRecipe, load_recipe, recipe_from_dict
from training.sft.errors import SFTError
from training.sft.seeds import MathSeeds

CPU_RECIPE = Path(__file__).resolve().parents[2] / "training" / "recipes" / "infir_cpu.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CPU_RECIPE.read_text())


def changed(raw: dict, path: str, value) -> dict:
    """A copy of the recipe with the value at 'a.b.c' (a list index as a number; missing sections added) set."""
    raw = copy.deepcopy(raw)
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = raw
    for key in parents:
        node = node[key] if isinstance(key, int) else node.setdefault(key, {})
    node[last] = value
    return raw


def test_the_cpu_recipe_loads():
    recipe = load_recipe(CPU_RECIPE)
    assert isinstance(recipe, InfirRecipe)
    assert recipe.pretrain is not None and "anneal" in recipe.pretrain["stages"]
    assert recipe.synthesis.seeds.math[1] == MathSeeds("multi_step", 400, ops=[2, 3], distractors=[0, 0])
    assert recipe.synthesis.rejection.score_when == "choice" and recipe.synthesis.scorer.kind == "judge"
    assert recipe.synthesis.teacher.concurrency == 2
    assert set(recipe.ablation.arms) <= set(ARMS)
    assert recipe.sft.trainable == "top_layers"


def test_an_empty_recipe_is_the_defaults():
    assert recipe_from_dict({}) == InfirRecipe()


@pytest.mark.parametrize(("path", "named"), [
    ("bogus", "x.yaml: unknown keys ['bogus']"),
    ("synthesis.evolve.bogus", "x.yaml.synthesis.evolve: unknown keys ['bogus']"),
    ("sft.lora.bogus", "x.yaml.sft.lora: unknown keys ['bogus']"),
    ("synthesis.seeds.math.1.bogus", "x.yaml.synthesis.seeds.math[1]: unknown keys ['bogus']"),
    ("targets.bogus", "x.yaml.targets: unknown keys ['bogus']"),
])  # fmt: skip
def test_an_unknown_key_anywhere_is_an_error_naming_its_place(raw, path, named):
    with pytest.raises(SFTError) as error:
        recipe_from_dict(changed(raw, path, 1), source="x.yaml")
    assert named in str(error.value)


@pytest.mark.parametrize(("path", "value"), [
    ("synthesis.seeds.drills", "many"),
    ("synthesis.evolve.rounds", [1, "three"]),
    ("synthesis.evolve.operations", {"deepen": "a lot"}),
    ("synthesis.candidates.teacher_share", "half"),
    ("synthesis.evolve", [1, 3]),
    ("synthesis.seeds.math", {"tier": "one_two_step"}),
    ("eval.items", True),
    ("sft.lora", 8),
])  # fmt: skip
def test_a_value_of_the_wrong_type_is_an_error_naming_its_place(raw, path, value):
    with pytest.raises(SFTError, match=f"x.yaml.{path}:"):
        recipe_from_dict(changed(raw, path, value), source="x.yaml")


def test_reference_items_beyond_items_is_an_error(raw):
    raw = changed(changed(raw, "eval.items", 40), "eval.reference_items", 60)
    with pytest.raises(SFTError, match=r"eval.reference_items \(60\) must not exceed eval.items \(40\)"):
        recipe_from_dict(raw)


def test_an_unknown_ablation_arm_is_an_error(raw):
    with pytest.raises(SFTError, match=r"ablation.arms: unknown \['raw_everything'\]"):
        recipe_from_dict(changed(raw, "ablation.arms", ["rejection_evolved", "raw_everything"]))


@pytest.mark.parametrize(("path", "value", "named"), [
    ("pretrain.bogus", 1, "pretrain: unknown keys ['bogus']"),
    ("pretrain.optim.bogus", 1, "pretrain: optim: unknown keys ['bogus']"),
    ("pretrain.batch.micro_batch", "four", "pretrain: batch"),
])  # fmt: skip
def test_the_inline_pretrain_section_is_checked_at_load(raw, path, value, named):
    with pytest.raises(InfirEdgeError) as error:
        recipe_from_dict(changed(raw, path, value), source="x.yaml")
    assert isinstance(error.value, (SFTError, TrainingError))
    assert named in str(error.value)


def test_the_recipe_file_round_trips_through_as_dict():
    recipe = load_recipe(CPU_RECIPE)
    assert recipe_from_dict(yaml.safe_load(yaml.safe_dump(recipe.as_dict()))) == recipe
