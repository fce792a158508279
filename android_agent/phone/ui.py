"""The simulated phone's view tree and the widgets screens are composed of.

A `View` is one node of the screen, one `<node>` of uiautomator's hierarchy XML. Widgets are plain functions that
return a small subtree laid out at the origin (`bounds` start at (0, 0)); `stack` and `translate` move them into place,
so a screen is composed bottom-up and the same laid-out tree is both drawn (render.py) and dumped (hierarchy.py).
Besides the XML's attributes a view carries how it is drawn (`style`, `icon`, `tint`, `hint`) and what input does to it
(`on_click`, `on_text`, ...): the phone dispatches touches and keys to these callbacks, never to the apps directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from android_agent.phone.render import line_height, text_size, wrap

Bounds = tuple[int, int, int, int]
Color = tuple[int, int, int]
Action = Callable[[], None]

TEXT_VIEW = "android.widget.TextView"
BUTTON = "android.widget.Button"
IMAGE_BUTTON = "android.widget.ImageButton"
IMAGE_VIEW = "android.widget.ImageView"
EDIT_TEXT = "android.widget.EditText"
SWITCH = "android.widget.Switch"
CHECK_BOX = "android.widget.CheckBox"
FRAME = "android.widget.FrameLayout"
LINEAR = "android.widget.LinearLayout"
VIEW_GROUP = "android.view.ViewGroup"
RECYCLER = "androidx.recyclerview.widget.RecyclerView"

# Sizes in device pixels at 420 dpi (1 dp = 2.625 px), close to Material's.
PAD = 48
STATUS_BAR_H = 84
APP_BAR_H = 160
ROW_H = 190
FIELD_H = 150
BUTTON_H = 130
TOUCH = 147  # 56 dp: icon buttons, FABs
SCROLL_SLOP = 40  # a swipe shorter than this is a tap-like wobble, not a scroll


@dataclass(eq=False)
class View:
    """One node of the screen; identity matters (a tree is rebuilt, never compared), hence `eq=False`."""

    class_name: str
    bounds: Bounds = (0, 0, 0, 0)
    text: str = ""
    resource_id: str = ""
    description: str = ""
    package: str = ""
    clickable: bool = False
    long_clickable: bool = False
    checkable: bool = False
    checked: bool = False
    focusable: bool = False
    focused: bool = False
    scrollable: bool = False
    password: bool = False
    enabled: bool = True
    selected: bool = False
    children: list[View] = field(default_factory=list)
    # Not in the XML: how the view is drawn ...
    style: str = ""
    icon: str = ""
    hint: str = ""
    tint: Color | None = None
    lines: int = 1
    # ... and what input does to it (the phone calls these; each returns after changing the app's state).
    on_click: Action | None = None
    on_long_click: Action | None = None
    on_text: Callable[[str], None] | None = None  # an editable view's new full text
    on_enter: Action | None = None  # the IME action of an editable view
    on_scroll: Callable[[int], bool] | None = None  # content moved by dy pixels (up is positive); True if it moved

    @property
    def editable(self) -> bool:
        return self.class_name.endswith("EditText")

    @property
    def width(self) -> int:
        return self.bounds[2] - self.bounds[0]

    @property
    def height(self) -> int:
        return self.bounds[3] - self.bounds[1]

    def walk(self) -> Iterator[View]:
        """Every view of the subtree in pre-order (hierarchy order), self first."""
        yield self
        for child in self.children:
            yield from child.walk()


def translate(view: View, dx: int, dy: int) -> View:
    for node in view.walk():
        x1, y1, x2, y2 = node.bounds
        node.bounds = (x1 + dx, y1 + dy, x2 + dx, y2 + dy)
    return view


def stack(children: list[View], width: int, *, gap: int = 0, pad: int = 0, class_name: str = LINEAR, **attrs) -> View:
    """A vertical LinearLayout: children one under the other, indented by `pad`."""
    y = pad
    for child in children:
        translate(child, pad, y)
        y += child.height + gap
    height = y - gap + pad if children else 2 * pad
    return View(class_name, (0, 0, width, height), children=children, **attrs)


def row(children: list[View], width: int, height: int, *, gap: int = 32, pad: int = PAD, **attrs) -> View:
    """A horizontal LinearLayout: children left to right, centred vertically."""
    x = pad
    for child in children:
        translate(child, x, (height - child.height) // 2)
        x += child.width + gap
    return View(LINEAR, (0, 0, width, height), children=children, **attrs)


def text_view(text: str, width: int, *, style: str = "body", rid: str = "", lines: int = 1, **attrs) -> View:
    """A TextView sized for `lines` lines of its style (0: as many as the text wraps to at this width)."""
    if lines == 0:
        lines = max(1, len(wrap(text, text_size(style), width - 2 * 8)))
    height = lines * line_height(style) + 16
    return View(TEXT_VIEW, (0, 0, width, height), text=text, resource_id=rid, style=style, lines=lines, **attrs)


def edit_text(rid: str, hint: str, value: str, width: int, *, focused: bool, on_focus: Action,
              on_text: Callable[[str], None], on_enter: Action | None = None, lines: int = 1) -> View:
    """A text field; its content-desc is its label (`hint`), as an agent needs to tell fields apart when empty."""
    height = FIELD_H + (lines - 1) * line_height("body")
    return View(EDIT_TEXT, (0, 0, width, height), text=value, resource_id=rid, description=hint, hint=hint,
                clickable=True, long_clickable=True, focusable=True, focused=focused, style="field", lines=lines,
                on_click=on_focus, on_text=on_text, on_enter=on_enter)


def button(text: str, rid: str, on_click: Action, *, width: int = 0, style: str = "button", enabled: bool = True,
           tint: Color | None = None) -> View:
    """A Material button; `width` 0 fits the text."""
    width = width or int(len(text) * text_size("body") * 0.62) + 2 * PAD
    return View(BUTTON, (0, 0, width, BUTTON_H), text=text, resource_id=rid, clickable=True, focusable=True,
                enabled=enabled, style=style, tint=tint, on_click=on_click if enabled else None)


def icon_button(icon: str, description: str, rid: str, on_click: Action, *, style: str = "icon_button",
                tint: Color | None = None) -> View:
    return View(IMAGE_BUTTON, (0, 0, TOUCH, TOUCH), resource_id=rid, description=description, clickable=True,
                focusable=True, style=style, icon=icon, tint=tint, on_click=on_click)


def icon(letter: str, tint: Color, *, size: int = 120, rid: str = "", description: str = "") -> View:
    """A round avatar or app icon: a coloured disc with a letter."""
    return View(IMAGE_VIEW, (0, 0, size, size), resource_id=rid, description=description, style="avatar",
                icon=letter[:1].upper(), tint=tint)


def switch(checked: bool, rid: str, description: str, on_click: Action) -> View:
    return View(SWITCH, (0, 0, 160, 100), resource_id=rid, description=description, clickable=True, focusable=True,
                checkable=True, checked=checked, style="switch", on_click=on_click)


def check_box(text: str, checked: bool, rid: str, on_click: Action, width: int, *, style: str = "check") -> View:
    return View(CHECK_BOX, (0, 0, width, BUTTON_H), text=text, resource_id=rid, clickable=True, focusable=True,
                checkable=True, checked=checked, style=style, on_click=on_click)


def list_item(width: int, *, rid: str, title: str, title_rid: str, subtitle: str = "", subtitle_rid: str = "",
              leading: View | None = None, trailing: View | None = None, on_click: Action | None = None,
              on_long_click: Action | None = None, height: int = ROW_H, description: str = "") -> View:
    """A list row: optional leading icon, a title over a secondary line, an optional trailing control."""
    text_width = width - 2 * PAD - (leading.width + 32 if leading else 0) - (trailing.width + 32 if trailing else 0)
    lines = [text_view(title, text_width, style="title" if subtitle else "body", rid=title_rid)]
    if subtitle:
        lines.append(text_view(subtitle, text_width, style="secondary", rid=subtitle_rid))
    texts = stack(lines, text_width)
    children = [view for view in (leading, texts, trailing) if view is not None]
    return row(children, width, height, resource_id=rid, description=description, clickable=on_click is not None,
               long_clickable=on_long_click is not None, focusable=on_click is not None, style="list_item",
               on_click=on_click, on_long_click=on_long_click)


def scroll_list(rows: list[View], width: int, height: int, *, rid: str, first: int, on_move: Callable[[int], None],
                from_end: bool = False) -> View:
    """A RecyclerView showing the rows that fit, like Android only the visible ones are in the tree.

    `first` is how many rows are scrolled out of view: off the top, or with `from_end` (a chat, newest at the
    bottom) off the bottom. It scrolls by whole rows; `on_move` receives the new, clamped `first`.
    """
    order = list(reversed(rows)) if from_end else rows
    max_first = len(order) - _rows_that_fit(list(reversed(order)), height)
    first = max(0, min(first, max_first))
    shown, used = [], 0
    for view in order[first:]:
        if used + view.height > height:
            break
        shown.append(view)
        used += view.height
    y = height if from_end else 0
    for view in shown:
        y = y - view.height if from_end else y
        translate(view, 0, y)
        y = y if from_end else y + view.height
    children = sorted(shown, key=lambda view: view.bounds[1])
    mean_height = sum(view.height for view in rows) // max(1, len(rows))

    def on_scroll(dy: int) -> bool:
        if abs(dy) < SCROLL_SLOP:
            return False
        steps = max(1, round(abs(dy) / mean_height)) * (1 if dy > 0 else -1)
        moved = max(0, min(first + (-steps if from_end else steps), max_first))
        if moved == first:
            return False
        on_move(moved)
        return True

    return View(RECYCLER, (0, 0, width, height), resource_id=rid, scrollable=max_first > 0, focusable=True,
                children=children, on_scroll=on_scroll)


def _rows_that_fit(rows: list[View], height: int) -> int:
    used = 0
    for count, view in enumerate(rows):
        used += view.height
        if used > height:
            return count
    return len(rows)


def app_bar(title: str, width: int, *, on_back: Action | None, actions: list[View], tint: Color) -> View:
    """The top app bar: "Navigate up" when not on the app's main screen, the title, action buttons at the right."""
    children = []
    if on_back is not None:
        children.append(translate(icon_button("←", "Navigate up", "up", on_back), 16, (APP_BAR_H - TOUCH) // 2))
    x = width - 16
    for action in reversed(actions):
        x -= action.width
        children.append(translate(action, x, (APP_BAR_H - action.height) // 2))
    title_x = 16 + TOUCH + 16 if on_back else PAD
    title_view = text_view(title, x - title_x - 16, style="app_title", rid="title")
    children.insert(1 if on_back else 0, translate(title_view, title_x, (APP_BAR_H - title_view.height) // 2))
    return View(VIEW_GROUP, (0, 0, width, APP_BAR_H), resource_id="toolbar", style="app_bar", tint=tint,
                children=children)


def status_bar(width: int, clock: str, *, battery: int, icons: str) -> View:
    """Android's status bar (package com.android.systemui): the clock at the left, connectivity and battery right."""
    ids = "com.android.systemui:id/"
    time_view = translate(text_view(clock, 300, style="status", rid=ids + "clock"), PAD, 10)
    right = text_view(f"{icons}  {battery}%".strip(), 420, style="status_right", rid=ids + "battery",
                      description=f"Battery {battery} percent")
    translate(right, width - PAD - right.width, 10)
    bar = View(FRAME, (0, 0, width, STATUS_BAR_H), resource_id=ids + "status_bar", style="status_bar",
               children=[time_view, right])
    for view in bar.walk():
        view.package = "com.android.systemui"
    return bar


def fab(text: str, icon_text: str, rid: str, on_click: Action) -> View:
    """An extended floating action button (a Button, like Material's): text and content-desc are its label."""
    width = int(len(text) * text_size("body") * 0.62) + TOUCH + PAD
    return View(BUTTON, (0, 0, width, TOUCH), text=text, resource_id=rid, description=text, clickable=True,
                focusable=True, style="fab", icon=icon_text, on_click=on_click)


@dataclass
class DialogButton:
    text: str
    action: Action


def dialog(title: str, message: str, screen_size: tuple[int, int], *, confirm: DialogButton,
           cancel: DialogButton, on_dismiss: Action) -> View:
    """An AlertDialog over a dim scrim; ids are Android's own (button1 positive, button2 negative).

    The scrim is a clickable view over the whole screen (a tap outside the dialog dismisses it, as on Android),
    so touches never reach the screen underneath, which stays in the tree like a real multi-window dump.
    """
    width, height = screen_size
    inner = width - 2 * 80 - 2 * PAD
    confirm_button = button(confirm.text, "android:id/button1", confirm.action, style="text_button")
    cancel_button = button(cancel.text, "android:id/button2", cancel.action, style="text_button")
    # Right-aligned, negative before positive, like Android's button bar.
    translate(confirm_button, inner - confirm_button.width, 0)
    translate(cancel_button, confirm_button.bounds[0] - 16 - cancel_button.width, 0)
    bar = View(LINEAR, (0, 0, inner, BUTTON_H), children=[cancel_button, confirm_button])
    panel = stack([text_view(title, inner, style="title", rid="android:id/alertTitle"),
                   text_view(message, inner, style="body", rid="android:id/message", lines=0), bar],
                  width - 2 * 80, gap=24, pad=PAD, class_name=FRAME, resource_id="android:id/content", style="dialog")
    translate(panel, 80, (height - panel.height) // 2)
    return View(FRAME, (0, 0, width, height), resource_id="scrim", description="Dismiss dialog", clickable=True,
                style="scrim", children=[panel], on_click=on_dismiss)
