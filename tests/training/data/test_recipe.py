from __future__ import annotations

from pathlib import Path

import pytest

from training.data.errors import DataError
from training.data.recipe import STAGES, load_recipe
from training.data.stages.dedup import DedupConfig

RECIPES = Path(__file__).resolve().parents[3] / "training" / "recipes"


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_the_cpu_recipe_runs_all_five_stages_locally_on_two_workers():
    recipe = load_recipe(RECIPES / "data_cpu.yaml")
    assert recipe.stages == list(STAGES) and recipe.executor.kind == "local" and recipe.executor.workers == 2
    assert recipe.filter.min_num_sentences == 2 and recipe.dedup == DedupConfig() and recipe.decontam.n_grams == 10


def test_the_paper_recipe_loads_with_slurm_and_thousands_of_tasks():
    recipe = load_recipe(RECIPES / "data_paper.yaml")
    assert recipe.executor.kind == "slurm" and recipe.tasks >= 1000 and recipe.executor.slurm["partition"]


def test_omitted_sections_take_the_literature_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path, "stages: [filter, dedup]\n"))
    assert recipe.stages == ["filter", "dedup"] and recipe.filter.min_num_sentences == 5 and recipe.tasks == 2


@pytest.mark.parametrize(("text", "named"), [
    ("taks: 3\n", "taks"),
    ("filter:\n  min_doc_word: 3\n", "min_doc_word"),
    ("executor:\n  kind: local\n  partition: x\n", "partition"),
])
def test_unknown_keys_are_named(tmp_path, text, named):
    with pytest.raises(DataError, match=named):
        load_recipe(write(tmp_path, text))


@pytest.mark.parametrize(("text", "named"), [
    ("tasks: four\n", "tasks"),
    ("filter:\n  min_doc_words: 2.5\n", "filter.min_doc_words"),
    ("dedup:\n  exact: [yes]\n", "dedup.exact"),
    ("decontam:\n  eval_files: a.jsonl\n", "decontam.eval_files"),
    ("stages: [filter, sort]\n", "sort"),
    ("executor:\n  kind: kubernetes\n", "kubernetes"),
])
def test_wrong_types_and_values_are_named(tmp_path, text, named):
    with pytest.raises(DataError, match=named):
        load_recipe(write(tmp_path, text))


def test_ints_pass_as_floats_and_lists_as_tuples(tmp_path):
    recipe = load_recipe(write(tmp_path, "filter:\n  max_mean_line_length: 80\nrecall:\n  domains: [math]\n"))
    assert recipe.filter.max_mean_line_length == 80 and recipe.recall.domains == ("math",)


def test_a_missing_recipe_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_recipe(tmp_path / "none.yaml")
