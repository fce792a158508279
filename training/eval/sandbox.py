"""Run untrusted Python (a model's HumanEval completion and its test) so that it cannot harm the machine.

Layers, combined; each one that this machine allows is applied, and the result's `isolation` lists exactly those:

- always: a separate `python -I -S -B` in a session of its own, with a minimal environment, a private temporary
  directory as its cwd, HOME and TMPDIR (removed afterwards), resource limits (CPU seconds, address space, file size,
  no core files), a wall-clock timeout that kills the whole process group, no capabilities and no new privileges,
  and an audit-hook guard (PEP 578) installed before the code runs, which code cannot remove: it refuses writes
  outside the private directory, sockets, starting programs, signals, and ctypes (the known way around a guard);
- namespaces (`unshare`): user, network (only a loopback that is down: no connection anywhere), pid (when the
  sandbox's init exits, the kernel kills every process left in it) and mount (the whole tree remounted read-only
  but the private directory; the code has no capabilities left to remount it);
- a process count limit, against fork bombs. RLIMIT_NPROC counts every process of the real user and does not bind
  root at all (not even root mapped into a user namespace), so: for a non-root user it is set inside the fresh user
  namespace, where the count starts at zero; for root, a pids cgroup, where one can be made; otherwise RLIMIT_NPROC
  is set relative to the user's current count. Where no count limit holds, the guard refuses fork.

This file is also the program the sandbox runs (`supervise`, then `guard`): it imports only harmless standard
modules at the top, since whatever the guard process has imported, the untrusted code gets without an import event.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "timeout", "killed", "error"]
UNSHARE_FLAGS = ("--user", "--map-root-user", "--net", "--pid", "--mount", "--fork", "--kill-child")
PROGRAM = "program.py"
SETUP_FAILED = 125  # the exit code of a sandbox whose set-up failed before the code ran


@dataclass(frozen=True)
class SandboxLimits:
    cpu_s: int = 5  # CPU seconds per process (SIGXCPU, then SIGKILL a second later)
    memory_mb: int = 1024  # address space per process; the interpreter itself needs ~20 MiB of it
    processes: int = 32  # processes (threads count too) at once, the first one included
    file_size_mb: int = 16  # largest file it may write (stdout and stderr included)
    wall_s: float = 10.0  # wall clock for the whole run
    output_chars: int = 20_000  # of stdout and of stderr kept in the result


@dataclass
class SandboxResult:
    status: Status
    returncode: int | None  # negative: killed by that signal
    stdout: str
    stderr: str
    wall_s: float
    isolation: list[str] = field(default_factory=list)  # the layers that were applied
    reason: str = ""  # why it did not pass: the exception's last line, the limit hit, ...


@dataclass(frozen=True)
class Capabilities:
    namespaces: bool  # `unshare` may create user, network, pid and mount namespaces here
    pids_cgroup: str | None  # a cgroup directory under which a pids-limited cgroup can be made
    root: bool


@functools.lru_cache(maxsize=1)
def sandbox_capabilities() -> Capabilities:
    """What this machine allows (probed once per process)."""
    import subprocess  # imported here, not at the top: see the module docstring

    unshare = shutil.which("unshare")
    namespaces = False
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        namespaces = bool(unshare) and subprocess.run([unshare, *UNSHARE_FLAGS, "true"], capture_output=True,
                                                      timeout=10).returncode == 0
    root = os.geteuid() == 0
    return Capabilities(namespaces=namespaces, pids_cgroup=_pids_cgroup_base() if root else None, root=root)


def run_in_sandbox(code: str, limits: SandboxLimits | None = None, *, tmp_root: str | Path | None = None
                   ) -> SandboxResult:
    """Run `code` as a program in the sandbox; `tmp_root`: where its private directory is made (default: TMPDIR)."""
    import subprocess  # here, not at the top: see the module docstring

    limits = limits or SandboxLimits()
    caps = sandbox_capabilities()
    workdir = os.path.realpath(tempfile.mkdtemp(prefix="infir-sandbox-", dir=tmp_root))
    cgroup = _make_cgroup(caps.pids_cgroup, limits.processes) if caps.pids_cgroup else None
    read_fd, write_fd = os.pipe()
    try:
        Path(workdir, PROGRAM).write_text(code, encoding="utf-8")
        isolation, config, nproc_relative = _plan(caps, cgroup, limits, workdir, write_fd)
        command = [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), "supervise", json.dumps(config)]
        if caps.namespaces:
            command = [shutil.which("unshare"), *UNSHARE_FLAGS, *command]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            process = subprocess.Popen(
                command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                pass_fds=(write_fd,), start_new_session=True,
                preexec_fn=functools.partial(_limit_child, limits, cgroup, nproc_relative))
            os.close(write_fd)
            write_fd = -1
            try:
                process.wait(timeout=limits.wall_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_everything(process.pid, cgroup)  # what the code left behind (a pid namespace took it already)
            process.wait()
            wall_s = time.monotonic() - start
            stdout, stderr = (_tail(f, limits.output_chars) for f in (out, err))
        report = _read_report(read_fd)
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        if cgroup:
            _remove_cgroup(cgroup)
        _remove_tree(workdir)
    status, returncode, reason = _classify(timed_out, report, stderr, limits)
    isolation += [*report.get("layers", []), "audit-guard"]
    return SandboxResult(status, returncode, stdout, stderr, wall_s, isolation, reason)


def _plan(caps: Capabilities, cgroup: str | None, limits: SandboxLimits, workdir: str, report_fd: int
          ) -> tuple[list[str], dict, int | None]:
    """The layers this run gets, the supervisor's configuration, and an RLIMIT_NPROC to set before it starts."""
    isolation = ["process", "private-dir", "rlimits", "wall-timeout"]
    if caps.namespaces:
        isolation += ["user-namespace", "no-network", "pid-namespace", "mount-namespace"]
    nproc_inside = nproc_relative = None
    if cgroup:
        isolation.append("process-limit:cgroup-pids")
    elif not caps.root and caps.namespaces:  # the count starts afresh in the new user namespace
        nproc_inside = limits.processes
        isolation.append("process-limit:rlimit-nproc")
    elif not caps.root:
        nproc_relative = _user_task_count() + limits.processes
        isolation.append("process-limit:rlimit-nproc-relative")
    else:  # root without a cgroup: nothing limits the count, so the guard refuses fork
        isolation.append("no-fork")
    config = {"dir": workdir, "python": sys.executable, "report_fd": report_fd, "mount": caps.namespaces,
              "nproc": nproc_inside, "allow_fork": "no-fork" not in isolation}
    return isolation, config, nproc_relative


