"""`python -m training.pretrain` end to end on a tiny checkpoint: the final model, its record, a killed run resumed,
two processes under torchrun (FSDP2 over gloo) against one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_recipe, write_recipe

# 32 pretrain + 4 anneal steps: long enough to be killed halfway
STAGES = {"pretrain": {"tokens": 8192}, "anneal": {"tokens": 1024}}


def _recipe(tmp_path: Path, checkpoint: Path, kept: Path, **overrides) -> Path:
    recipe = tiny_recipe(checkpoint, kept)
    recipe["stages"]["pretrain"]["tokens"] = STAGES["pretrain"]["tokens"]
    for key, value in overrides.items():
        recipe[key] = {**recipe[key], **value}
    return write_recipe(tmp_path / "recipe.yaml", recipe)


def _train(*args, launcher=(sys.executable, "-m", "training.pretrain"), check=True):
    env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error"}
    result = subprocess.run([*launcher, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(out / "final" / "model.safetensors")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_checkpoint, kept_documents) -> Path:
    folder = tmp_path_factory.mktemp("pretrain")
    recipe = _recipe(folder, tiny_checkpoint, kept_documents)
    _train("--recipe", recipe, "--out", folder / "run")
    return folder / "run"


def test_both_stages_run_with_one_schedule(finished_run):
    rows = _metrics(finished_run)
    assert [r["step"] for r in rows] == list(range(1, 37))
    assert [r["stage"] for r in rows] == ["pretrain"] * 32 + ["anneal"] * 4
    lrs = [r["lr"] for r in rows]
    assert lrs[0] < lrs[2] == lrs[31]  # warmup, then the stable peak through pretraining
    assert all(later < earlier for earlier, later in zip(lrs[32:], lrs[33:], strict=False))  # annealing decays
    assert rows[-1]["loss"] < rows[0]["loss"]


def test_the_record_has_a_loss_plot_and_a_summary(finished_run):
    assert (finished_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["tokens"] == 36 * 4 * 64 and summary["tokens_per_s"] > 0


def test_the_final_checkpoint_loads_in_the_sdk(finished_run):
    import infir_edge

    with infir_edge.load(finished_run / "final") as engine:
        assert engine.info().format == "checkpoint"
        assert engine.generate("The capital of France is", max_new_tokens=4).timings.generated_tokens == 4


def test_export_accepts_the_final_checkpoint(finished_run, tmp_path):
    result = subprocess.run([sys.executable, "-m", "infir_edge.cli", "export", str(finished_run / "final"),
                             "--format", "gguf", "--quant", "q8_0", "--out", str(tmp_path / "bundle")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bundle" / "manifest.json").is_file()


def test_a_killed_run_resumes_with_the_same_data(finished_run, tmp_path, tiny_checkpoint, kept_documents):
    recipe = _recipe(tmp_path, tiny_checkpoint, kept_documents)
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "training.pretrain", "--recipe", str(recipe), "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (out / "checkpoints" / "step_000003").is_dir():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "final").exists()
    result = _train("--recipe", recipe, "--out", out)
    assert "resuming from" in result.stdout
    resumed, straight = _metrics(out), _metrics(finished_run)
    assert [r["batch_digest"] for r in resumed] == [r["batch_digest"] for r in straight]  # none twice, none skipped
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]
    final, expected = _weights(out), _weights(finished_run)
    assert all((final[name] == expected[name]).all() for name in expected)


def test_two_processes_compute_what_one_computes(finished_run, tmp_path, tiny_checkpoint, kept_documents):
    recipe = _recipe(tmp_path, tiny_checkpoint, kept_documents)
    torchrun = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                "-m", "training.pretrain")
    _train("--recipe", recipe, "--out", tmp_path / "run", launcher=torchrun)
    two, one = _metrics(tmp_path / "run"), _metrics(finished_run)
    assert [r["batch_digest"] for r in two] == [r["batch_digest"] for r in one]
    assert [r["loss"] for r in two] == pytest.approx([r["loss"] for r in one], rel=1e-5)
    final, expected = _weights(tmp_path / "run"), _weights(finished_run)
    assert all(abs(final[name] - expected[name]).max() < 1e-4 for name in expected)


def test_a_changed_recipe_does_not_resume_silently(finished_run, tmp_path, tiny_checkpoint, kept_documents):
    recipe = _recipe(tmp_path, tiny_checkpoint, kept_documents, optim={"lr": 5e-4})
    result = _train("--recipe", recipe, "--out", finished_run, check=False)
    assert result.returncode == 2
    assert "optim" in result.stderr and "--overwrite" in result.stderr


def test_missing_data_without_a_build_is_a_clear_error(tmp_path, tiny_checkpoint):
    recipe = write_recipe(tmp_path / "recipe.yaml", tiny_recipe(tiny_checkpoint, tmp_path / "nowhere" / "kept"))
    result = _train("--recipe", recipe, "--out", tmp_path / "run", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: data.kept") and "Traceback" not in result.stderr
