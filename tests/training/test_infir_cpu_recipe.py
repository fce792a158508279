"""The CPU recipe end to end on the real 135M model (under 60 min on 2 idle cores), then its ablation command:
`make test-slow` runs it. The targets: the bundle with the calculator, on problems the recipe never trained on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("infir-cpu") / "run"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "training", "run", "--recipe", "training/recipes/infir_cpu.yaml",
                    "--out", str(out)], cwd=ROOT, check=True)
    (out / "wall_s.txt").write_text(f"{time.monotonic() - started:.0f}")
    return out


def test_the_main_path_takes_under_an_hour(run):
    assert float((run / "wall_s.txt").read_text()) < 3600


def test_the_report_shows_every_target_met(run):
    report = json.loads((run / "report.json").read_text())
    assert set(report["targets"]) == {"one_two_step", "multi_step", "humaneval_drop", "bundle_gap"}
    assert report["all_targets_met"], report["targets"]


def test_the_bundle_with_the_calculator_meets_the_targets_through_the_sdk(run):
    import infir_edge
    from training.eval.word_problems import chat_prompt, last_number, tier_items

    with infir_edge.load(run / "bundle") as engine:
        for tier, target in (("one_two_step", 0.80), ("multi_step", 0.30)):
            items = tier_items(tier, 50)
            right = sum(last_number(engine.generate(chat_prompt(engine, item["question"]), max_new_tokens=160,
                                                    temperature=0, tools=("calculator",)).text) == item["answer"]
                        for item in items)
            assert right / len(items) >= target, (tier, right)


def test_the_bundle_is_the_only_gguf_and_answers_through_the_cli(run):
    assert [p.parent for p in run.rglob("*.gguf")] == [run / "bundle"]
    reply = subprocess.run([sys.executable, "-m", "infir_edge.cli", "reason", "--model", str(run / "bundle"),
                            "--format", "number", "--json",
                            "Mia has 14 stickers and buys 3 packs of 5 stickers. How many stickers does she have?"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(reply.stdout)["answer"] is not None


def test_the_ablation_command_gives_every_arm(run):
    subprocess.run([sys.executable, "-m", "training", "ablation", "--recipe", "training/recipes/infir_cpu.yaml",
                    "--out", str(run)], cwd=ROOT, check=True)
    arms = json.loads((run / "ablation" / "report.json").read_text())["arms"]
    assert set(arms) == {"rejection_evolved", "raw_evolved", "rejection_seeds_only"}
    assert all(0.0 <= a["word_problems_with_tools"]["multi_step"]["accuracy"] <= 1.0 for a in arms.values())
