"""`infir-agent`: the benchmark and single runs through the real uiautomator2 client, and its exit codes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from tiny_models import write_tiny_gguf

from android_agent.cli import main


@pytest.fixture(scope="module")
def oracle_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("agent") / "oracle"
    assert main(["bench", "--policy", "oracle", "--out", str(out)]) == 0
    return out


def test_the_oracle_solves_every_task_through_uiautomator2(oracle_bench):
    results = json.loads((oracle_bench / "results.json").read_text())
    assert results["success_rate"] == 1.0 and results["tasks_run"] >= 20 and results["crashes"] == 0


def test_bench_reports_overhead_gate_triggers_a_table_and_plots(oracle_bench):
    results = json.loads((oracle_bench / "results.json").read_text())
    assert results["per_step_overhead_ms"]["n"] > 0 and results["gate_triggers"] > 0
    assert "| task | success |" in (oracle_bench / "report.md").read_text()
    for plot in ("success.png", "overhead.png"):
        assert (oracle_bench / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_writes_a_trajectory_per_task(oracle_bench):
    trajectories = sorted((oracle_bench / "trajectories").iterdir())
    assert len(trajectories) == len(json.loads((oracle_bench / "results.json").read_text())["tasks"])
    assert list((trajectories[0] / "screens").glob("step_*.jpg"))


def test_an_interrupted_bench_resumes_without_rerunning_finished_tasks(oracle_bench, monkeypatch, capsys):
    from android_agent import bench

    monkeypatch.setattr(bench, "run_task", lambda *a, **k: pytest.fail("a finished task ran again"))
    assert main(["bench", "--policy", "oracle", "--out", str(oracle_bench)]) == 0
    assert "success rate: 100.0%" in capsys.readouterr().out


def test_bench_with_overwrite_runs_finished_tasks_again(oracle_bench, tmp_path, monkeypatch):
    from android_agent import bench

    out = shutil.copytree(oracle_bench, tmp_path / "bench")
    ran, run_task = [], bench.run_task
    monkeypatch.setattr(bench, "run_task", lambda device, name, **k: ran.append(name) or run_task(device, name, **k))
    assert main(["bench", "--policy", "oracle", "--tasks", "toggle_setting", "--out", str(out), "--overwrite"]) == 0
    assert ran == ["toggle_setting"]


def _model_bench(out, model) -> dict:
    code = main(["bench", "--policy", "model", "--model", str(model), "--tasks", "toggle_setting,cart_total",
                 "--max-steps", "2", "--max-retries", "1", "--out", str(out)])
    assert code == 0
    return json.loads((out / "results.json").read_text())


def test_model_policy_runs_each_task_to_its_end(tmp_path):
    results = _model_bench(tmp_path / "model", write_tiny_gguf(tmp_path / "tiny.gguf", context_length=2048))
    assert results["tasks_run"] == 2 and results["crashes"] == 0 and results["model"].endswith("tiny.gguf")
    assert all(row["steps"] == 2 or row["finished"] for row in results["tasks"])
    assert results["success_rate"] == sum(row["success"] for row in results["tasks"]) / 2


def test_a_model_whose_context_cannot_hold_a_screen_fails_its_tasks_with_the_reason(tmp_path):
    # 128 tokens: the instructions, the task and a 5-element screen do not fit beside the reply's budget
    results = _model_bench(tmp_path / "model", write_tiny_gguf(tmp_path / "tiny.gguf", context_length=128))
    assert results["success_rate"] == 0.0 and results["crashes"] == 2
    assert "context" in results["tasks"][0]["error"]


def test_run_one_task_prints_success(capsys):
    assert main(["run", "--task", "toggle_setting"]) == 0
    assert "SUCCESS" in capsys.readouterr().out


def test_a_non_interactive_run_denies_sensitive_steps(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115
    assert main(["run", "--task", "delete_alarm"]) == 0
    out = capsys.readouterr().out
    assert "denied by deny_all" in out and "FAILED" in out


def test_unknown_task_exits_2(capsys):
    assert main(["run", "--task", "no_such_task"]) == 2
    assert "unknown task" in capsys.readouterr().err


def test_tasks_lists_every_task(capsys):
    from android_agent.tasks import TASKS

    assert main(["tasks"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in TASKS)


def test_the_phone_command_serves_a_phone_that_a_plain_u2_connect_reaches(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(port), "ANDROID_SERIAL": "sim-7"}
    phone = subprocess.Popen([sys.executable, "-m", "android_agent.cli", "phone", "--port", str(port), "--serial",
                              "sim-7"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        client = subprocess.run([sys.executable, "-c", "import uiautomator2 as u2; d = u2.connect(); "
                                 "print(d.window_size(), d.info['currentPackageName'])"],
                                env=env, capture_output=True, text=True, timeout=60)
        assert client.returncode == 0, client.stderr
        assert "(1080, 2400) com.infir.launcher" in client.stdout
    finally:
        phone.terminate()
        phone.wait(timeout=10)


@pytest.mark.slow
def test_the_default_model_drives_tasks_to_their_end(tmp_path):
    out = tmp_path / "default"
    assert main(["bench", "--policy", "model", "--model", "default", "--tasks", "toggle_setting,add_contact",
                 "--max-steps", "3", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["crashes"] == 0 and all(row["steps"] == 3 or row["finished"] for row in results["tasks"])
    assert all(row["policy_ms"] for row in results["tasks"])
