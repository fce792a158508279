"""`python -m training.vl` end to end on a tiny model: data, three stages, export, the report; a rerun resumes."""

from __future__ import annotations

import json

import pytest

from training.pretrain.errors import TrainingError
from training.vl.__main__ import main
from training.vl.recipe import vl_recipe_from_dict
from training.vl.run import run_vl_recipe

TINY_TOWER = {"image_size": 64, "patch_size": 16, "hidden_size": 32, "intermediate_size": 64,
              "num_hidden_layers": 2, "num_attention_heads": 2}


def _tiny(text_checkpoint) -> dict:
    stage = {"steps": 2, "batch_size": 2, "lr": 1.0e-3}
    return {
        "model": {"preset": "tiny-vl", "shape": TINY_TOWER, "text": str(text_checkpoint), "train_dtype": "float32"},
        "data": {"text_render": 10, "grounding": 10, "actions": 4, "test_text_render": 8, "test_grounding": 6,
                 "test_actions": 2, "render": {"noise_p": 0.5, "noise_sigma": 60.0}},
        "stages": [{"name": "stage1", "data": {"text_render": 4, "grounding": 4}, "train": ["projector"], **stage},
                   {"name": "stage2", "data": {"text_render": 0}, "train": ["projector", "lm"], "lm_top_layers": 1,
                    **stage},
                   {"name": "stage3", "data": {"grounding": 0, "actions": 0}, "train": ["projector", "vision", "lm"],
                    **stage}],
        "eval": {"grounding_items": 6, "transcription_items": 8, "batch_size": 4, "max_new_tokens": 4,
                 "bundle_items": 2},
        "export": {"formats": ["gguf:f32"]},
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_checkpoint):
    out = tmp_path_factory.mktemp("vl-run") / "run"
    recipe = vl_recipe_from_dict(_tiny(tiny_checkpoint))
    lines: list[str] = []
    report = run_vl_recipe(recipe, out, echo=lines.append)
    return out, recipe, report, lines


def test_the_report_has_grounding_and_the_baseline_as_fractions(run):
    out, _, report, _ = run
    saved = json.loads((out / "report.json").read_text())
    assert 0.0 <= saved["grounding_accuracy"] <= 1.0 and 0.0 <= saved["baseline_accuracy"] <= 1.0
    assert saved["baseline_name"] in ("screen_center", "train_mode")
    assert "grounding" in (out / "report.md").read_text()
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_every_stage_leaves_a_checkpoint_and_an_evaluation(run):
    out = run[0]
    for stage in ("stage1", "stage2", "stage3"):
        assert (out / stage / "checkpoint" / "config.json").is_file()
        assert "grounding_accuracy" in json.loads((out / stage / "eval.json").read_text())["summary"]


def test_the_similarity_filter_reports_its_histogram(run):
    out = run[0]
    figures = json.loads((out / "data" / "filter" / "similarity.json").read_text())
    assert figures["threshold"] == 0.5 and figures["kept"] + figures["dropped"] == 10
    assert (out / "data" / "filter" / "similarity_hist.png").is_file()


def test_the_bundle_carries_the_projector_and_was_scored(run):
    out, _, report, _ = run
    manifest = json.loads((out / "bundle" / "manifest.json").read_text())
    assert manifest["vision"]["projector_file"] in manifest["files"]
    assert report["bundles"]["gguf:f32"]["items"] == 2


def test_a_rerun_resumes_and_skips_every_finished_stage(run):
    out, recipe, report, _ = run
    lines: list[str] = []
    assert run_vl_recipe(recipe, out, echo=lines.append)["grounding_accuracy"] == report["grounding_accuracy"]
    assert all("done before" in line for line in lines if line.startswith("=="))


def test_another_recipe_in_the_same_folder_is_refused(run, tiny_checkpoint):
    raw = _tiny(tiny_checkpoint)
    raw["stages"][2]["steps"] = 3
    with pytest.raises(TrainingError, match="another recipe"):
        run_vl_recipe(vl_recipe_from_dict(raw), run[0], echo=lambda _: None)


def test_a_stage_trains_in_two_processes_under_torchrun(run, tmp_path):
    import shutil
    import subprocess
    import sys

    import torch

    from infir_edge.models.vl import load_vl_checkpoint

    out = tmp_path / "run"
    shutil.copytree(run[0], out)
    shutil.rmtree(out / "stage1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
               "training.vl.stage", "--out", str(out), "--stage", "0", "--from-checkpoint", str(out / "model")]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    summary = json.loads((out / "stage1" / "train_summary.json").read_text())
    assert summary["steps"] == 2
    trained, _ = load_vl_checkpoint(out / "stage1" / "checkpoint")  # the full model, gathered from the shards
    start, _ = load_vl_checkpoint(out / "model")
    projector, before = trained.model.multi_modal_projector, start.model.multi_modal_projector
    assert not torch.equal(projector.linear_1.weight, before.linear_1.weight)  # the trained shards, not the start
    assert all(torch.equal(a, b) for a, b in zip(trained.model.vision_tower.parameters(),
                                                 start.model.vision_tower.parameters(), strict=True))  # frozen


def test_the_command_exits_2_on_a_bad_recipe(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: []\n")
    assert main(["--recipe", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error:")
