"""The Done-when of the CPU recipe, as a user runs it on a fresh checkout (minutes: `make test-slow`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).parents[3] / "training" / "recipes" / "pretrain_cpu.yaml"


@pytest.mark.slow
def test_cpu_recipe_builds_its_data_trains_and_exports(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "training.pretrain", "--recipe", str(RECIPE), "--out", str(out)],
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "base" / "config.json").is_file()  # the default model, converted
    assert (out / "data" / "stats.json").is_file()  # the data pipeline, run on the built-in corpora
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"]["anneal"]["last_loss"] < summary["stages"]["pretrain"]["first_loss"]
    export = subprocess.run([sys.executable, "-m", "infir_edge.cli", "export", str(out / "final"), "--format", "gguf",
                             "--quant", "q8_0", "--out", str(tmp_path / "bundle")],
                            capture_output=True, text=True, timeout=600)
    assert export.returncode == 0, export.stderr
