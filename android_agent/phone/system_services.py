"""The simulated phone's system services as the shell reaches them: pm, am, monkey, ime, settings, run-as, dumpsys.

Outputs follow Android 14's wording where clients parse them (`package:<name>`, `Success`, `mCurrentFocus=Window{...}`,
`Broadcast completed: result=-1, data="success"`). Apps are the `Phone`'s; packages installed with `pm install` are
registered from their manifest (apk_manifest.py) but have no screens. The AdbKeyboard IME that uiautomator2 installs
behaves as the real one: once it is the selected input method, its broadcasts type into the focused field.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import threading
import zlib
from dataclasses import dataclass

from android_agent.errors import PhoneError
from android_agent.phone.apk_manifest import ApkError, ApkManifest, read_manifest
from android_agent.phone.apps import LAUNCHER
from android_agent.phone.file_store import FileStore
from android_agent.phone.phone import Phone
from android_agent.phone.ui_selector import focused_editable

STOCK_IME = "com.android.inputmethod.latin/.LatinIME"
SYSTEM_PACKAGES = ("android", "com.android.shell", "com.android.systemui", "com.android.inputmethod.latin")
STATE_FILE = "files/state.json"  # the app-private file `run-as` reads and replaces (the tasks' app state)
BROADCAST_SUCCESS = 'Broadcast completed: result=-1, data="success"'
BROADCAST_UNHANDLED = "Broadcast completed: result=0"
# am's options that take one value, and the typed extras that take a key and a value.
_AM_VALUE_OPTIONS = {"-a", "-c", "-d", "-t", "-n", "-f", "--user", "-p"}
_AM_EXTRA_OPTIONS = {"-e", "--es", "--ei", "--ez", "--el", "--ef", "--eu"}


@dataclass
class ShellResult:
    """What one command line printed and its exit code; `keeps_running` for a server process that only ends when
    its adb connection closes (the uiautomator server launched with app_process)."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    keeps_running: bool = False
    terminal: bytes | None = None  # both streams in the order printed, as a v1 shell's terminal shows them

    @property
    def output(self) -> bytes:
        return self.terminal if self.terminal is not None else self.stdout + self.stderr

    @classmethod
    def text(cls, stdout: str = "", stderr: str = "", exit_code: int = 0) -> ShellResult:
        return cls(_line(stdout), _line(stderr), exit_code)


def _line(text: str) -> bytes:
    return (text + "\n").encode() if text else b""


def _fail(message: str, exit_code: int = 1) -> ShellResult:
    return ShellResult.text(stderr=message, exit_code=exit_code)


def stable_number(text: str, low: int, span: int) -> int:
    """A pid or object id that stays the same for the same name, as on a phone that does not reboot."""
    return low + zlib.crc32(text.encode()) % span


