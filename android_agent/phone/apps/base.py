"""What every simulated app shares: persistent state, a stack of screens, and how a screen becomes a window.

An app keeps its persistent state as the JSON-able dict `app_state` returns (so a task's check reads exactly what
the app shows), and a stack of `Screen`s: the activity name, its parameters and the transient state a real activity
keeps (typed text, focus, scroll position, an open dialog, a validation error). Each time the phone needs the
screen, the top screen's builder turns state into a `Page` (title, fixed views, a scrolling list, a footer, a FAB)
and `App.window` lays the page out under the status bar: views are rebuilt from state, never mutated in place.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from android_agent.errors import PhoneError
from android_agent.phone.ui import (
    APP_BAR_H,
    PAD,
    STATUS_BAR_H,
    TOUCH,
    Color,
    DialogButton,
    View,
    app_bar,
    dialog,
    edit_text,
    scroll_list,
    stack,
    text_view,
    translate,
)

# The simulated phone's clock stands still, so that the same seed gives the same pixels.
NOW = datetime(2025, 3, 14, 9, 41)


class Host(Protocol):
    """What an app may ask of the phone it runs on."""

    size: tuple[int, int]

    def app(self, package: str) -> App: ...

    def packages(self) -> list[str]: ...

    def launch(self, package: str) -> None: ...


@dataclass
class ConfirmDialog:
    title: str
    message: str
    confirm: str
    on_confirm: Callable[[], None]


@dataclass
class Screen:
    """One activity on an app's back stack and the transient state it holds."""

    activity: str
    build: Callable[[Screen], Page]
    params: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    focus: str = ""
    first: int = 0
    dialog: ConfirmDialog | None = None
    error: str = ""


@dataclass
class Page:
    """A screen's content before layout: `body` under the app bar, then `rows` scrolling, then `footer` at the
    bottom; `title` None hides the app bar (the launcher)."""

    title: str | None
    body: list[View] = field(default_factory=list)
    rows: list[View] | None = None
    empty: str = ""
    from_end: bool = False
    footer: list[View] = field(default_factory=list)
    actions: list[View] = field(default_factory=list)
    fab: View | None = None


