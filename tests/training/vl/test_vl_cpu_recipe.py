"""The InfiR-VL CPU recipe end to end on the real 135M LM (about an hour on 2 idle cores), then the vl policy on
every agent task through its bundle: `make test-slow` runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vl-cpu") / "run"
    subprocess.run([sys.executable, "-m", "training.vl", "--recipe", "training/recipes/vl_cpu.yaml", "--out", str(out)],
                   cwd=ROOT, check=True)
    return out


def test_grounding_beats_the_best_trivial_baseline_by_the_target(run):
    report = json.loads((run / "report.json").read_text())
    assert report["grounding_accuracy"] - report["baseline_accuracy"] >= report["target_gain"], report


def test_the_bundle_reproduces_the_checkpoints_grounding(run):
    report = json.loads((run / "report.json").read_text())
    bundle = report["bundles"]["gguf:q8_0"]
    assert bundle["verification"]["passed"]
    assert abs(bundle["grounding_accuracy"] - bundle["checkpoint_same_items"]) <= 0.05


def test_the_vl_policy_runs_every_agent_task_to_the_end(run, tmp_path):
    subprocess.run([sys.executable, "-m", "android_agent.cli", "bench", "--policy", "vl", "--model",
                    str(run / "bundle"), "--max-steps", "10", "--out", str(tmp_path / "bench")], cwd=ROOT, check=True)
    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert results["tasks_run"] == 28 and results["crashes"] == 0
    steps = [row["steps"] for row in results["tasks"]]
    assert all(1 <= s <= 10 for s in steps)  # every task ran: a step budget spent or a task ended
