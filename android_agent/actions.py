"""One JSON action schema for every policy, validated strictly, and its translation into device commands.

Coordinates follow InfiR/ShowUI: normalized to 0..1000 on both axes, whatever the screen, so one model works on
every phone; `resolve` turns them (or an element id from the observation) into device pixels. Anything a model
can get wrong raises `MalformedActionError` with a reason short and specific enough to feed back to it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from android_agent.errors import MalformedActionError
from android_agent.observation import Element, visible_center

ACTION_KINDS: tuple[str, ...] = (
    "click", "long_press", "type", "swipe", "scroll", "press", "open_app", "wait", "done",
)
_KEYS: dict[str, tuple[str, ...]] = {  # the keys each kind allows besides "action"
    "click": ("element", "x", "y"),
    "long_press": ("element", "x", "y"),
    "type": ("text", "element", "clear"),
    "swipe": ("x1", "y1", "x2", "y2"),
    "scroll": ("direction", "element"),
    "press": ("key",),
    "open_app": ("app",),
    "wait": ("seconds",),
    "done": ("answer",),
}
DIRECTIONS = ("up", "down", "left", "right")
KEYS = ("back", "home", "enter")
COORDINATE_MAX = 1000
MAX_TEXT_CHARS = 2000
MAX_WAIT_S = 10.0
DEFAULT_WAIT_S = 1.0
LONG_PRESS_S = 1.0  # Android's long-press timeout is 0.5 s by default and users can raise it
SWIPE_S = 0.3
SCROLL_S = 0.5  # a slow drag moves the content by about the finger's travel; a fast one flings past the target
SCROLL_SPAN = (0.25, 0.75)  # the finger travels between these fractions of the scrolled area, clear of its edges
_EXAMPLE = '{"action": "click", "element": 3}'


@dataclass(frozen=True)
class Action:
    kind: str
    element: int | None = None
    x: float | None = None  # 0..1000; for a swipe its start (x1, y1)
    y: float | None = None
    x2: float | None = None
    y2: float | None = None
    text: str | None = None
    direction: str | None = None
    key: str | None = None
    app: str | None = None
    seconds: float | None = None
    answer: str | None = None
    clear: bool = False  # type: replace the field's text instead of inserting at the cursor

    def to_json(self) -> dict:
        """The canonical JSON object: `action` and only the keys this kind uses."""
        obj: dict = {"action": self.kind}
        if self.kind == "swipe":
            return obj | {"x1": self.x, "y1": self.y, "x2": self.x2, "y2": self.y2}
        fields = {"element": self.element, "x": self.x, "y": self.y, "text": self.text, "direction": self.direction,
                  "key": self.key, "app": self.app, "seconds": self.seconds, "answer": self.answer,
                  "clear": self.clear or None}
        return obj | {k: v for k, v in fields.items() if k in _KEYS[self.kind] and v is not None}


@dataclass(frozen=True)
class Command:
    """What a device executes: pixels, a package, a key; no element ids or normalized coordinates left."""

    kind: str  # tap, long_press, swipe, type, press, open_app, wait, done
    x: int | None = None  # tap/long_press point, swipe start, or the field a `type` focuses first
    y: int | None = None
    x2: int | None = None
    y2: int | None = None
    text: str | None = None
    key: str | None = None
    package: str | None = None
    seconds: float | None = None
    answer: str | None = None
    duration_s: float | None = None
    clear: bool = False


def parse_action(text: str) -> Action:
    """A model's raw output -> its one action: bare JSON, in ```json fences, or after some prose.

    The first balanced {...} is the action; more objects after it are tolerated only if they repeat it.
    """
    spans, unterminated = _object_spans(text)
    if not spans:
        if unterminated:
            raise MalformedActionError("the JSON object is not closed (was the output cut off?)")
        raise MalformedActionError(f"no JSON object found; reply with one object like {_EXAMPLE}")
    first = _load(text[spans[0][0]:spans[0][1]])
    for start, end in spans[1:]:
        try:
            other = _load(text[start:end])
        except MalformedActionError:
            continue  # a later fragment that is not JSON is prose, not a second action
        if isinstance(other, dict) and "action" in other and other != first:
            raise MalformedActionError("several different actions; reply with exactly one")
    return action_from_json(first)


def action_from_json(obj: object) -> Action:
    """The same validation as `parse_action`, for an already-parsed object."""
    if not isinstance(obj, dict):
        raise MalformedActionError(f"expected a JSON object like {_EXAMPLE}, got {_type_name(obj)}")
    if "action" not in obj:
        raise MalformedActionError(f"missing key 'action'; expected one of {', '.join(ACTION_KINDS)}")
    kind = obj["action"]
    if not isinstance(kind, str):
        raise MalformedActionError(f"'action' must be a string, got {_type_name(kind)}")
    if kind not in ACTION_KINDS:
        raise MalformedActionError(f"unknown action {kind!r}; expected one of {', '.join(ACTION_KINDS)}")
    extra = sorted(k for k in obj if k != "action" and k not in _KEYS[kind])
    if extra:
        allowed = ", ".join(_KEYS[kind]) or "none"
        raise MalformedActionError(f"unexpected key {', '.join(map(repr, extra))} for {kind}; allowed: {allowed}")
    if kind in ("click", "long_press"):
        return _pointing(kind, obj)
    if kind == "type":
        return Action(kind, text=_text(obj, "text"), element=_element(obj) if "element" in obj else None,
                      clear=_flag(obj, "clear"))
    if kind == "swipe":
        x1, y1, x2, y2 = (_coordinate(obj, k) for k in ("x1", "y1", "x2", "y2"))
        return Action(kind, x=x1, y=y1, x2=x2, y2=y2)
    if kind == "scroll":
        direction = _choice(obj, "direction", DIRECTIONS)
        return Action(kind, direction=direction, element=_element(obj) if "element" in obj else None)
    if kind == "press":
        return Action(kind, key=_choice(obj, "key", KEYS))
    if kind == "open_app":
        return Action(kind, app=_text(obj, "app"))
    if kind == "wait":
        return Action(kind, seconds=_seconds(obj))
    return Action(kind, answer=_text(obj, "answer", allow_empty=True) if "answer" in obj else None)


def resolve(action: Action, elements: Sequence[Element], size: tuple[int, int], apps: Mapping[str, str]) -> Command:
    """An action against the current screen -> the command a device runs (pixels, a package).

    `apps` maps the labels `open_app` accepts to packages; labels match case-insensitively.
    """
    width, height = size
    by_id = {e.id: e for e in elements}

    def target(element_id: int) -> Element:
        if element_id not in by_id:
            if not elements:
                raise MalformedActionError(f"no element {element_id}: this screen lists no elements; use x and y")
            ids = sorted(by_id)
            raise MalformedActionError(f"no element {element_id}; valid ids are {ids[0]}..{ids[-1]}")
        return by_id[element_id]

    def pixels(x: float, y: float) -> tuple[int, int]:
        return round(x / COORDINATE_MAX * (width - 1)), round(y / COORDINATE_MAX * (height - 1))

    kind = action.kind
    if kind in ("click", "long_press"):
        if action.element is not None:
            x, y = visible_center(target(action.element).bounds, size)
        else:
            x, y = pixels(action.x, action.y)
        if kind == "click":
            return Command("tap", x=x, y=y)
        return Command("long_press", x=x, y=y, duration_s=LONG_PRESS_S)
    if kind == "type":
        if action.element is None:
            if not any(e.focused and e.editable for e in elements):  # the device would have nowhere to type
                raise MalformedActionError("no text field is focused: click a field first, or name it with "
                                           '"element"')
            return Command("type", text=action.text, clear=action.clear)
        field = target(action.element)
        if not field.editable:  # the device would tap it and then find no field to type into
            fields = [e.id for e in elements if e.editable]
            raise MalformedActionError(f"element {action.element} is not a text field; "
                                       + (f"the fields are {fields}" if fields else "this screen has none"))
        x, y = visible_center(field.bounds, size)
        return Command("type", x=x, y=y, text=action.text, clear=action.clear)
    if kind == "swipe":
        (x1, y1), (x2, y2) = pixels(action.x, action.y), pixels(action.x2, action.y2)
        return Command("swipe", x=x1, y=y1, x2=x2, y2=y2, duration_s=SWIPE_S)
    if kind == "scroll":
        area = target(action.element).bounds if action.element is not None else _scroll_area(elements, size)
        return _scroll(action.direction, area, size)
    if kind == "press":
        return Command("press", key=action.key)
    if kind == "open_app":
        return Command("open_app", package=_package(action.app, apps))
    if kind == "wait":
        return Command("wait", seconds=action.seconds)
    return Command("done", answer=action.answer)


def _object_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """The top-level balanced {...} spans of `text` (braces inside JSON strings do not count), and whether one
    was left open at the end."""
    spans, depth, start, in_string, escaped = [], 0, 0, False, False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif depth and char == '"':  # quotes in the prose around the object are not JSON strings
            in_string = True
        elif depth and char == "}":
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans, depth > 0


def _reject_constant(name: str) -> float:
    raise MalformedActionError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        duplicate = next(k for i, (k, _) in enumerate(pairs) if k in (p[0] for p in pairs[:i]))
        raise MalformedActionError(f"duplicate key {duplicate!r}")
    return obj


def _load(fragment: str) -> object:
    try:
        return json.loads(fragment, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise MalformedActionError(f"not valid JSON: {e.msg} at character {e.pos}") from None


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _pointing(kind: str, obj: dict) -> Action:
    has_element, has_x, has_y = "element" in obj, "x" in obj, "y" in obj
    if has_element and (has_x or has_y):
        raise MalformedActionError(f"{kind} takes either 'element' or 'x' and 'y', not both")
    if has_element:
        return Action(kind, element=_element(obj))
    if has_x != has_y:
        raise MalformedActionError(f"{kind} needs both 'x' and 'y'")
    if not has_x:
        raise MalformedActionError(f"{kind} needs 'element' or 'x' and 'y'")
    return Action(kind, x=_coordinate(obj, "x"), y=_coordinate(obj, "y"))


def _number(obj: dict, key: str) -> float:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedActionError(f"{key!r} must be a number, got {_type_name(value)}")
    if not math.isfinite(value):
        raise MalformedActionError(f"{key!r} must be a finite number")
    return value


def _coordinate(obj: dict, key: str) -> float:
    if key not in obj:
        raise MalformedActionError(f"missing key {key!r}")
    value = _number(obj, key)
    if not 0 <= value <= COORDINATE_MAX:
        raise MalformedActionError(f"{key!r} must be within 0..{COORDINATE_MAX} (normalized), got {value}")
    return value


def _element(obj: dict) -> int:
    value = obj["element"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedActionError(f"'element' must be an element id (an integer >= 0), got {json.dumps(value)}")
    return value


def _text(obj: dict, key: str, *, allow_empty: bool = False) -> str:
    if key not in obj:
        raise MalformedActionError(f"missing key {key!r}")
    value = obj[key]
    if not isinstance(value, str):
        raise MalformedActionError(f"{key!r} must be a string, got {_type_name(value)}")
    if not value and not allow_empty:
        raise MalformedActionError(f"{key!r} must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise MalformedActionError(f"{key!r} is longer than {MAX_TEXT_CHARS} characters")
    return value


def _flag(obj: dict, key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise MalformedActionError(f"'{key}' must be true or false, got {_type_name(value)}")
    return value


def _choice(obj: dict, key: str, choices: tuple[str, ...]) -> str:
    if key not in obj:
        raise MalformedActionError(f"missing key {key!r}; one of {', '.join(choices)}")
    value = obj[key]
    if not isinstance(value, str) or value not in choices:
        raise MalformedActionError(f"{key!r} must be one of {', '.join(choices)}, got {json.dumps(value)}")
    return value


def _seconds(obj: dict) -> float:
    if "seconds" not in obj:
        return DEFAULT_WAIT_S
    value = _number(obj, "seconds")
    if not 0 < value <= MAX_WAIT_S:
        raise MalformedActionError(f"'seconds' must be > 0 and <= {MAX_WAIT_S:g}, got {value}")
    return value


def _scroll_area(elements: Sequence[Element], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest scrollable element on the screen (the main list, not a carousel inside it), else the screen."""
    width, height = size

    def on_screen_area(e: Element) -> int:
        x1, y1, x2, y2 = max(e.bounds[0], 0), max(e.bounds[1], 0), min(e.bounds[2], width), min(e.bounds[3], height)
        return max(x2 - x1, 0) * max(y2 - y1, 0)

    scrollable = [e for e in elements if e.scrollable and on_screen_area(e) > 0]
    if not scrollable:
        return 0, 0, width, height
    return max(scrollable, key=on_screen_area).bounds  # max keeps the first of equals: the outer one


