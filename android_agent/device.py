"""The device the agent operates: one interface, and its implementation over the real uiautomator2 client.

`Uiautomator2Device` handles the failures phones are known for in the field, so neither the agent nor a policy
sees them: hierarchy dumps refused while the screen animates ("could not get idle state") are retried with
backoff; text goes in through the clipboard (uiautomator2's `send_keys`, safe for spaces and non-ASCII, unlike
`input text`), is read back from the hierarchy, and falls back to setting the field's text when the clipboard is
blocked (Android 10+ limits clipboard access); a lost uiautomator connection is re-established by the client.
App state is read and written the way AndroidWorld reaches a debuggable app's data: `run-as <package>`.
"""

from __future__ import annotations

import json
import shlex
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from android_agent.actions import Command
from android_agent.errors import DeviceError
from android_agent.observation import Observation, parse_hierarchy

_IDLE_FAILURE = "idle"  # uiautomator's "could not get idle state" while a screen animates
_STATE_FILE = "files/state.json"


class Device(ABC):
    """What the agent needs from a phone: look at it, act on it, and (for tasks) read and set app state."""

    serial: str

    @abstractmethod
    def window_size(self) -> tuple[int, int]: ...

    @abstractmethod
    def observe(self, *, screenshot: bool = True) -> Observation: ...

    @abstractmethod
    def execute(self, command: Command) -> None: ...

    @abstractmethod
    def apps(self) -> dict[str, str]:
        """{label: package} of the apps `open_app` can start."""

    @abstractmethod
    def read_app_state(self, package: str) -> dict: ...

    @abstractmethod
    def write_app_state(self, package: str, state: dict) -> None: ...


@dataclass(frozen=True)
class Retry:
    """Backoff for hierarchy dumps on an animating screen: 0.05 s doubling, ~3 s in all."""

    attempts: int = 7
    first_delay_s: float = 0.05


class Uiautomator2Device(Device):
    def __init__(self, serial: str | None = None, *, host: str | None = None, port: int | None = None,
                 apps: dict[str, str] | None = None, retry: Retry = Retry()) -> None:
        import adbutils
        import uiautomator2

        try:
            adb_device = adbutils.AdbClient(host=host, port=port).device(serial)
            self._u2 = uiautomator2.connect(adb_device)
            self._size = tuple(self._u2.window_size())
        except (adbutils.AdbError, uiautomator2.exceptions.BaseException, OSError) as e:
            raise DeviceError(f"cannot connect to device {serial or '(default)'}: {e}") from e
        self.serial = adb_device.serial
        self._retry = retry
        self._apps = apps

    def window_size(self) -> tuple[int, int]:
        return self._size

    def observe(self, *, screenshot: bool = True) -> Observation:
        timings = {}
        started = time.perf_counter()
        xml = self._dump_hierarchy()
        timings["hierarchy_ms"] = (time.perf_counter() - started) * 1000
        elements = parse_hierarchy(xml)
        image = None
        if screenshot:
            shot_started = time.perf_counter()
            image = self._call(self._u2.screenshot)
            timings["screenshot_ms"] = (time.perf_counter() - shot_started) * 1000
        return Observation(xml=xml, elements=elements, size=self._size, package=_foreground_package(elements),
                           activity="", screenshot=image, timings=timings)

    def execute(self, command: Command) -> None:
        u2 = self._u2
        kind = command.kind
        if kind == "tap":
            self._call(u2.click, command.x, command.y)
        elif kind == "long_press":
            self._call(u2.long_click, command.x, command.y, command.duration_s or 0.8)
        elif kind == "swipe":
            self._call(u2.swipe, command.x, command.y, command.x2, command.y2, command.duration_s or 0.2)
        elif kind == "type":
            self._type(command)
        elif kind == "press":
            self._call(u2.press, command.key)
        elif kind == "open_app":
            self._call(u2.app_start, command.package)
        elif kind == "wait":
            time.sleep(command.seconds)
        elif kind != "done":
            raise DeviceError(f"unknown command {kind!r}")

    def apps(self) -> dict[str, str]:
        if self._apps is None:
            # a package list has no labels; these apps are named after their package (com.infir.contacts ->
            # Contacts); pass `apps=` for a real phone's apps
            output = self._shell("pm list packages -3")
            packages = [line.removeprefix("package:").strip() for line in output.splitlines() if line.strip()]
            self._apps = {p.rsplit(".", 1)[-1].replace("_", " ").title(): p for p in packages}
        return dict(self._apps)

    def read_app_state(self, package: str) -> dict:
        output = self._shell(f"run-as {shlex.quote(package)} cat {_STATE_FILE}")
        try:
            return json.loads(output)
        except json.JSONDecodeError as e:
            raise DeviceError(f"unreadable state of {package}: {output[:200]!r}") from e

    def write_app_state(self, package: str, state: dict) -> None:
        staging = f"/data/local/tmp/infir-state-{package}.json"
        self._call(self._u2.adb_device.sync.push, json.dumps(state).encode(), staging, 0o644)
        self._shell(f"run-as {shlex.quote(package)} cp {shlex.quote(staging)} {_STATE_FILE}")
        self._shell(f"rm -f {shlex.quote(staging)}")

    def _type(self, command: Command) -> None:
        import uiautomator2

        if command.x is not None:
            self._call(self._u2.click, command.x, command.y)
        if command.clear:
            self._call(self._u2.clear_text)
        before = _focused_text(self._dump_hierarchy())
        try:
            self._call(self._u2.send_keys, command.text)
            typed = _focused_text(self._dump_hierarchy())
        except DeviceError as e:
            if not isinstance(e.__cause__, uiautomator2.exceptions.UiAutomationError):
                raise
            typed = None
        if typed is not None and typed.endswith(command.text):
            return
        # the clipboard was blocked or lost the text: set the focused field's text directly
        focused = self._u2(focused=True)
        self._call(focused.set_text, (before or "") + command.text)

    def _dump_hierarchy(self) -> str:
        import uiautomator2

        delay = self._retry.first_delay_s
        for attempt in range(self._retry.attempts):
            try:
                return self._u2.dump_hierarchy()
            except uiautomator2.exceptions.RPCError as e:
                if _IDLE_FAILURE not in str(e) or attempt == self._retry.attempts - 1:
                    raise DeviceError(f"hierarchy dump failed on {self.serial}: {e}") from e
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _shell(self, command: str) -> str:
        import adbutils

        try:
            result = self._u2.adb_device.shell2(command, timeout=60)
        except adbutils.AdbError as e:
            raise DeviceError(f"`{command}` failed on {self.serial}: {e}") from e
        if result.returncode != 0:
            raise DeviceError(f"`{command}` failed on {self.serial} (exit {result.returncode}): "
                              f"{result.output.strip()[:300]}")
        return result.output

    def _call(self, function, *args):
        import adbutils
        import uiautomator2

        try:
            return function(*args)
        except (uiautomator2.exceptions.BaseException, adbutils.AdbError, OSError) as e:
            raise DeviceError(f"{getattr(function, '__name__', 'call')} failed on {self.serial}: {e}") from e


def _foreground_package(elements) -> str:
    """The package of the app the user sees: the first element below the status bar (SystemUI) that has one."""
    return next((e.package for e in elements if e.package and e.package != "com.android.systemui"), "")


def _focused_text(xml: str) -> str | None:
    focused = [e for e in parse_hierarchy(xml) if e.focused and e.editable]
    return focused[0].text if focused else None
