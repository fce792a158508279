"""`Phone`: the simulated Android phone the protocol servers expose and the agent operates.

It owns the installed apps, which one is in the foreground, the input focus's routing, the clipboard and the
system keys (home, back, recents). Its screen is one laid-out `View` tree per `version`: the screenshot and the
hierarchy XML are both made from that same tree and cached until the next visible change, so they always agree
and repeated observations cost nothing. Every public method holds `lock` (the servers call from their threads).
"""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from PIL import Image

from android_agent.errors import PhoneError
from android_agent.phone.apps import LAUNCHER, SETTINGS, create_apps
from android_agent.phone.apps.base import NOW, App, qualify
from android_agent.phone.hierarchy import hierarchy_xml
from android_agent.phone.render import render
from android_agent.phone.ui import FRAME, View, status_bar

# Android key names (as `input keyevent` and uiautomator take them) and their keycodes.
KEYCODES = {"home": 3, "back": 4, "up": 19, "down": 20, "left": 21, "right": 22, "center": 23, "volume_up": 24,
            "volume_down": 25, "power": 26, "camera": 27, "enter": 66, "del": 67, "menu": 82, "search": 84,
            "volume_mute": 164, "recent": 187}
KEY_ALIASES = {"delete": "del", "dpad_center": "center", "dpad_up": "up", "dpad_down": "down", "dpad_left": "left",
               "dpad_right": "right", "app_switch": "recent", "recent_apps": "recent"}
KEY_NAMES = {code: name for name, code in KEYCODES.items()}


