from __future__ import annotations

import socket
import uuid
from pathlib import Path

import psutil
import pytest

from training.eval import sandbox
from training.eval.sandbox import Capabilities, SandboxLimits, run_in_sandbox

FAST = SandboxLimits(cpu_s=1, wall_s=5)  # small limits keep the tests that hit them short
MARGIN_S = 3  # start-up and clean-up around the wall timeout


def test_a_correct_program_passes():
    result = run_in_sandbox("def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nprint('ok')\n", FAST)
    assert (result.status, result.returncode, result.stdout) == ("passed", 0, "ok\n")


def test_a_failing_assertion_fails_with_its_reason():
    result = run_in_sandbox("assert 1 + 1 == 3, 'arithmetic is broken'\n", FAST)
    assert result.status == "failed"
    assert result.reason == "AssertionError: arithmetic is broken"


def test_an_infinite_loop_is_stopped_by_the_cpu_limit_within_the_wall_timeout():
    result = run_in_sandbox("while True:\n    pass\n", FAST)
    assert result.status == "timeout"
    assert "CPU limit" in result.reason
    assert result.wall_s < FAST.wall_s


def test_a_program_that_waits_forever_is_stopped_by_the_wall_clock():
    limits = SandboxLimits(cpu_s=1, wall_s=2)
    result = run_in_sandbox("import time\ntime.sleep(600)\n", limits)
    assert result.status == "timeout"
    assert "wall-clock" in result.reason
    assert result.wall_s < limits.wall_s + MARGIN_S


def _processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(text in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


def test_a_fork_bomb_is_contained_and_leaves_no_process_behind(tmp_path):
    # every process of the bomb carries its private directory (under tmp_path) on its command line
    result = run_in_sandbox("import os\nwhile True:\n    os.fork()\n", FAST, tmp_root=tmp_path)
    assert result.status != "passed"
    assert result.reason
    assert result.wall_s < FAST.wall_s + MARGIN_S
    assert _processes_mentioning(str(tmp_path)) == []


@pytest.mark.parametrize("code", ["x = bytearray(4 * 2**30)\n",
                                  "x = []\nwhile True:\n    x.append(bytearray(2**20))\n"])
def test_a_memory_hog_is_stopped_by_the_memory_limit(code):
    result = run_in_sandbox(code, SandboxLimits(cpu_s=5, memory_mb=512, wall_s=10))
    assert result.status in ("failed", "killed")
    assert "MemoryError" in result.reason or result.status == "killed"


@pytest.mark.parametrize("where", ["tmp_path", "home"])
def test_a_write_outside_its_directory_is_refused(where, tmp_path):
    target = (tmp_path if where == "tmp_path" else Path.home()) / f"sandbox-escape-{uuid.uuid4().hex}"
    try:
        result = run_in_sandbox(f"with open({str(target)!r}, 'w') as f:\n    f.write('escaped')\n", FAST)
        assert result.status == "failed"
        assert "PermissionError" in result.reason or "Read-only" in result.reason
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_a_network_connection_is_refused_and_reaches_nothing():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n"
        result = run_in_sandbox(code, FAST)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.status == "failed"
    assert "PermissionError" in result.reason or "unreachable" in result.reason


def test_a_huge_file_is_stopped_by_the_file_size_limit():
    code = "with open('big.bin', 'wb') as f:\n    f.write(b'x' * (64 * 2**20))\n"
    result = run_in_sandbox(code, SandboxLimits(cpu_s=5, file_size_mb=4, wall_s=10))
    assert result.status in ("failed", "killed")
    assert "File too large" in result.reason or "file size" in result.reason


def test_the_code_runs_without_capabilities():
    code = "print(''.join(l for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapPrm'))))"
    result = run_in_sandbox(code, FAST)
    assert result.status == "passed"
    assert [line.split()[1] for line in result.stdout.split("\n") if line] == ["0000000000000000"] * 2


def test_ctypes_which_could_remove_the_guard_cannot_be_imported():
    result = run_in_sandbox("import ctypes\n", FAST)
    assert result.status == "failed"
    assert "ctypes is not allowed" in result.reason


def test_its_private_directory_is_its_home_and_is_removed_afterwards(tmp_path):
    code = "import os\nassert os.getcwd() == os.environ['HOME'] == os.environ['TMPDIR']\nopen('scratch', 'w')\n"
    result = run_in_sandbox(code, FAST, tmp_root=tmp_path)
    assert result.status == "passed"
    assert list(tmp_path.iterdir()) == []


def test_without_namespaces_the_result_does_not_claim_them(monkeypatch):
    monkeypatch.setattr(sandbox, "sandbox_capabilities", lambda: Capabilities(False, None, sandbox.os.geteuid() == 0))
    result = run_in_sandbox("print('hi')\n", FAST)
    assert result.status == "passed"
    claimed = {"user-namespace", "no-network", "pid-namespace", "mount-namespace", "read-only-fs"}
    assert not claimed & set(result.isolation)
    assert "audit-guard" in result.isolation


def test_without_namespaces_the_guard_still_refuses_writes_outside(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "sandbox_capabilities", lambda: Capabilities(False, None, sandbox.os.geteuid() == 0))
    target = tmp_path / "escaped"
    result = run_in_sandbox(f"import os\nos.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)\n", FAST)
    assert result.status == "failed"
    assert "writing outside its directory is not allowed" in result.reason
    assert not target.exists()