def _classify(timed_out: bool, report: dict, stderr: str, limits: SandboxLimits) -> tuple[Status, int | None, str]:
    if timed_out:
        return "timeout", None, f"wall-clock limit of {limits.wall_s:g} s exceeded"
    if "error" in report:
        return "error", SETUP_FAILED, f"sandbox set-up failed: {report['error']}"
    if "exit" not in report:
        return "error", None, "the sandbox ended without a report: " + (_last_line(stderr) or "no output")
    code = report["exit"]
    if code == 0:
        return "passed", 0, ""
    if code > 0:
        return "failed", code, _last_line(stderr) or f"exit code {code}"
    signum = -code
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL and report["cpu_s"] >= limits.cpu_s):
        return "timeout", code, f"CPU limit of {limits.cpu_s} s exceeded"
    if signum == signal.SIGXFSZ:
        return "killed", code, f"file size limit of {limits.file_size_mb} MiB exceeded"
    return "killed", code, f"killed by {signal.Signals(signum).name}"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _tail(f, chars: int) -> str:
    f.seek(0)
    text = f.read().decode("utf-8", errors="replace")
    return text if len(text) <= chars else "[...]\n" + text[-chars:]  # the end holds the traceback


def _read_report(fd: int) -> dict:
    """The supervisor's lines (its layers, a set-up error, the code's exit), merged."""
    os.set_blocking(fd, False)  # whatever the supervisor wrote before it ended; nothing else holds the pipe
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            data += chunk
    report: dict = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        report.update(json.loads(line))
    return report


