"""The simulated phone's `/system/bin/sh`: what `adb shell <command line>` runs.

A command line is split the way sh does (`shlex` with sh's quoting) into commands joined by `;`, `&&`, `||` and
`|`; `$?` expands to the last exit code, because adbutils appends `; echo X4EXIT:$?` to read it. Commands answer
with Android 14's output where clients parse it (`wm size`, `dumpsys display`, `getprop`, `md5sum`, `ps -A`, ...);
the system services (pm, am, ime, settings, run-as) live in system_services.py. Redirections and globbing are not
supported. An unknown command gets sh's `inaccessible or not found` and exit code 127.
"""

from __future__ import annotations

import hashlib
import io
import re
import shlex
import time
from collections.abc import Callable
from datetime import datetime

from android_agent.errors import PhoneError
from android_agent.phone.file_store import FileStore
from android_agent.phone.phone import Phone
from android_agent.phone.system_services import ShellResult, SystemServices, stable_number

OPERATORS = (";", "&&", "||", "|", "&")
KEYCODES = {
    "HOME": 3, "BACK": 4, "DPAD_UP": 19, "DPAD_DOWN": 20, "DPAD_LEFT": 21, "DPAD_RIGHT": 22, "DPAD_CENTER": 23,
    "VOLUME_UP": 24, "VOLUME_DOWN": 25, "POWER": 26, "CAMERA": 27, "TAB": 61, "SPACE": 62, "ENTER": 66, "DEL": 67,
    "MENU": 82, "SEARCH": 84, "ESCAPE": 111, "FORWARD_DEL": 112, "VOLUME_MUTE": 164, "SLEEP": 223, "WAKEUP": 224,
    "APP_SWITCH": 187,
}
LONG_PRESS_MS = 400  # Android's long-press timeout: a swipe that stays put this long is a long press
UIAUTOMATOR_MAIN = "com.wetest.uia2.Main"  # what uiautomator2 launches with app_process
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
Command = Callable[[list[str], bytes], ShellResult]