class App:
    """Base of the simulated apps; a subclass sets the class attributes and the four methods below."""

    package: str = ""
    label: str = ""
    tint: Color = (26, 115, 232)

    def __init__(self, host: Host, seed: int) -> None:
        self.host = host
        self.seed = seed
        self.state: dict[str, Any] = self.initial_state(random.Random(f"{seed}:{self.package}"))
        self.stack: list[Screen] = []

    # -- what each app defines ---------------------------------------------------------------------------------------
    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, state: Any) -> dict[str, Any]:
        """A checked, normalized copy of `state`; PhoneError names the first problem."""
        raise NotImplementedError

    def main_screen(self) -> Screen:
        raise NotImplementedError

    # -- state -------------------------------------------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        return copy.deepcopy(self.state)

    def replace_state(self, state: Any) -> None:
        self.state = self.validate(state)
        if self.stack:
            self.stack = [self.main_screen()]

    def next_id(self, items: list[dict[str, Any]]) -> int:
        return max((item["id"] for item in items), default=0) + 1

    # -- navigation --------------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self.stack)

    def start(self) -> None:
        self.stack = [self.main_screen()]

    def stop(self) -> None:
        self.stack = []

    def open(self, screen: Screen) -> None:
        self.stack.append(screen)

    def replace_top(self, screen: Screen) -> None:
        self.stack[-1] = screen

    def back(self) -> bool:
        """Android's back: closes a dialog, else the top screen; False at the main screen (the phone goes home)."""
        top = self.stack[-1]
        if top.dialog is not None:
            top.dialog = None
            return True
        if len(self.stack) > 1:
            self.stack.pop()
            return True
        return False

    @property
    def activity(self) -> str:
        return self.stack[-1].activity

    # -- building blocks for screens ---------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.host.size[0]

    @property
    def inner(self) -> int:
        return self.host.size[0] - 2 * PAD

    def field(self, screen: Screen, rid: str, hint: str, *, lines: int = 1, width: int = 0,
              on_enter: Callable[[], None] | None = None) -> View:
        """A text field whose text lives in `screen.fields[rid]`; tapping it moves the focus there."""

        def set_text(text: str) -> None:
            screen.fields[rid] = text
            screen.error = ""

        def focus() -> None:
            screen.focus = rid

        focused = screen.focus == rid and screen.dialog is None  # a dialog takes the input focus
        return edit_text(rid, hint, screen.fields.get(rid, ""), width or self.inner, focused=focused,
                         on_focus=focus, on_text=set_text, on_enter=on_enter, lines=lines)

    def fail(self, screen: Screen, message: str) -> None:
        """A validation error: shown on the screen, the state untouched."""
        screen.error = message

    # -- layout ------------------------------------------------------------------------------------------------------
    def window(self) -> list[View]:
        """The top screen laid out below the status bar: the app's part of the root's children."""
        screen = self.stack[-1]
        page = screen.build(screen)
        width, height = self.host.size
        views: list[View] = []
        top = STATUS_BAR_H
        if page.title is not None:
            on_back = self._up if len(self.stack) > 1 else None
            views.append(translate(app_bar(page.title, width, on_back=on_back, actions=page.actions, tint=self.tint),
                                   0, top))
            top += APP_BAR_H
        body = list(page.body)
        if screen.error:
            body.insert(0, text_view(screen.error, self.inner, style="error", rid="error", lines=0))
        if body:
            placed = stack(body, width, gap=24, pad=0)
            for child in placed.children:
                translate(child, (width - child.width) // 2, top + 32)
            views.extend(placed.children)
            top = placed.children[-1].bounds[3] + 24
        footer_height = sum(view.height for view in page.footer)
        bottom = height - footer_height
        if page.fab is not None:
            bottom = min(bottom, height - TOUCH - 2 * PAD)  # the list stops above the FAB: no row centre under it
        if page.rows is not None:
            views.append(self._scroll_area(screen, page, top, bottom))
        y = height - footer_height
        for view in page.footer:
            views.append(translate(view, (width - view.width) // 2, y))
            y += view.height
        if page.fab is not None:
            views.append(translate(page.fab, width - PAD - page.fab.width, height - PAD - TOUCH))
        if screen.dialog is not None:
            views.append(self._dialog(screen))
        return views

    def _scroll_area(self, screen: Screen, page: Page, top: int, bottom: int) -> View:
        if not page.rows:
            return translate(text_view(page.empty, self.inner, style="secondary", rid="empty"), PAD, top + 48)

        def move(first: int) -> None:
            screen.first = first

        return translate(scroll_list(page.rows, self.width, bottom - top, rid="list", first=screen.first,
                                     on_move=move, from_end=page.from_end), 0, top)

    def _dialog(self, screen: Screen) -> View:
        spec = screen.dialog

        def close() -> None:
            screen.dialog = None

        def confirm() -> None:
            screen.dialog = None
            spec.on_confirm()

        return dialog(spec.title, spec.message, self.host.size, confirm=DialogButton(spec.confirm, confirm),
                      cancel=DialogButton("Cancel", close), on_dismiss=close)

    def _up(self) -> None:
        self.back()


def qualify(root: View, package: str) -> View:
    """Gives every view of the app's window its package and turns short ids into `package:id/name`."""
    for view in root.walk():
        view.package = view.package or package
        if view.resource_id and ":" not in view.resource_id:
            view.resource_id = f"{package}:id/{view.resource_id}"
    return root


def require(condition: bool, message: str) -> None:
    """Validation of state handed to `set_app_state`."""
    if not condition:
        raise PhoneError(f"bad app state: {message}")


def require_list(state: Any, key: str, fields: dict[str, type | tuple[type, ...]]) -> list[dict[str, Any]]:
    """`state[key]` as a list of dicts with exactly-typed `fields` (bool is not an int here) and unique ids."""
    require(isinstance(state, dict), "the state must be a JSON object")
    items = state.get(key)
    require(isinstance(items, list), f"'{key}' must be a list")
    checked = []
    for index, item in enumerate(items):
        require(isinstance(item, dict), f"{key}[{index}] must be an object")
        for name, kind in fields.items():
            value = item.get(name)
            kinds = kind if isinstance(kind, tuple) else (kind,)
            ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
            require(ok, f"{key}[{index}].{name} must be {' or '.join(k.__name__ for k in kinds)}")
        checked.append({name: copy.deepcopy(item[name]) for name in fields})
    if "id" in fields:
        ids = [item["id"] for item in checked]
        require(len(ids) == len(set(ids)), f"ids in '{key}' must be unique")
    return checked
