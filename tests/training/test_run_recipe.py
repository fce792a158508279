"""The whole InfiR recipe (training/run_recipe.py, `python -m training run`) on the tiny checkpoint: one run of every
stage into a folder, then what it left there (stage marks, the report and its targets, the bundle as the only GGUF),
a rerun that skips everything, the ablation command on the same folder (figures without weights, its own report), and
the command's refusals (another recipe in the folder without --overwrite, an unknown --stop-after, an unknown recipe
key). Also `targets_met` by hand."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import infir_edge
from training.recipe import InfirRecipe, recipe_from_dict
from training.recipe_report import targets_met, wilson
from training.run_recipe import STAGES, run_ablation, run_recipe
from training.sft.errors import SFTError

REPO = Path(__file__).resolve().parents[2]
ARMS = ["rejection_evolved", "raw_evolved"]


def tiny_raw(model: Path) -> dict:
    """A recipe of every stage in ~25 s on 2 cores: no annealing, no teacher (no server), 2 items per tier."""
    return {
        "pretrain": None,
        "sft": {
            "model": str(model),
            "trainable": "full",
            "max_steps": 2,
            "micro_batch": 1,
            "grad_accum": 1,
            "pack_len": 512,
            "max_seq_len": 512,
            "save_steps": 1,
            "threads": 1,
        },
        "synthesis": {
            "seeds": {"math": [{"tier": "one_two_step", "count": 6}], "drills": 2, "code": 2},
            "evolve": {"per_seed": 1, "teacher_rewrite": 0.0},
            "candidates": {"teacher_n": 0},
            "scorer": {"kind": "none"},
            "decontam": {"enabled": True},
        },
        "ablation": {"arms": ARMS, "max_steps": 1, "eval_items": 2},
        "eval": {"items": 2, "humaneval": False, "threads": 1},
        "export": {"quant": "q8_0"},
    }


@dataclass
class Run:
    folder: Path
    raw: dict
    recipe: InfirRecipe
    report: dict  # what run_recipe returned
    lines: list[str]  # what it echoed

    def stage(self, name: str) -> dict:
        return json.loads((self.folder / "stages" / f"{name}.json").read_text())

    def report_json(self) -> dict:
        return json.loads((self.folder / "report.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_checkpoint) -> Run:
    folder = tmp_path_factory.mktemp("recipe") / "run"
    raw = tiny_raw(tiny_checkpoint)
    recipe = recipe_from_dict(copy.deepcopy(raw))
    lines: list[str] = []
    report = run_recipe(recipe, folder, echo=lines.append)
    return Run(folder, raw, recipe, report, lines)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "training", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def _write_recipe(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path


def _accuracy(stage: dict, tier: str, row: str = "word_problems") -> float:
    return stage[row][tier]["accuracy"]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# --- the finished run ---------------------------------------------------------------------------------------------


def test_every_stage_is_marked_done_in_order(run):
    assert [line for line in run.lines if line.startswith("== ")] == [f"== {name}" for name in STAGES]
    for name in STAGES:
        assert isinstance(run.stage(name)["wall_s"], float | int), name


def test_the_folder_pins_the_recipe_it_was_made_with(run):
    pinned = json.loads((run.folder / "recipe.json").read_text())
    assert pinned == json.loads(json.dumps(run.recipe.as_dict()))
    assert recipe_from_dict(pinned) == run.recipe


def test_the_report_has_each_tier_with_tools_off_and_with_the_calculator(run):
    md = (run.folder / "report.md").read_text()
    rows = ("| one-to-two-step, tools off |", "| one-to-two-step, calculator |", "| multi-step, tools off |",
            "| multi-step, calculator |", "| bundle vs checkpoint, largest gap |")
    assert all(row in md for row in rows)
    after, bundle = run.stage("eval_after"), run.stage("eval_bundle")
    for row in ("word_problems", "word_problems_with_tools"):
        tier = after[row]["one_two_step"]
        assert f"{tier['accuracy']:.3f} ({tier['correct']}/{tier['items']})" in md
        assert tier["items"] == 2 and bundle[row]["multi_step"]["items"] == 2
    assert after["dtype"] in ("float32", "bfloat16")  # as resolved from eval.dtype "auto"
    assert f"trained checkpoint: torch ({after['dtype']}), 2 items per tier" in md
    assert "Ablation" not in md  # its own command
    assert "HumanEval" not in md  # eval.humaneval is off
    assert (run.folder / "report_tiers.png").is_file()
    report = run.report_json()
    assert set(report) == {"targets", "all_targets_met", "stages"}
    assert list(report["stages"]) == [name for name in STAGES if name != "report"]


def test_the_targets_are_the_bundle_with_the_calculator(run):
    targets = run.report_json()["targets"]
    assert set(targets) == {"one_two_step", "multi_step", "bundle_gap"}  # no humaneval_drop: HumanEval is off
    assert all(isinstance(check["met"], bool) for check in targets.values())
    after, bundle = run.stage("eval_after"), run.stage("eval_bundle")
    wanted = run.recipe.targets
    for tier in ("one_two_step", "multi_step"):
        value = _accuracy(bundle, tier, "word_problems_with_tools")
        assert targets[tier]["value"] == value
        assert targets[tier]["met"] == (value >= getattr(wanted, tier))
    gap = max(abs(_accuracy(after, tier, row) - _accuracy(bundle, tier, row)) for tier in ("one_two_step", "multi_step")
              for row in ("word_problems", "word_problems_with_tools"))
    assert targets["bundle_gap"]["value"] == pytest.approx(gap, abs=1e-4)
    assert targets["bundle_gap"]["met"] == (gap <= wanted.bundle_gap + 1e-9)
    assert run.report_json()["all_targets_met"] == all(check["met"] for check in targets.values())
    assert run.report == run.stage("report")  # what run_recipe returns
    assert run.report["targets"] == targets


def test_the_bundle_is_the_only_gguf_in_the_folder(run):
    bundle = run.folder / "bundle"
    manifest = json.loads((bundle / "manifest.json").read_text())
    ggufs = sorted(run.folder.rglob("*.gguf"))
    assert ggufs and all(path.parent == bundle for path in ggufs)
    assert [path.name for path in ggufs] == [manifest["model_file"]]
    assert manifest["verification"]["passed"] is True
    assert run.stage("export")["verification"] == manifest["verification"]
    assert run.stage("eval_bundle")["backend"] == "llamacpp"


def test_the_bundle_loads_and_generates(run):
    with infir_edge.load(run.folder / "bundle") as engine:
        assert engine.info().backend == "llamacpp"
        assert len(engine.generate("Hello", max_new_tokens=4).token_ids) == 4


def test_the_main_run_has_no_ablation(run):
    assert not (run.folder / "ablation").exists() and "ablation" not in run.report_json()["stages"]


def test_the_ablation_command_reuses_the_run_and_keeps_figures_not_weights(run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run.folder, folder)
    lines: list[str] = []
    ablation = run_ablation(recipe_from_dict(copy.deepcopy(run.raw)), folder, echo=lines.append)
    assert lines[:2] == ["== anneal: done before, skipped", "== synthesis: done before, skipped"]
    arms = ablation["arms"]
    assert list(arms) == ARMS
    for arm in ARMS:
        arm_folder = folder / "ablation" / arm
        result = json.loads((arm_folder / "result.json").read_text())
        assert result == arms[arm]
        assert result["word_problems"]["multi_step"]["items"] == 2  # ablation.eval_items
        assert result["word_problems_with_tools"]["multi_step"]["items"] == 2
        assert result["examples"] > 0 and (arm_folder / "data.jsonl").is_file()
        assert (arm_folder / "train" / "summary.json").is_file()
        assert not (arm_folder / "train" / "final").exists() and not (arm_folder / "train" / "checkpoints").exists()
        assert not list(arm_folder.rglob("*.safetensors"))
    md = (folder / "ablation" / "report.md").read_text()
    assert "the same SFT budget (1 optimizer steps)" in md and all(f"| {arm} |" in md for arm in ARMS)
    assert (folder / "ablation" / "report.png").is_file()
    assert (folder / "sft" / "final").is_dir()  # the main SFT run keeps its checkpoint


def test_a_rerun_skips_every_stage_quickly(run):
    marks = {path.name: path.read_bytes() for path in (run.folder / "stages").iterdir()}
    lines: list[str] = []
    started = time.perf_counter()
    report = run_recipe(recipe_from_dict(copy.deepcopy(run.raw)), run.folder, echo=lines.append)
    assert time.perf_counter() - started < 5
    assert lines == [f"== {name}: done before, skipped" for name in STAGES]
    assert report == run.report
    assert {path.name: path.read_bytes() for path in (run.folder / "stages").iterdir()} == marks


# --- the command --------------------------------------------------------------------------------------------------


def test_another_recipe_in_the_folder_is_refused_without_overwrite(run, tmp_path):
    before = (run.folder / "recipe.json").read_text()
    other = _write_recipe(tmp_path / "other.yaml", {**run.raw, "eval": {**run.raw["eval"], "items": 3}})
    done = _cli("run", "--recipe", str(other), "--out", str(run.folder))
    assert done.returncode == 2, done.stderr
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and "--overwrite" in errors[0] and str(run.folder.resolve()) in errors[0]
    assert "==" not in done.stdout  # no stage started
    assert (run.folder / "recipe.json").read_text() == before
    assert sorted(path.stem for path in (run.folder / "stages").iterdir()) == sorted(STAGES)


def test_overwrite_starts_again_with_the_other_recipe(run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run.folder, folder)
    changed = {**run.raw, "eval": {**run.raw["eval"], "items": 3}}
    other = _write_recipe(tmp_path / "other.yaml", changed)
    done = _cli("run", "--recipe", str(other), "--out", str(folder), "--overwrite", "--stop-after", "anneal")
    assert done.returncode == 0, done.stderr
    assert "== anneal" in done.stdout.splitlines() and "skipped" not in done.stdout
    assert [path.name for path in (folder / "stages").iterdir()] == ["anneal.json"]
    assert json.loads((folder / "recipe.json").read_text())["eval"]["items"] == 3
    assert not (folder / "bundle").exists() and not (folder / "report.md").exists()  # the old run is gone


def test_an_unknown_stop_after_stage_exits_2(tmp_path, tiny_checkpoint):
    recipe = _write_recipe(tmp_path / "r.yaml", tiny_raw(tiny_checkpoint))
    done = _cli("run", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--stop-after", "bake")
    assert done.returncode == 2
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and "--stop-after" in errors[0] and "'bake'" in errors[0]
    assert not (tmp_path / "out").exists()


def test_run_recipe_refuses_an_unknown_stop_after_before_touching_the_folder(tmp_path, tiny_checkpoint):
    with pytest.raises(SFTError, match="--stop-after must be one of anneal, .*got 'bake'"):
        run_recipe(recipe_from_dict(tiny_raw(tiny_checkpoint)), tmp_path / "out", stop_after="bake")
    assert not (tmp_path / "out").exists()


def test_a_recipe_file_with_an_unknown_key_exits_2(tmp_path, tiny_checkpoint):
    raw = tiny_raw(tiny_checkpoint)
    raw["eval"]["bogus"] = 1
    recipe = _write_recipe(tmp_path / "r.yaml", raw)
    done = _cli("run", "--recipe", str(recipe), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and "eval: unknown keys ['bogus']" in errors[0]
    assert not (tmp_path / "out").exists()


# --- targets_met by hand ------------------------------------------------------------------------------------------


def _tiers(one_two_step: float, multi_step: float, humaneval: float | None = None, *, off: float = 0.0) -> dict:
    """Stage figures: the tiers with the calculator as given, tools off at `off`."""
    figures = {"word_problems": {"one_two_step": {"accuracy": off}, "multi_step": {"accuracy": off}},
               "word_problems_with_tools": {"one_two_step": {"accuracy": one_two_step},
                                            "multi_step": {"accuracy": multi_step}}}
    if humaneval is not None:
        figures["humaneval"] = {"pass@1": humaneval}
    return figures


@pytest.mark.parametrize(("target", "results", "value", "met"), [
    ("one_two_step", {"eval_bundle": _tiers(0.80, 0.0)}, 0.80, True),  # at the target
    ("one_two_step", {"eval_bundle": _tiers(0.79, 0.0)}, 0.79, False),
    ("one_two_step", {"eval_bundle": _tiers(0.79, 0.0, off=0.9)}, 0.79, False),  # the tools row is the one judged
    ("multi_step", {"eval_bundle": _tiers(0, 0.30)}, 0.30, True),
    ("multi_step", {"eval_bundle": _tiers(0, 0.29)}, 0.29, False),
    ("humaneval_drop", {"eval_before": _tiers(0, 0, 0.10), "eval_bundle": _tiers(0, 0, 0.09)}, 0.01, True),
    ("humaneval_drop", {"eval_before": _tiers(0, 0, 0.12), "eval_bundle": _tiers(0, 0, 0.10)}, 0.02, True),  # at it
    ("humaneval_drop", {"eval_before": _tiers(0, 0, 0.10), "eval_bundle": _tiers(0, 0, 0.07)}, 0.03, False),
    ("humaneval_drop", {"eval_before": _tiers(0, 0, 0.10), "eval_bundle": _tiers(0, 0, 0.20)}, -0.10, True),  # gain
    ("bundle_gap", {"eval_after": _tiers(0.50, 0.30), "eval_bundle": _tiers(0.49, 0.31)}, 0.01, True),
    ("bundle_gap", {"eval_after": _tiers(0.50, 0.30), "eval_bundle": _tiers(0.50, 0.33)}, 0.03, False),  # one tier
    ("bundle_gap", {"eval_after": _tiers(0.50, 0.30), "eval_bundle": _tiers(0.55, 0.30)}, 0.05, False),  # either way
    ("bundle_gap", {"eval_after": _tiers(0.5, 0.3, off=0.2), "eval_bundle": _tiers(0.5, 0.3, off=0.25)}, 0.05, False),
])  # fmt: skip
def test_targets_met_by_hand(target, results, value, met):
    checks = targets_met(InfirRecipe(), results)
    assert checks[target]["value"] == pytest.approx(value, abs=1e-9)
    assert checks[target]["met"] is met


@pytest.mark.parametrize(("stages", "checked"), [
    (set(), set()),
    ({"eval_after"}, set()),
    ({"eval_bundle"}, {"one_two_step", "multi_step"}),
    ({"eval_after", "eval_bundle"}, {"one_two_step", "multi_step", "bundle_gap"}),
    ({"eval_before", "eval_bundle"}, {"one_two_step", "multi_step"}),  # no HumanEval figures in them
])  # fmt: skip
def test_targets_met_checks_only_what_the_stages_measured(stages, checked):
    assert set(targets_met(InfirRecipe(), {name: _tiers(0.5, 0.5) for name in stages})) == checked


def test_bundle_gap_compares_the_bundle_on_the_items_the_checkpoint_was_asked():
    bundle = {**_tiers(0.80, 0.40), "reference_items": _tiers(0.51, 0.30)}  # all items, and the checkpoint's prefix
    checks = targets_met(InfirRecipe(), {"eval_after": _tiers(0.50, 0.30), "eval_bundle": bundle})
    assert checks["bundle_gap"]["value"] == pytest.approx(0.01)
    assert checks["one_two_step"]["value"] == 0.80  # the targets judge the bundle on every item


@pytest.mark.parametrize(("correct", "items", "low", "high"), [
    (0, 20, 0.0, 0.161),
    (20, 20, 0.839, 1.0),
    (48, 60, 0.682, 0.882),
])  # fmt: skip
def test_wilson_interval(correct, items, low, high):
    assert wilson(correct, items) == pytest.approx((low, high), abs=1e-3)


def test_targets_met_uses_the_recipe_targets():
    recipe = recipe_from_dict({"targets": {"one_two_step": 0.5, "multi_step": 0.2, "bundle_gap": 0.1}})
    results = {"eval_before": _tiers(0.2, 0.2), "eval_after": _tiers(0.5, 0.3), "eval_bundle": _tiers(0.45, 0.25)}
    checks = targets_met(recipe, results)
    assert {name: check["met"] for name, check in checks.items()} == {
        "one_two_step": False,
        "multi_step": True,
        "bundle_gap": True,
    }
    assert checks["one_two_step"]["target"] == ">= 0.50 (bundle, calculator)"
    assert checks["bundle_gap"]["target"] == "<= 0.10"