def split_command_line(line: str) -> list[tuple[str, list[str]]]:
    """[(operator before, words)]: `a; b && c` -> [(';', a), (';', b), ('&&', c)]; ValueError on bad quoting."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    commands: list[tuple[str, list[str]]] = []
    operator, words = ";", []
    for token in lexer:
        if token in OPERATORS:
            commands.append((operator, words))
            operator, words = token, []
        else:
            words.append(token)
    commands.append((operator, words))
    return [(op, w) for op, w in commands if w]


def key_code(name: str) -> int:
    """An `input keyevent` argument: 3, HOME or KEYCODE_HOME; ValueError if unknown."""
    if name.isdigit():
        return int(name)
    key = name.upper().removeprefix("KEYCODE_")
    if key not in KEYCODES:
        raise ValueError(f"unknown keycode {name}")
    return KEYCODES[key]


class DeviceShell:
    """The phone's shell: `run(line)` for adb's shell service; files, system properties and services it reaches."""

    def __init__(self, phone: Phone, files: FileStore, serial: str) -> None:
        self.phone = phone
        self.files = files
        self.serial = serial
        self.services = SystemServices(phone, files)
        self.properties = {
            "ro.build.version.sdk": "34", "ro.build.version.release": "14", "ro.build.type": "userdebug",
            "ro.build.fingerprint": "infir/infir_phone/infir:14/UP1A.231005.007/1:userdebug/test-keys",
            "ro.product.model": "Infir One", "ro.product.brand": "infir", "ro.product.name": "infir_phone",
            "ro.product.device": "infir", "ro.product.manufacturer": "InfiR", "ro.product.cpu.abi": "arm64-v8a",
            "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi", "ro.serialno": serial,
            "ro.sf.lcd_density": str(phone.density_dpi), "sys.boot_completed": "1", "persist.sys.locale": "en-US",
        }
        self.commands: dict[str, Command] = {
            "echo": self.echo, "true": lambda a, i: ShellResult(), "false": lambda a, i: ShellResult(exit_code=1),
            "sleep": self.sleep, "cat": self.cat, "ls": self.ls, "rm": self.rm, "mv": self.mv,
            "mkdir": self.mkdir,
            "chmod": self.chmod, "md5sum": lambda a, i: self.checksum(a, "md5"),
            "sha1sum": lambda a, i: self.checksum(a, "sha1"), "sha256sum": lambda a, i: self.checksum(a, "sha256"),
            "toybox": self.toybox, "grep": self.grep, "getprop": self.getprop, "wm": self.wm, "dumpsys": self.dumpsys,
            "input": self.input, "screencap": self.screencap, "uiautomator": self.uiautomator, "pidof": self.pidof,
            "ps": self.ps, "app_process": self.app_process,
        }
        for name, service in self.services.commands.items():
            self.commands[name] = lambda args, stdin, service=service: service(args)

    def run(self, line: str) -> ShellResult:
        """Run a whole command line; the result carries everything printed and the last command's exit code."""
        try:
            commands = split_command_line(line)
        except ValueError as error:
            return ShellResult.text(stderr=f"/system/bin/sh: syntax error: {error}", exit_code=2)
        stdout, stderr, terminal, exit_code, piped, keeps_running = b"", b"", b"", 0, b"", False
        for index, (operator, words) in enumerate(commands):
            if (operator == "&&" and exit_code != 0) or (operator == "||" and exit_code == 0):
                continue
            words = [word.replace("$?", str(exit_code)) for word in words]
            result = self.run_command(words, piped if operator == "|" else b"")
            feeds_pipe = index + 1 < len(commands) and commands[index + 1][0] == "|"
            piped = result.stdout if feeds_pipe else b""
            stdout += b"" if feeds_pipe else result.stdout
            stderr += result.stderr
            terminal += result.stderr if feeds_pipe else result.output
            exit_code, keeps_running = result.exit_code, result.keeps_running
            if keeps_running:
                break
        return ShellResult(stdout, stderr, exit_code, keeps_running, terminal)

    def run_command(self, words: list[str], stdin: bytes = b"") -> ShellResult:
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]  # environment assignments (CLASSPATH=...) only matter to app_process
        if not words:
            return ShellResult()
        command = self.commands.get(words[0].rsplit("/", 1)[-1])
        if command is None:
            return ShellResult.text(stderr=f"/system/bin/sh: {words[0]}: inaccessible or not found", exit_code=127)
        try:
            return command(words[1:], stdin)
        except PhoneError as error:
            return ShellResult.text(stderr=f"{words[0]}: {error}", exit_code=1)

    # ---- files ------------------------------------------------------------------------------------------------
    def echo(self, args: list[str], stdin: bytes) -> ShellResult:
        if args[:1] == ["-n"]:
            return ShellResult(" ".join(args[1:]).encode())
        return ShellResult.text(" ".join(args) or "\n")

    def sleep(self, args: list[str], stdin: bytes) -> ShellResult:
        try:
            time.sleep(float(args[0]))
        except (IndexError, ValueError):
            return ShellResult.text(stderr="sleep: need a number of seconds", exit_code=1)
        return ShellResult()

    def cat(self, args: list[str], stdin: bytes) -> ShellResult:
        if not args:
            return ShellResult(stdin)
        output, errors = b"", []
        for path in args:
            try:
                output += self.files.read(path)
            except FileNotFoundError:
                errors.append(f"cat: {path}: No such file or directory")
            except IsADirectoryError:
                errors.append(f"cat: {path}: Is a directory")
        return ShellResult(output, ShellResult.text(stderr="\n".join(errors)).stderr, 1 if errors else 0)

    def ls(self, args: list[str], stdin: bytes) -> ShellResult:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        lines, errors = [], []
        for path in [a for a in args if not a.startswith("-")] or ["/"]:
            info = self.files.stat(path)
            if info is None:
                errors.append(f"ls: {path}: No such file or directory")
                continue
            entries = self.files.list_directory(path) if info.is_dir else [(path, info)]
            for name, entry in entries:
                if name.startswith(".") and "a" not in flags:
                    continue
                if "l" not in flags:
                    lines.append(name)
                    continue
                kind = "d" if entry.is_dir else "-"
                bits = "".join(c if entry.mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
                stamp = datetime.fromtimestamp(entry.mtime).strftime("%Y-%m-%d %H:%M")
                lines.append(f"{kind}{bits} 1 shell shell {entry.size:>8} {stamp} {name}")
        return ShellResult.text("\n".join(lines), "\n".join(errors), 1 if errors else 0)

    def rm(self, args: list[str], stdin: bytes) -> ShellResult:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        errors = []
        for path in [a for a in args if not a.startswith("-")]:
            try:
                self.files.remove(path, recursive="r" in flags or "R" in flags)
            except FileNotFoundError:
                if "f" not in flags:
                    errors.append(f"rm: {path}: No such file or directory")
            except IsADirectoryError:
                errors.append(f"rm: {path}: Is a directory")
        return ShellResult.text(stderr="\n".join(errors), exit_code=1 if errors else 0)

    def mv(self, args: list[str], stdin: bytes) -> ShellResult:
        paths = [a for a in args if not a.startswith("-")]
        if len(paths) != 2:
            return ShellResult.text(stderr="usage: mv [-f] SOURCE TARGET (one file)", exit_code=1)
        try:
            self.files.move(*paths)
        except FileNotFoundError:
            return ShellResult.text(stderr=f"mv: {paths[0]}: No such file or directory", exit_code=1)
        except (IsADirectoryError, NotADirectoryError) as error:
            return ShellResult.text(stderr=f"mv: {error}: not supported", exit_code=1)
        return ShellResult()

    def mkdir(self, args: list[str], stdin: bytes) -> ShellResult:
        errors = []
        for path in [a for a in args if not a.startswith("-")]:
            info = self.files.stat(path)
            if info is not None and not (info.is_dir and "-p" in args):
                errors.append(f"mkdir: '{path}': File exists")
                continue
            try:
                self.files.make_directory(path)
            except FileExistsError:
                errors.append(f"mkdir: '{path}': Not a directory")
        return ShellResult.text(stderr="\n".join(errors), exit_code=1 if errors else 0)

    def chmod(self, args: list[str], stdin: bytes) -> ShellResult:
        if len(args) < 2 or not re.fullmatch(r"[0-7]{3,4}", args[0]):
            return ShellResult.text(stderr="chmod: only octal modes are supported: chmod 755 FILE", exit_code=1)
        errors = []
        for path in args[1:]:
            try:
                self.files.chmod(path, int(args[0], 8))
            except FileNotFoundError:
                errors.append(f"chmod: {path}: No such file or directory")
        return ShellResult.text(stderr="\n".join(errors), exit_code=1 if errors else 0)

    def checksum(self, args: list[str], algorithm: str) -> ShellResult:
        lines, errors = [], []
        for path in args:
            try:
                lines.append(f"{hashlib.new(algorithm, self.files.read(path)).hexdigest()}  {path}")
            except FileNotFoundError:
                errors.append(f"{algorithm}sum: {path}: No such file or directory")
            except IsADirectoryError:
                errors.append(f"{algorithm}sum: {path}: Is a directory")
        return ShellResult.text("\n".join(lines), "\n".join(errors), 1 if errors else 0)

    def toybox(self, args: list[str], stdin: bytes) -> ShellResult:
        return self.run_command(args, stdin) if args else ShellResult.text("toybox 0.8.9-android")

    def grep(self, args: list[str], stdin: bytes) -> ShellResult:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        words = [a for a in args if not a.startswith("-")]
        if not words:
            return ShellResult.text(stderr="usage: grep [-iv] PATTERN", exit_code=2)
        pattern = re.compile(words[0], re.IGNORECASE if "i" in flags else 0)
        lines = [ln for ln in stdin.decode(errors="replace").splitlines() if bool(pattern.search(ln)) != ("v" in flags)]
        return ShellResult.text("\n".join(lines), exit_code=0 if lines else 1)

    # ---- system -----------------------------------------------------------------------------------------------
    def getprop(self, args: list[str], stdin: bytes) -> ShellResult:
        if args:  # an unknown property prints an empty line (or the given default), as getprop does
            return ShellResult((self.properties.get(args[0], args[1] if len(args) > 1 else "") + "\n").encode())
        return ShellResult.text("\n".join(f"[{k}]: [{v}]" for k, v in sorted(self.properties.items())))

    def wm(self, args: list[str], stdin: bytes) -> ShellResult:
        width, height = self.phone.size
        if args == ["size"]:
            return ShellResult.text(f"Physical size: {width}x{height}")
        if args == ["density"]:
            return ShellResult.text(f"Physical density: {self.phone.density_dpi}")
        return ShellResult.text(stderr="wm: the simulated phone's display is fixed: only `wm size` and `wm density`",
                                exit_code=1)

    def dumpsys(self, args: list[str], stdin: bytes) -> ShellResult:
        section = args[0] if args else ""
        width, height = self.phone.size
        if section == "window":
            return ShellResult(self.services.dumpsys_window().encode())
        if section == "activity":
            return ShellResult(self.services.dumpsys_activity().encode())
        if section == "package" and len(args) > 1:
            return ShellResult(self.services.dumpsys_package(args[1]).encode())
        if section == "display":
            viewport = (f"DisplayViewport{{type=INTERNAL, valid=true, isActive=true, displayId=0, uniqueId='local:0', "
                        f"physicalPort=0, orientation=0, logicalFrame=Rect(0, 0 - {width}, {height}), physicalFrame="
                        f"Rect(0, 0 - {width}, {height}), deviceWidth={width}, deviceHeight={height}}}")
            return ShellResult.text(f"DISPLAY MANAGER (dumpsys display)\n  mViewports=[{viewport}]\n  mDisplayInfos=\n"
                                    f"    DisplayInfo{{\"Built-in Screen\", app {width} x {height}, density "
                                    f"{self.phone.density_dpi}, rotation 0}}")
        if section == "power":
            return ShellResult.text("POWER MANAGER (dumpsys power)\n  mWakefulness=Awake\n"
                                    "  mHoldingDisplaySuspendBlocker=true")
        if section == "battery":
            return ShellResult.text("Current Battery Service state:\n  AC powered: false\n  USB powered: true\n"
                                    "  present: true\n  level: 87\n  scale: 100\n  status: 2\n  health: 2")
        return ShellResult.text(stderr=f"Can't find service: {section}", exit_code=1 if section else 0)

    def pidof(self, args: list[str], stdin: bytes) -> ShellResult:
        pids = [str(stable_number(p, 10000, 20000)) for p in args if p in self.services.running_packages()]
        return ShellResult.text(" ".join(pids), exit_code=0 if pids else 1)

    def ps(self, args: list[str], stdin: bytes) -> ShellResult:
        header = "USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME"
        rows = ["root             1     0 10904220 12304 0                   0 S init"]
        for package in self.services.running_packages():
            pid = stable_number(package, 10000, 20000)
            rows.append(f"u0_a{pid % 300:<9} {pid:>5}   600 14845676 95524 0                   0 S {package}")
        return ShellResult.text("\n".join([header, *rows]))

    def app_process(self, args: list[str], stdin: bytes) -> ShellResult:
        if UIAUTOMATOR_MAIN not in args:
            return ShellResult.text(stderr="app_process: only the uiautomator server can be launched", exit_code=1)
        # The uiautomator server is always up on the simulated phone: the launched process just keeps running.
        return ShellResult(b"[server] INFO: [UiAutomator2Server] Starting Server\n", keeps_running=True)

    # ---- screen and input -----------------------------------------------------------------------------------
    def screencap(self, args: list[str], stdin: bytes) -> ShellResult:
        paths = [a for a in args if not a.startswith("-")]
        buffer = io.BytesIO()
        self.phone.screenshot().save(buffer, format="PNG")
        if paths:
            self.files.write(paths[0], buffer.getvalue())
            return ShellResult()
        return ShellResult(buffer.getvalue())

    def uiautomator(self, args: list[str], stdin: bytes) -> ShellResult:
        if args[:1] != ["dump"]:
            return ShellResult.text(stderr="Usage: uiautomator dump [--compressed] [file]", exit_code=1)
        if self.phone.is_animating():
            return ShellResult.text("ERROR: could not get idle state.", exit_code=1)
        paths = [a for a in args[1:] if not a.startswith("-")]
        path = paths[0] if paths else "/sdcard/window_dump.xml"
        self.files.write(path, self.phone.hierarchy_xml().encode())
        return ShellResult.text(f"UI hierchary dumped to: {path}")  # sic: Android's own spelling

    def input(self, args: list[str], stdin: bytes) -> ShellResult:
        if args[:1] == ["-d"]:
            args = args[2:]  # the display id: the phone has one display
        sub, rest = (args[0], args[1:]) if args else ("", [])
        try:
            if sub == "tap" and len(rest) == 2:
                self.phone.tap(*(int(float(v)) for v in rest))
            elif sub in ("swipe", "draganddrop") and len(rest) in (4, 5):
                x1, y1, x2, y2 = (int(float(v)) for v in rest[:4])
                duration_ms = int(rest[4]) if len(rest) == 5 else 300
                if (x1, y1) == (x2, y2) and duration_ms >= LONG_PRESS_MS:
                    self.phone.long_press(x1, y1)
                else:
                    self.phone.swipe(x1, y1, x2, y2)
            elif sub == "keyevent" and rest:
                return self._keyevents(rest)
            elif sub == "text" and rest:
                return self._text(rest[0])
            else:
                return ShellResult.text(stderr=f"Error: Unknown command: input {' '.join(args)}", exit_code=1)
        except ValueError:
            return ShellResult.text(stderr=f"Error: invalid arguments for input {sub}: {' '.join(rest)}", exit_code=1)
        return ShellResult()

    def _keyevents(self, args: list[str]) -> ShellResult:
        for name in (a for a in args if not a.startswith("--")):
            try:
                code = key_code(name)
            except ValueError:
                return ShellResult.text(stderr=f"Error: Unknown keycode: {name}", exit_code=1)
            if code in (KEYCODES["WAKEUP"], KEYCODES["SLEEP"]):
                continue  # the simulated screen is always on
            self.phone.press_key(code)  # --longpress too: the phone has no long-press key actions
        return ShellResult()

    def _text(self, text: str) -> ShellResult:
        """Android's `input text`: one argument, `%s` for a space, and no characters outside the key map."""
        if not text.isascii():
            return ShellResult.text(stderr="Exception occurred while executing 'text':\njava.lang.NullPointerException:"
                                    " Attempt to get length of null array", exit_code=255)
        self.phone.input_text(text.replace("%s", " "))
        return ShellResult()
