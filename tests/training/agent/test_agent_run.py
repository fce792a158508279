"""`python -m training.agent` end to end on a tiny model: demonstrations, SFT, bundle, benchmark, report."""

from __future__ import annotations

import json

import pytest

from training.agent.__main__ import main
from training.agent.recipe import agent_recipe_from_dict, load_agent_recipe
from training.agent.run import run_agent_recipe
from training.pretrain.errors import TrainingError

BENCH_TASKS = ["toggle_setting", "favorite_contact"]


def _tiny(checkpoint) -> dict:
    return {"heldout_tasks": ["favorite_contact"],
            "demonstrations": {"seeds": 1},
            "sft": {"model": str(checkpoint), "trainable": "full", "max_steps": 2, "micro_batch": 2, "grad_accum": 1,
                    "pack_len": 1024, "max_seq_len": 1024, "save_steps": 1},
            "quant": "f32",
            "bench": {"seed": 0, "max_steps": 2, "tasks": BENCH_TASKS}}


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_checkpoint):
    out = tmp_path_factory.mktemp("agent-run") / "run"
    lines: list[str] = []
    report = run_agent_recipe(agent_recipe_from_dict(_tiny(tiny_checkpoint)), out, echo=lines.append)
    return out, report, lines


def test_the_report_has_the_issues_figures(run):
    out, report, _ = run
    saved = json.loads((out / "report.json").read_text())
    assert {k: v for k, v in report.items() if k != "wall_s"} == saved  # the stage mark adds the report's own time
    assert saved["heldout_tasks"] == ["favorite_contact"] and saved["trained_tasks"] == ["toggle_setting"]
    for key in ("success_rate", "heldout_task_success_rate"):
        assert saved[key] in (0.0, 1.0)  # one task each
    assert saved["median_step_s"] > 0 and saved["policy_steps"] >= 2
    assert "| favorite_contact | yes |" in (out / "report.md").read_text()


def test_held_out_tasks_are_never_demonstrated(run):
    out, _, _ = run
    tasks = {json.loads(line)["task"] for line in (out / "demonstrations" / "train.jsonl").read_text().splitlines()}
    assert "favorite_contact" not in tasks and len(tasks) == 27


def test_the_bundle_is_a_gguf_the_bench_used(run):
    out, report, _ = run
    assert list((out / "bundle").glob("*.gguf")) and report["model"] == str(out / "bundle")
    assert json.loads((out / "bench" / "results.json").read_text())["tasks_run"] == len(BENCH_TASKS)


def test_a_rerun_skips_every_finished_stage(run, tiny_checkpoint):
    out, report, _ = run
    lines: list[str] = []
    assert run_agent_recipe(agent_recipe_from_dict(_tiny(tiny_checkpoint)), out, echo=lines.append) == report
    assert sum("done before, skipped" in line for line in lines) == 5


@pytest.mark.parametrize("change, message", [
    ({"heldout_tasks": ["fly_to_mars"]}, "unknown tasks"),
    ({"demonstrations": {"first_seed": 999}}, "first_seed"),
    ({"bench": {"seed": 1000}}, "evaluation seed"),
    ({"demonstrations": {"rejected": 0.6, "wrong_screen": 0.5}}, "deviation rates"),
])
def test_a_recipe_that_would_leak_or_cannot_work_is_refused(change, message):
    with pytest.raises(TrainingError, match=message):
        agent_recipe_from_dict(change)


def test_the_cpu_recipe_loads_and_holds_out_four_apps_tasks():
    from android_agent.tasks import task_class

    recipe = load_agent_recipe("training/recipes/agent_cpu.yaml")
    assert len(recipe.heldout_tasks) == 4
    assert len({task_class(name).packages for name in recipe.heldout_tasks}) == 4


def test_the_command_exits_2_on_a_bad_recipe(tmp_path, capsys):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("heldout_tasks: [nope]\n")
    assert main(["--recipe", str(recipe), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("error:")
