"""The `infir-edge` command: output on success, one `error:` line and exit 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import CHAIN_PROMPT, write_tiny_gguf

SCRIPT = Path(sys.executable).with_name("infir-edge")


def run(*args: str, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def assert_clean_error(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr


def test_generate_prints_a_continuation():
    proc = run("generate", "--max-new-tokens", "12", "--temperature", "0", "The capital of France is")
    assert proc.returncode == 0, proc.stderr
    assert "Paris" in proc.stdout


def test_generate_stats_go_to_stderr():
    proc = run("generate", "-n", "8", "--stats", "Hello")
    assert proc.returncode == 0
    assert "decode" in proc.stderr and "tok/s" in proc.stderr
    assert "tok/s" not in proc.stdout


@pytest.mark.parametrize(
    "content", [b"", b"GGUF" + b"\xff" * 64, b"random text, not a model\n"], ids=["empty", "garbage", "text"]
)
def test_damaged_model_exits_2(tmp_path, content):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    assert_clean_error(run("generate", "--model", str(path), "Hello"))


def test_truncated_model_exits_2(tmp_path):
    full = write_tiny_gguf(tmp_path / "full.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(full[: len(full) // 2])
    assert_clean_error(run("info", "--model", str(cut)))


def test_missing_model_exits_2(tmp_path):
    assert_clean_error(run("info", "--model", str(tmp_path / "nope.gguf")))


def test_overlong_prompt_exits_2():
    proc = run("generate", "--n-ctx", "128", "-n", "16", "word " * 200)
    assert_clean_error(proc)
    assert "context window of 128" in proc.stderr


def test_unknown_flag_is_a_usage_error():
    assert_clean_error(run("generate", "--no-such-flag", "x"))


def test_output_under_a_file_is_refused_before_loading(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_clean_error(run("convert", "default", "--to", "checkpoint", "--out", str(tmp_path / "file" / "out")))


def test_undecodable_stdin_is_refused():
    proc = subprocess.run([str(SCRIPT), "generate", "-n", "2", "-"], input=b"caf\xe9 \xff\n", capture_output=True)
    assert proc.returncode == 2 and proc.stderr.decode().startswith("error: ")


def test_info_json():
    proc = run("info", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["backend"] == "llamacpp" and info["n_vocab"] == 49152


def test_reason_prints_an_answer():
    proc = run("reason", "What is 2 + 2?", "--budget", "48", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "answer" in json.loads(proc.stdout)


def test_chat_keeps_history_over_stdin_lines():
    proc = run("chat", "-n", "24", "--stats", stdin="My name is Ada.\nWhat is my name?\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("prompt tokens") == 2
    first, second = (int(line.split()[0].strip("[")) for line in proc.stderr.splitlines() if "prompt tokens" in line)
    assert second > first  # the second turn carries the first


def test_convert_refuses_an_existing_directory(tmp_path):
    assert_clean_error(run("convert", "default", "--to", "checkpoint", "--out", str(tmp_path)))


def test_generate_takes_images_on_a_vl_model(tiny_vl_checkpoint, tmp_path):
    from PIL import Image

    Image.new("RGB", (40, 30), (0, 90, 200)).save(tmp_path / "screen.png")
    proc = run("generate", "--model", str(tiny_vl_checkpoint), "--image", str(tmp_path / "screen.png"), "-n", "3",
               "--stats", "What is on the screen?")
    assert proc.returncode == 0, proc.stderr
    assert "3 generated" in proc.stderr


def test_generate_refuses_an_image_for_a_text_model(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    proc = run("generate", "--image", str(tmp_path / "a.png"), "-n", "2", "Hi")
    assert_clean_error(proc)
    assert "takes no images" in proc.stderr


def test_generate_refuses_a_missing_image(tiny_vl_checkpoint, tmp_path):
    proc = run("generate", "--model", str(tiny_vl_checkpoint), "--image", str(tmp_path / "missing.png"), "Hi")
    assert_clean_error(proc)
    assert "does not exist" in proc.stderr


def test_generate_with_the_calculator_inserts_its_answer(chain_model):
    proc = run("generate", "--model", str(chain_model("gguf")), "-n", "16", "--tools", "calculator", CHAIN_PROMPT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "<<48/2=24>> clips\n"


def test_reason_json_lists_the_calculator_calls(chain_model):
    proc = run("reason", "--model", str(chain_model("gguf")), "--tools", "calculator", "--budget", "16", "--json",
               CHAIN_PROMPT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tool_calls"] == [
        {"tool": "calculator", "expression": "48/2", "result": "24", "inserted": "24>>"}]


def test_unknown_tool_exits_2():
    assert_clean_error(run("generate", "--tools", "python", "Hello"))
