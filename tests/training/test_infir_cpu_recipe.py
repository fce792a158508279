"""The CPU recipe end to end on the real 135M model (~55 min on 2 idle cores): `make test-slow` runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("infir-cpu") / "run"
    subprocess.run([sys.executable, "-m", "training", "run", "--recipe", "training/recipes/infir_cpu.yaml",
                    "--out", str(out)], cwd=ROOT, check=True)
    return out


def test_the_report_shows_every_target_met(run):
    report = json.loads((run / "report.json").read_text())
    assert set(report["targets"]) == {"one_two_step", "multi_step_gain", "humaneval_drop", "bundle_gap"}
    assert report["all_targets_met"], report["targets"]


def test_the_bundle_is_the_only_gguf_and_answers_through_the_cli(run):
    assert [p.parent for p in run.rglob("*.gguf")] == [run / "bundle"]
    reply = subprocess.run([sys.executable, "-m", "infir_edge.cli", "reason", "--model", str(run / "bundle"),
                            "--format", "number", "--json",
                            "Mia has 14 stickers and buys 3 packs of 5 stickers. How many stickers does she have?"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(reply.stdout)["answer"] is not None


def test_the_ablation_table_has_every_arm(run):
    arms = json.loads((run / "stages" / "ablation.json").read_text())["arms"]
    assert set(arms) == {"rejection_evolved", "raw_evolved", "rejection_seeds_only"}
    assert all(0.0 <= a["multi_step"]["accuracy"] <= 1.0 for a in arms.values())