class Phone:
    """A 1080x2400 portrait phone at 420 dpi running the launcher and six apps seeded from `seed`."""

    def __init__(self, width: int = 1080, height: int = 2400, *, seed: int = 0, animation_s: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.size = (width, height)
        self.density_dpi = 420
        self.animation_s = animation_s
        self.version = 0
        self._clipboard = ""
        self._battery = random.Random(f"{seed}:battery").randint(35, 98)
        self._apps: dict[str, App] = create_apps(self, seed)
        self._apps[LAUNCHER].start()
        self._foreground = LAUNCHER
        self._previous = ""
        self._changed_at = float("-inf")
        self._root: tuple[int, View] | None = None
        self._xml: tuple[int, str] | None = None
        self._image: tuple[int, Image.Image] | None = None
        self._jpeg: tuple[int, int, bytes] | None = None

    # -- what the screen shows ---------------------------------------------------------------------------------------
    def root(self) -> View:
        """The current screen, laid out (status bar first); shared until the next change: do not modify it."""
        with self.lock:
            if self._root is None or self._root[0] != self.version:
                app = self._apps[self._foreground]
                bar = self._status_bar()
                window = View(FRAME, (0, 0, *self.size), style="window", children=[bar, *app.window()])
                self._root = (self.version, qualify(window, app.package))
            return self._root[1]

    def hierarchy_xml(self) -> str:
        with self.lock:
            if self._xml is None or self._xml[0] != self.version:
                self._xml = (self.version, hierarchy_xml(self.root()))
            return self._xml[1]

    def screenshot(self) -> Image.Image:
        """The screen as an RGB image of exactly `size`; shared until the next change: do not modify it."""
        with self.lock:
            if self._image is None or self._image[0] != self.version:
                dark = self._apps[SETTINGS].state["dark_theme"]
                self._image = (self.version, render(self.root(), self.size, dark=dark))
            return self._image[1]

    def screenshot_jpeg(self, quality: int = 80) -> bytes:
        with self.lock:
            if self._jpeg is None or self._jpeg[:2] != (self.version, quality):
                buffer = io.BytesIO()
                self.screenshot().save(buffer, "JPEG", quality=quality)
                self._jpeg = (self.version, quality, buffer.getvalue())
            return self._jpeg[2]

    def is_animating(self) -> bool:
        """True for `animation_s` seconds after each change, when real phones refuse hierarchy dumps."""
        with self.lock:
            return time.monotonic() - self._changed_at < self.animation_s

    # -- input -------------------------------------------------------------------------------------------------------
    def tap(self, x: int, y: int) -> None:
        """Taps the topmost, deepest clickable view at the point (an editable one takes the focus)."""
        with self.lock:
            view = _hit(self.root(), x, y, lambda view: view.clickable)
            if view is not None and view.enabled and view.on_click is not None:
                self._apply(view.on_click)

    def long_press(self, x: int, y: int) -> None:
        with self.lock:
            view = _hit(self.root(), x, y, lambda view: view.clickable or view.long_clickable)
            if view is not None and view.enabled and view.on_long_click is not None:
                self._apply(view.on_long_click)

    def swipe(self, x1: int, y1: int, x2: int, y2: int) -> None:
        """Scrolls the scrollable view under the start point; a finger moving up shows what is further down."""
        with self.lock:
            view = _hit(self.root(), x1, y1, lambda view: view.scrollable)
            if view is not None and view.on_scroll is not None and view.on_scroll(y1 - y2):
                self._changed()

    def press_key(self, key: str | int) -> None:
        """A key by name (home back enter del recent menu search volume_up ...) or Android keycode."""
        with self.lock:
            name = _key_name(key)
            if name == "home":
                self._go_home()
            elif name == "back":
                self._back()
            elif name == "recent":
                if self._previous and self._apps[self._previous].running:
                    self._bring_to_front(self._previous)
            elif name in ("enter", "del"):
                view = self._focused()
                if view is not None and name == "enter" and view.on_enter is not None:
                    self._apply(view.on_enter)
                elif view is not None and name == "del" and view.text:
                    self._apply(lambda: view.on_text(view.text[:-1]))
            # Volume, power, menu, search, camera and the d-pad change nothing these apps show.

    def input_text(self, text: str) -> None:
        """Appends `text` (any unicode) to the focused editable view; without one it does nothing."""
        with self.lock:
            view = self._focused()
            if view is not None and text:
                self._apply(lambda: view.on_text(view.text + text))

    def set_text(self, view: View, text: str) -> None:
        """Replaces the text of an editable view of the current screen and focuses it."""
        with self.lock:
            if not view.editable or view.on_text is None or view.on_click is None:
                raise PhoneError(f"cannot set text on a non-editable {view.class_name}")
            focus, change = view.on_click, view.on_text

            def replace() -> None:
                focus()
                change(text)

            self._apply(replace)

    @property
    def clipboard(self) -> str:
        with self.lock:
            return self._clipboard

    @clipboard.setter
    def clipboard(self, text: str) -> None:
        with self.lock:
            self._clipboard = str(text)

    def paste(self) -> None:
        with self.lock:
            self.input_text(self._clipboard)

    # -- apps --------------------------------------------------------------------------------------------------------
    def packages(self) -> list[str]:
        with self.lock:
            return list(self._apps)

    def app_label(self, package: str) -> str:
        with self.lock:
            return self.app(package).label

    def app(self, package: str) -> App:
        with self.lock:
            if package not in self._apps:
                raise PhoneError(f"unknown package '{package}' (installed: {', '.join(self._apps)})")
            return self._apps[package]

    def start_app(self, package: str) -> None:
        """Launches `package` on its main screen (the launcher: its home screen)."""
        with self.lock:
            app = self.app(package)
            app.start()
            self._bring_to_front(package)

    def launch(self, package: str) -> None:
        """What a launcher icon does: a running app comes back as it was left, another starts."""
        with self.lock:
            if not self.app(package).running:
                self.app(package).start()
            self._bring_to_front(package)

    def stop_app(self, package: str) -> None:
        with self.lock:
            app = self.app(package)
            if package == LAUNCHER:
                app.start()  # the home app is restarted by the system at once
            else:
                app.stop()
            if package == self._foreground:
                self._foreground = LAUNCHER
            self._changed()

    def current_app(self) -> tuple[str, str]:
        with self.lock:
            return self._foreground, self._apps[self._foreground].activity

    def app_state(self, package: str) -> dict[str, Any]:
        with self.lock:
            return self.app(package).export_state()

    def set_app_state(self, package: str, state: dict[str, Any]) -> None:
        """Replaces an app's persistent state (validated); an open app goes back to its main screen."""
        with self.lock:
            self.app(package).replace_state(state)
            self._changed()

    # -- internals ---------------------------------------------------------------------------------------------------
    def _apply(self, action: Callable[[], None]) -> None:
        action()
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._changed_at = time.monotonic()

    def _bring_to_front(self, package: str) -> None:
        if package != self._foreground:
            self._previous = self._foreground if self._foreground != LAUNCHER else self._previous
            self._foreground = package
        self._changed()

    def _go_home(self) -> None:
        launcher = self._apps[LAUNCHER]
        if self._foreground == LAUNCHER and len(launcher.stack) == 1:
            return
        launcher.start()
        self._bring_to_front(LAUNCHER)

    def _back(self) -> None:
        if self._apps[self._foreground].back():
            self._changed()
        elif self._foreground != LAUNCHER:
            self._go_home()

    def _focused(self) -> View | None:
        return next((view for view in self.root().walk() if view.focused and view.editable), None)

    def _status_bar(self) -> View:
        settings = self._apps[SETTINGS].state
        icons = [symbol for key, symbol in (("do_not_disturb", "⊖"), ("bluetooth", "BT"), ("wifi", "Wi-Fi"),
                                            ("airplane_mode", "✈")) if settings[key]]
        return status_bar(self.size[0], NOW.strftime("%H:%M"), battery=self._battery, icons=" ".join(icons))


def _hit(view: View, x: int, y: int, wanted: Callable[[View], bool]) -> View | None:
    """The topmost (last drawn), deepest view at (x, y) that `wanted` accepts, as Android dispatches a touch."""
    x1, y1, x2, y2 = view.bounds
    if not (x1 <= x < x2 and y1 <= y < y2):
        return None
    for child in reversed(view.children):
        found = _hit(child, x, y, wanted)
        if found is not None:
            return found
    return view if wanted(view) else None


def _key_name(key: str | int) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        if key not in KEY_NAMES:
            raise PhoneError(f"unsupported keycode {key} (known: {sorted(KEY_NAMES)})")
        return KEY_NAMES[key]
    if not isinstance(key, str):
        raise PhoneError(f"a key is a name or a keycode, not {type(key).__name__}")
    name = key.strip().lower().removeprefix("keycode_")
    name = KEY_ALIASES.get(name, name)
    if name.isdigit():
        return _key_name(int(name))
    if name not in KEYCODES:
        raise PhoneError(f"unknown key '{key}' (known: {', '.join(KEYCODES)})")
    return name