def _am_parse(args: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(options, extras, remaining words) of an `am start` / `am broadcast` argument list."""
    options: dict[str, str] = {}
    extras: dict[str, str] = {}
    rest: list[str] = []
    words = iter(args)
    for word in words:
        if word in _AM_VALUE_OPTIONS:
            options[word] = next(words, "")
        elif word in _AM_EXTRA_OPTIONS:
            key = next(words, "")
            extras[key] = next(words, "")
        elif word.startswith("-"):
            options[word] = ""
        else:
            rest.append(word)
    return options, extras, rest


class SystemServices:
    """State the shell's system commands share: installed packages, running apps, settings and input methods."""

    def __init__(self, phone: Phone, files: FileStore) -> None:
        self.phone = phone
        self.files = files
        self._lock = threading.Lock()
        self._installed: dict[str, ApkManifest] = {}
        self._home = phone.current_app()[0]  # the launcher a phone boots into, always running
        self._running: set[str] = {self._home}
        self._enabled_imes = {STOCK_IME}
        self._settings: dict[str, dict[str, str]] = {
            "system": {"screen_brightness": "128", "screen_brightness_mode": "0", "pointer_location": "0"},
            "secure": {"default_input_method": STOCK_IME, "enabled_input_methods": STOCK_IME},
            "global": {"airplane_mode_on": "0", "adb_enabled": "1"},
        }
        self.commands = {
            "pm": self.pm, "am": self.am, "monkey": self.monkey, "ime": self.ime, "settings": self.settings,
            "run-as": self.run_as,
        }

    # ---- packages -----------------------------------------------------------------------------------------
    def packages(self) -> list[str]:
        with self._lock:
            installed = list(self._installed)
        return sorted({*SYSTEM_PACKAGES, *self.phone.packages(), *installed})

    def running_packages(self) -> list[str]:
        with self._lock:
            running = set(self._running)
        return sorted(running | {self.phone.current_app()[0]})

    def _launch(self, package: str) -> None:
        self.phone.start_app(package)
        with self._lock:
            self._running.add(package)

    def pm(self, args: list[str]) -> ShellResult:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        if sub == "list" and rest[:1] == ["packages"]:
            return self._pm_list(rest[1:])
        if sub == "path" and rest:
            if rest[-1] not in self.packages():
                return ShellResult(exit_code=1)
            install_id = stable_number(rest[-1], 10**6, 9 * 10**6)
            return ShellResult.text(f"package:/data/app/~~{install_id}/{rest[-1]}-1/base.apk")
        if sub == "install" and rest:
            return self._pm_install(rest)
        if sub == "uninstall" and rest:
            return self._pm_uninstall(rest[-1])
        return _fail(f"Unknown command: {' '.join(args)}" if args else "usage: pm list|path|install|uninstall ...")

    def _pm_list(self, args: list[str]) -> ShellResult:
        flags, words = set(), []
        items = iter(args)
        for item in items:
            if item == "--user":
                next(items, None)  # one user on the simulated phone
            elif item.startswith("-"):
                flags.add(item)
            else:
                words.append(item)
        name_filter = words[-1] if words else ""
        names = [p for p in self.packages() if name_filter in p]
        system = {*SYSTEM_PACKAGES, LAUNCHER}  # a phone's home launcher ships in its system image
        if "-3" in flags:
            names = [p for p in names if p not in system]
        if "-s" in flags:
            names = [p for p in names if p in system]
        return ShellResult.text("\n".join(f"package:{name}" for name in names))

    def _pm_install(self, args: list[str]) -> ShellResult:
        path = args[-1]
        try:
            manifest = read_manifest(self.files.read(path))
        except (FileNotFoundError, IsADirectoryError):
            return _fail(f"Error: Unable to open file: {path}\nConsider using a file under /data/local/tmp/")
        except ApkError as error:
            return ShellResult.text(f"Failure [INSTALL_PARSE_FAILED_NOT_APK: {error}]", exit_code=1)
        if manifest.package in self.phone.packages() or manifest.package in SYSTEM_PACKAGES:
            return ShellResult.text("Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: signatures do not match]",
                                    exit_code=1)
        with self._lock:
            if manifest.package in self._installed and "-r" not in args:
                return ShellResult.text("Failure [INSTALL_FAILED_ALREADY_EXISTS]", exit_code=1)
            self._installed[manifest.package] = manifest
        return ShellResult.text("Success")

    def _pm_uninstall(self, package: str) -> ShellResult:
        with self._lock:
            manifest = self._installed.pop(package, None)
            if manifest is None:
                return ShellResult.text("Failure [DELETE_FAILED_INTERNAL_ERROR]", exit_code=1)
            self._running.discard(package)
            self._enabled_imes -= set(manifest.input_methods)
            if self._settings["secure"]["default_input_method"] in manifest.input_methods:
                self._settings["secure"]["default_input_method"] = STOCK_IME
        return ShellResult.text("Success")

    # ---- activities ---------------------------------------------------------------------------------------
    def am(self, args: list[str]) -> ShellResult:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        if sub in ("start", "start-activity"):
            return self._am_start(rest)
        if sub == "force-stop" and rest:
            if rest[-1] in self.phone.packages():
                self.phone.stop_app(rest[-1])
            with self._lock:
                self._running.discard(rest[-1])
            return ShellResult()
        if sub == "broadcast":
            return self._broadcast(rest)
        return _fail(f"Unknown command: {sub}" if sub else "usage: am start|force-stop|broadcast ...")

    def _am_start(self, args: list[str]) -> ShellResult:
        options, _, _ = _am_parse(args)
        component = options.get("-n", "")
        if not component:
            described = " ".join(f"{k.strip('-')}={v}" for k, v in options.items() if v)
            return _fail(f"Error: Activity not started, unable to resolve Intent {{ {described} }}")
        package = component.split("/", 1)[0]
        if package not in self.phone.packages():
            return ShellResult.text(f"Starting: Intent {{ cmp={component} }}", f"Error type 3\nError: Activity class "
                                    f"{{{component}}} does not exist.", exit_code=1)
        if "-S" in options:
            self.phone.stop_app(package)
        self._launch(package)
        return ShellResult.text(f"Starting: Intent {{ cmp={component} }}")

    def monkey(self, args: list[str]) -> ShellResult:
        options, _, _ = _am_parse(args)
        package = options.get("-p", "")
        if package not in self.phone.packages():
            return _fail("** No activities found to run, monkey aborted.", exit_code=252)
        self._launch(package)
        return ShellResult.text(f"  bash arg: -p\n  bash arg: {package}\nEvents injected: 1\n"
                                "## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)")

    # ---- input methods and settings -----------------------------------------------------------------------
    def _all_imes(self) -> list[str]:
        with self._lock:
            return [STOCK_IME] + [ime for manifest in self._installed.values() for ime in manifest.input_methods]

    def ime(self, args: list[str]) -> ShellResult:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        if sub == "list":
            with self._lock:
                enabled = set(self._enabled_imes)
            imes = [ime for ime in self._all_imes() if "-a" in rest or ime in enabled]
            return ShellResult.text("\n".join(imes if "-s" in rest else (f"{ime}:\n  mId={ime}" for ime in imes)))
        if sub in ("enable", "disable", "set") and rest:
            ime_id = rest[-1]
            if ime_id not in self._all_imes():
                return _fail(f"Unknown input method {ime_id} cannot be {sub}d for user #0")
            with self._lock:
                if sub == "enable":
                    self._enabled_imes.add(ime_id)
                elif sub == "disable" and ime_id != STOCK_IME:
                    self._enabled_imes.discard(ime_id)
                    if self._settings["secure"]["default_input_method"] == ime_id:
                        self._settings["secure"]["default_input_method"] = STOCK_IME
                elif sub == "set":
                    self._enabled_imes.add(ime_id)
                    self._settings["secure"]["default_input_method"] = ime_id
            if sub == "set":
                return ShellResult.text(f"Input method {ime_id} selected for user #0")
            return ShellResult.text(f"Input method {ime_id}: now {sub}d")
        return _fail("usage: ime list|enable|disable|set ...")

    def settings(self, args: list[str]) -> ShellResult:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        namespace = rest[0] if rest else ""
        if namespace not in self._settings:
            return _fail(f"Invalid namespace '{namespace}'" if sub else "usage: settings get|put|delete|list NAMESPACE")
        with self._lock:
            table = self._settings[namespace]
            if sub == "get" and len(rest) == 2:
                return ShellResult.text(table.get(rest[1], "null"))
            if sub == "put" and len(rest) >= 3:
                table[rest[1]] = rest[2]
                return ShellResult()
            if sub == "delete" and len(rest) == 2:
                return ShellResult.text(f"Deleted {int(table.pop(rest[1], None) is not None)} rows")
            if sub == "list":
                return ShellResult.text("\n".join(f"{k}={v}" for k, v in sorted(table.items())))
        return _fail(f"Invalid command: {' '.join(args)}")

    def _keyboard_active(self, package: str) -> bool:
        with self._lock:
            current = self._settings["secure"]["default_input_method"]
            manifest = self._installed.get(package)
        return manifest is not None and current in manifest.input_methods

    def _broadcast(self, args: list[str]) -> ShellResult:
        options, extras, _ = _am_parse(args)
        action = options.get("-a", "")
        intent = f"Broadcasting: Intent {{ act={action} flg=0x400000{' (has extras)' if extras else ''} }}"
        # The AdbKeyboard receiver only exists while the IME is the selected one, as on a real phone.
        if not action.startswith("ADB_KEYBOARD_") or not self._keyboard_active("com.github.uiautomator"):
            return ShellResult.text(f"{intent}\n{BROADCAST_UNHANDLED}")
        field = focused_editable(self.phone.root())
        if action in ("ADB_KEYBOARD_INPUT_TEXT", "ADB_KEYBOARD_SET_TEXT"):
            try:
                text = base64.b64decode(extras.get("text", ""), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return ShellResult.text(f"{intent}\nBroadcast completed: result=0, data=\"invalid base64 text\"")
            if field is not None and action == "ADB_KEYBOARD_SET_TEXT":
                self.phone.set_text(field, text)
            else:
                self.phone.input_text(text)
        elif action == "ADB_KEYBOARD_CLEAR_TEXT" and field is not None:
            self.phone.set_text(field, "")
        elif action == "ADB_KEYBOARD_INPUT_KEYCODE":
            self.phone.press_key(int(extras.get("code", "0")))
        elif action in ("ADB_KEYBOARD_EDITOR_CODE", "ADB_KEYBOARD_SMART_ENTER"):
            self.phone.press_key("enter")
        return ShellResult.text(f"{intent}\n{BROADCAST_SUCCESS}")

    # ---- app data -----------------------------------------------------------------------------------------
    def run_as(self, args: list[str]) -> ShellResult:
        """`run-as <pkg> cat files/state.json` and `run-as <pkg> cp <pushed file> files/state.json`."""
        if len(args) < 2:
            return _fail("usage: run-as <package-name> <command>")
        package, command = args[0], args[1:]
        if package not in self.phone.packages():
            reason = "package not debuggable" if package in self.packages() else "unknown package"
            return _fail(f"run-as: {reason}: {package}")
        data_dir = f"/data/user/0/{package}"
        state_paths = {posixpath.join(data_dir, STATE_FILE), posixpath.join(f"/data/data/{package}", STATE_FILE)}

        def is_state(path: str) -> bool:
            return posixpath.normpath(posixpath.join(data_dir, path)) in state_paths

        if command[0] == "cat" and len(command) == 2 and is_state(command[1]):
            return ShellResult.text(json.dumps(self.phone.app_state(package)))
        if command[0] == "cp" and len(command) == 3 and is_state(command[2]):
            try:
                state = json.loads(self.files.read(command[1]))
                self.phone.set_app_state(package, state)
            except (FileNotFoundError, IsADirectoryError):
                return _fail(f"cp: {command[1]}: No such file or directory")
            except (ValueError, PhoneError) as error:  # JSONDecodeError is a ValueError
                return _fail(f"cp: {command[2]}: the app rejected the state: {error}")
            return ShellResult()
        return _fail(f"run-as: {' '.join(command)}: only `cat {STATE_FILE}` and `cp <file> {STATE_FILE}` reach the "
                     "simulated app's data")

    # ---- dumpsys sections -----------------------------------------------------------------------------------
    def dumpsys_window(self) -> str:
        package, activity = self.phone.current_app()
        component = f"{package}/{activity}"
        window = f"Window{{{stable_number(component, 0x1000000, 0xEFFFFFF):x} u0 {component}}}"
        record = f"ActivityRecord{{{stable_number(package, 0x1000000, 0xEFFFFFF):x} u0 {component} t12}}"
        return (f"WINDOW MANAGER WINDOWS (dumpsys window windows)\n  Window #0 {window}:\n    mDisplayId=0 "
                f"mSession=Session{{shell}}\n\n  mCurrentFocus={window}\n  mFocusedApp={record}\n")

    def dumpsys_activity(self) -> str:
        package, activity = self.phone.current_app()
        component = f"{package}/{activity}"
        record = f"ActivityRecord{{{stable_number(package, 0x1000000, 0xEFFFFFF):x} u0 {component} t12}}"
        pid = stable_number(package, 10000, 20000)
        return (f"ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n  Display #0:\n    mResumedActivity: "
                f"{record}\n\nTASK 12:{package} id=12 userId=0\n  ACTIVITY {component} "
                f"{stable_number(component, 0x1000000, 0xEFFFFFF):x} pid={pid}\n")

    def dumpsys_package(self, package: str) -> str:
        if package not in self.packages():
            return ""
        return (f"Packages:\n  Package [{package}] ({stable_number(package, 0x1000000, 0xEFFFFFF):x}):\n"
                f"    versionCode=1 minSdk=28 targetSdk=34\n    versionName=1.0\n    pkgFlags=[ HAS_CODE ]\n"
                f"    firstInstallTime=2024-01-01 00:00:00\n    lastUpdateTime=2024-01-01 00:00:00\n")