def _limit_child(limits: SandboxLimits, cgroup: str | None, nproc: int | None) -> None:
    """In the child, before it runs anything: join the cgroup and set the limits every later process inherits."""
    if cgroup:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write("0")  # 0: the writing process
    mib = 2**20
    for name, soft, hard in (("CPU", limits.cpu_s, limits.cpu_s + 1), ("AS", limits.memory_mb * mib, None),
                             ("FSIZE", limits.file_size_mb * mib, None), ("CORE", 0, None)):
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (soft, soft if hard is None else hard))
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _user_task_count() -> int:
    import psutil

    uid = os.getuid()  # RLIMIT_NPROC counts threads (tasks) of the real user id
    return sum(p.info["num_threads"] or 1 for p in psutil.process_iter(["uids", "num_threads"])
               if p.info["uids"] and p.info["uids"].real == uid)


def _kill_everything(pgid: int, cgroup: str | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while cgroup and time.monotonic() < deadline:  # a process that left the group cannot leave the cgroup
        pids = [int(p) for p in Path(cgroup, "cgroup.procs").read_text().split()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _pids_cgroup_base() -> str | None:
    """The directory of this process's cgroup in a hierarchy with the pids controller, if children can be made."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ["unified"]:
            own[controller] = path
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" - ")
        mount_point, (fstype, _, options) = _unescape(fields[0].split()[4]), fields[1].split(maxsplit=2)
        if fstype == "cgroup" and "pids" in options.split(","):
            base = mount_point + own.get("pids", "/")
        elif fstype == "cgroup2" and "unified" in own:
            base = mount_point + own["unified"]
            subtree = Path(base, "cgroup.subtree_control")
            if not subtree.is_file() or "pids" not in subtree.read_text().split():
                continue
        else:
            continue
        probe = _make_cgroup(base, 1)
        if probe:
            _remove_cgroup(probe)
            return base
    return None


def _make_cgroup(base: str, processes: int) -> str | None:
    try:
        path = tempfile.mkdtemp(prefix="infir-sandbox-", dir=base)
    except OSError:
        return None
    try:
        Path(path, "pids.max").write_text(str(processes))
        return path
    except OSError:
        _remove_cgroup(path)
        return None


def _remove_cgroup(path: str) -> None:
    for _ in range(100):  # a cgroup is busy until the kernel has reaped its last process
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def _remove_tree(path: str) -> None:
    os.chmod(path, 0o700)  # the code may have taken its own permissions away
    for root, folders, _ in os.walk(path):  # top-down: each folder is opened up before it is entered
        for name in folders:
            if not os.path.islink(os.path.join(root, name)):  # chmod would follow a link out of the folder
                os.chmod(os.path.join(root, name), 0o700)
    shutil.rmtree(path)


def _unescape(field_text: str) -> str:
    """A path as /proc/self/mountinfo writes it (space, tab, newline and backslash as octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)


# ---- inside the sandbox ---------------------------------------------------------------------------------------------
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 21
# A read-only remount must repeat the flags the mount has, or the kernel refuses it in a user namespace.
KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
              (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME))
PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, PR_SET_NO_NEW_PRIVS = 28, 0b11, 38
CAPABILITY_VERSION_3 = 0x20080522


def _supervise(config: dict) -> None:
    """The sandbox's init: set up what needs privileges, run the code in a child without them, report its end."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    report = config["report_fd"]
    os.set_inheritable(report, False)  # the code's process must not be able to write a report
    layers = _read_only_except(libc, config["dir"]) if config["mount"] else []
    if config["nproc"] is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (config["nproc"],) * 2)
    os.write(report, (json.dumps({"layers": layers + ["no-capabilities"]}) + "\n").encode())
    pid = os.fork()
    if pid == 0:
        try:
            _drop_capabilities(ctypes, libc)
            guard = {"dir": config["dir"], "allow_fork": config["allow_fork"]}
            python = config["python"]
            os.execv(python, [python, "-I", "-S", "-B", os.path.abspath(__file__), "guard", json.dumps(guard)])
        except BaseException as e:  # whatever it was, the code must not run
            os.write(report, (json.dumps({"error": repr(e)}) + "\n").encode())
        finally:
            os._exit(SETUP_FAILED)
    _, status, usage = os.wait4(pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    os.write(report, (json.dumps({"exit": exit_code, "cpu_s": usage.ru_utime + usage.ru_stime}) + "\n").encode())


def _read_only_except(libc, directory: str) -> list[str]:
    """Remount every mount read-only but `directory` (made a mount of its own first)."""

    def mount(source, target: str, flags: int) -> bool:
        return libc.mount(source, os.fsencode(target), None, flags, None) == 0

    if not mount(os.fsencode(directory), directory, MS_BIND | MS_REC):
        return []
    os.chdir(directory)  # the working directory still refers to the mount below, which is about to turn read-only
    left = 0
    with open("/proc/self/mountinfo", "rb") as f:
        targets = [_unescape(os.fsdecode(line.split()[4])) for line in f]
    for target in targets:
        if target == directory or target.startswith(directory + "/"):
            continue
        try:
            kept = os.statvfs(target).f_flag
        except OSError:
            left += 1
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | sum(ms for st, ms in KEPT_FLAGS if kept & st)
        left += not mount(None, target, flags)
    return ["read-only-fs"] if not left else [f"read-only-fs-partial ({left} mounts left writable)"]


def _drop_capabilities(ctypes, libc) -> None:
    """No capabilities, none regained by exec (root included), no new privileges from set-uid or file capabilities."""
    ulong = ctypes.c_ulong
    if os.geteuid() == 0:
        if libc.prctl(PR_SET_SECUREBITS, ulong(SECBIT_NOROOT_LOCKED), ulong(0), ulong(0), ulong(0)) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECUREBITS)")
        header, data = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0), (ctypes.c_uint32 * 6)()
        if libc.capset(header, data) != 0:
            raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


REFUSED_EVENTS = ("socket.", "ctypes.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
                  "os.forkpty", "pty.", "os.kill", "os.killpg", "signal.pthread_kill", "fcntl.ioctl", "gc.get_",
                  "os.unshare", "os.setns", "sys.remote_exec")
REFUSED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess"})
PATH_EVENTS = frozenset({"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.link",
                         "os.symlink", "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.mkfifo",
                         "os.mknod", "os.setxattr", "os.removexattr", "shutil.rmtree", "shutil.copyfile",
                         "shutil.copymode", "shutil.copystat", "shutil.copytree", "shutil.move", "shutil.chown"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _make_guard(directory: str, allow_fork: bool):
    """The audit hook. Only the interpreter's hook list holds it (no frame does), and gc's walkers are refused, so
    the code cannot reach its closure to change it."""
    allowed_roots = (directory + os.sep,)

    def inside(path) -> bool:
        real = os.path.realpath(os.fsdecode(path))
        return real == directory or real == os.devnull or real.startswith(allowed_roots)

    def guard(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or inside(path):
                return
            if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS:
                raise PermissionError(f"sandbox: writing outside its directory is not allowed: {path}")
            if mode is None and os.path.isdir(path):  # os.open: a directory descriptor would serve as a dir_fd
                raise PermissionError(f"sandbox: opening a directory outside its directory is not allowed: {path}")
        elif event in PATH_EVENTS:
            paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
            fds = [a for a in args[:1] if isinstance(a, int)]  # an operation on an open file, wherever it is
            if fds or not all(inside(p) for p in paths):
                raise PermissionError(f"sandbox: {event} outside its directory is not allowed")
        elif event == "import" and args[0] in REFUSED_IMPORTS:
            raise ImportError(f"sandbox: importing {args[0]} is not allowed")
        elif event.startswith(REFUSED_EVENTS) or (event == "os.fork" and not allow_fork):
            raise PermissionError(f"sandbox: {event} is not allowed")

    return guard


def _run_guarded(config: dict) -> None:
    directory = os.path.realpath(config["dir"])
    sys.addaudithook(_make_guard(directory, config["allow_fork"]))  # from here on nothing can remove it
    path = os.path.join(directory, PROGRAM)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    sys.argv = [path]
    exec(compile(source, path, "exec"), {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})


if __name__ == "__main__":
    {"supervise": _supervise, "guard": _run_guarded}[sys.argv[1]](json.loads(sys.argv[2]))