def _scroll(direction: str, area: tuple[int, int, int, int], size: tuple[int, int]) -> Command:
    """A drag across the middle of `area`: scrolling "down" reveals what is further down, so the finger moves up
    (as in AndroidWorld)."""
    width, height = size
    x1, y1 = max(area[0], 0), max(area[1], 0)
    x2, y2 = max(min(area[2], width), x1 + 1), max(min(area[3], height), y1 + 1)
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    near, far = SCROLL_SPAN
    top, bottom = y1 + round((y2 - y1) * near), y1 + round((y2 - y1) * far)
    left, right = x1 + round((x2 - x1) * near), x1 + round((x2 - x1) * far)
    start, end = {
        "down": ((cx, bottom), (cx, top)),
        "up": ((cx, top), (cx, bottom)),
        "right": ((right, cy), (left, cy)),
        "left": ((left, cy), (right, cy)),
    }[direction]
    (sx, sy), (ex, ey) = ((min(x, width - 1), min(y, height - 1)) for x, y in (start, end))
    return Command("swipe", x=sx, y=sy, x2=ex, y2=ey, duration_s=SCROLL_S)


def _package(app: str, apps: Mapping[str, str]) -> str:
    by_label = {label.casefold(): package for label, package in apps.items()}
    package = by_label.get(app.strip().casefold())
    if package is None:
        known = ", ".join(sorted(apps, key=str.casefold)) or "none"
        raise MalformedActionError(f"unknown app {app!r}; known apps: {known}")
    return package
