"""Push a bundle to an Android device over adb, verify every file there by sha256, and run it.

adbutils finds the adb server the way `adb` does (127.0.0.1:5037, `ANDROID_ADB_SERVER_PORT`/`_HOST`, and
`ANDROID_SERIAL` for the device); if nothing listens it starts the adb binary from its wheel. Files already on
the device with the right hash are skipped, so a re-deploy after a changed tokenizer pushes only the tokenizer.
Each file is pushed under a temporary name and renamed, and `manifest.json` goes last: a deploy cut short leaves
no bundle that looks complete.
"""

from __future__ import annotations

import posixpath
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from infir_edge.errors import BackendUnavailableError, InfirEdgeError
from infir_edge.models.bundle import MANIFEST, file_sha256, read_manifest

DEFAULT_DEST = "/data/local/tmp/infir"
_SHA256_LENGTH = 64


class DeployError(InfirEdgeError, RuntimeError):
    """No device, an adb failure, a file whose hash on the device is wrong, or a runner that cannot start."""


@dataclass
class DeployReport:
    serial: str
    dest: str
    pushed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_pushed: int = 0
    seconds: float = 0.0
    run_command: str | None = None
    run_output: str | None = None


def deploy(
    bundle: str | Path,
    *,
    serial: str | None = None,
    dest: str = DEFAULT_DEST,
    run: bool = False,
    runner: str | None = None,
    prompt: str = "Hello",
    max_new_tokens: int = 32,
    progress: bool = True,
) -> DeployReport:
    """Copy `bundle` to `dest` on the device and check it there; with `run`, start `runner` (a binary already on
    the device: llama.cpp's `llama-cli` for a GGUF bundle, ExecuTorch's `llama_main` for a .pte bundle)."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle, check_hashes=True)
    if run and not runner:
        raise DeployError("--run needs --runner PATH: the llama-cli / llama_main binary on the device")
    device = _device(serial)
    started = time.perf_counter()
    expected = {name: info["sha256"] for name, info in manifest.files.items()}
    expected[MANIFEST] = file_sha256(bundle / MANIFEST)
    report = DeployReport(serial=device.serial, dest=dest)
    _shell(device, f"mkdir -p {shlex.quote(dest)}")
    on_device = remote_sha256(device, [posixpath.join(dest, name) for name in expected])
    # the manifest last, so an interrupted deploy never looks complete
    for name in sorted(expected, key=lambda n: n == MANIFEST):
        remote = posixpath.join(dest, name)
        if on_device.get(remote) == expected[name]:
            report.skipped.append(name)
            continue
        report.bytes_pushed += _push(device, bundle / name, remote, progress=progress)
        report.pushed.append(name)
    on_device = remote_sha256(device, [posixpath.join(dest, name) for name in expected])
    wrong = [name for name in expected if on_device.get(posixpath.join(dest, name)) != expected[name]]
    if wrong:
        raise DeployError(f"sha256 on {device.serial} differs after the push for: {', '.join(wrong)}")
    report.seconds = time.perf_counter() - started
    if run:
        report.run_command = runner_command(runner, manifest.format, dest, manifest.model_file, prompt,
                                            max_new_tokens)
        report.run_output = _run(device, runner, report.run_command)
    return report


def remote_sha256(device, paths: list[str]) -> dict[str, str]:
    """{path: sha256} for the paths that exist on the device (one shell call; missing files are left out)."""
    output = device.shell2(["sha256sum", *paths], timeout=600).output
    hashes = {}
    for line in output.splitlines():
        digest, _, path = line.partition("  ")
        if len(digest) == _SHA256_LENGTH and path:
            hashes[path.strip()] = digest
    return hashes


def runner_command(runner: str, fmt: str, dest: str, model_file: str, prompt: str, max_new_tokens: int) -> str:
    """The command line of the on-device runner, in that runner's own flags."""
    model = posixpath.join(dest, model_file)
    if fmt == "gguf":
        args = [runner, "-m", model, "-p", prompt, "-n", str(max_new_tokens), "-no-cnv"]
    elif fmt == "pte":
        args = [runner, f"--model_path={model}", f"--tokenizer_path={posixpath.join(dest, 'tokenizer.json')}",
                f"--prompt={prompt}", f"--seq_len={max_new_tokens}"]
    else:
        raise DeployError(f"no on-device runner for {fmt} bundles: --run supports gguf (llama-cli) and pte "
                          "(llama_main)")
    return " ".join(shlex.quote(a) for a in args)


def _device(serial: str | None):
    try:
        import adbutils
    except ImportError as e:
        raise BackendUnavailableError("deploy", "agent", str(e)) from e
    try:
        client = adbutils.AdbClient()
        device = client.device(serial)
        state = device.get_state()
    except adbutils.AdbError as e:
        raise DeployError(f"no device: {e}") from e
    if state != "device":
        raise DeployError(f"device {device.serial} is {state}, not ready")
    return device


def _shell(device, command: str) -> str:
    result = device.shell2(command, timeout=120)
    if result.returncode != 0:
        raise DeployError(f"`{command}` failed on {device.serial} (exit {result.returncode}): {result.output.strip()}")
    return result.output


def _push(device, local: Path, remote: str, *, progress: bool) -> int:
    from tqdm import tqdm

    size = local.stat().st_size
    partial = f"{remote}.partial"
    with local.open("rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=local.name,
                                      disable=not progress, leave=False) as bar:
        device.sync.push(_CountingReader(f, bar.update), partial, mode=0o644)
    _shell(device, f"mv -f {shlex.quote(partial)} {shlex.quote(remote)}")
    return size


class _CountingReader:
    """A file object for adbutils' push that reports each chunk to a progress bar."""

    def __init__(self, f, on_read) -> None:
        self._f = f
        self._on_read = on_read

    def read(self, n: int = -1) -> bytes:
        chunk = self._f.read(n)
        self._on_read(len(chunk))
        return chunk


def _run(device, runner: str, command: str) -> str:
    if device.shell2(["ls", runner], timeout=60).returncode != 0:
        raise DeployError(f"runner {runner} is not on {device.serial}: push a llama-cli / llama_main build first")
    return _shell(device, command)
