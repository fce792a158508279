"""uiautomator's `UiSelector` over the simulated view tree: which views `d(text=..., resourceId=...)` means.

uiautomator2 sends a selector as a dict of the fields it set plus a `mask` with one bit per set field (and
`childOrSibling` / `childOrSiblingSelector` for `.child()` / `.sibling()`); the on-device server matches it against
the accessibility tree in pre-order. This module does the same against `Phone.root()`, with Java's semantics:
`*Matches` is a whole-string regex match, `index` is the position among the parent's children and `instance` picks
the n-th match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from android_agent.phone.ui import View

Matcher = Callable[[View, int, Any], bool]


def _full_match(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value or "", re.DOTALL) is not None


# field -> (mask bit as uiautomator2 sends it, the name in UiSelector.toString(), how a view matches the value)
SELECTOR_FIELDS: dict[str, tuple[int, str, Matcher]] = {
    "text": (0x01, "TEXT", lambda v, i, x: v.text == x),
    "textContains": (0x02, "CONTAINS_TEXT", lambda v, i, x: x in v.text),
    "textMatches": (0x04, "MATCHES_TEXT", lambda v, i, x: _full_match(x, v.text)),
    "textStartsWith": (0x08, "START_TEXT", lambda v, i, x: v.text.startswith(x)),
    "className": (0x10, "CLASS", lambda v, i, x: v.class_name == x),
    "classNameMatches": (0x20, "CLASS_REGEX", lambda v, i, x: _full_match(x, v.class_name)),
    "description": (0x40, "DESCRIPTION", lambda v, i, x: v.description == x),
    "descriptionContains": (0x80, "CONTAINS_DESCRIPTION", lambda v, i, x: x in v.description),
    "descriptionMatches": (0x0100, "MATCHES_DESCRIPTION", lambda v, i, x: _full_match(x, v.description)),
    "descriptionStartsWith": (0x0200, "START_DESCRIPTION", lambda v, i, x: v.description.startswith(x)),
    "checkable": (0x0400, "CHECKABLE", lambda v, i, x: v.checkable == bool(x)),
    "checked": (0x0800, "CHECKED", lambda v, i, x: v.checked == bool(x)),
    "clickable": (0x1000, "CLICKABLE", lambda v, i, x: v.clickable == bool(x)),
    "longClickable": (0x2000, "LONG_CLICKABLE", lambda v, i, x: v.long_clickable == bool(x)),
    "scrollable": (0x4000, "SCROLLABLE", lambda v, i, x: v.scrollable == bool(x)),
    "enabled": (0x8000, "ENABLED", lambda v, i, x: v.enabled == bool(x)),
    "focusable": (0x010000, "FOCUSABLE", lambda v, i, x: v.focusable == bool(x)),
    "focused": (0x020000, "FOCUSED", lambda v, i, x: v.focused == bool(x)),
    "selected": (0x040000, "SELECTED", lambda v, i, x: v.selected == bool(x)),
    "packageName": (0x080000, "PACKAGE_NAME", lambda v, i, x: v.package == x),
    "packageNameMatches": (0x100000, "PACKAGE_NAME_REGEX", lambda v, i, x: _full_match(x, v.package)),
    "resourceId": (0x200000, "RESOURCE_ID", lambda v, i, x: v.resource_id == x),
    "resourceIdMatches": (0x400000, "RESOURCE_ID_REGEX", lambda v, i, x: _full_match(x, v.resource_id)),
    "index": (0x800000, "INDEX", lambda v, i, x: i == int(x)),
}
INSTANCE_BIT = 0x01000000


def _set_fields(selector: dict) -> Iterator[tuple[str, Any]]:
    mask = int(selector.get("mask", 0))
    for name, (bit, _, _) in SELECTOR_FIELDS.items():
        if mask & bit and name in selector:
            yield name, selector[name]


def _instance(selector: dict) -> int | None:
    return int(selector.get("instance", 0)) if int(selector.get("mask", 0)) & INSTANCE_BIT else None


def _relations(selector: dict) -> list[tuple[str, dict]]:
    """The `.child()` / `.sibling()` steps: ("child" | "sibling", sub-selector), applied in order."""
    return list(zip(selector.get("childOrSibling", []), selector.get("childOrSiblingSelector", []), strict=True))


def _matches(view: View, index: int, selector: dict) -> bool:
    return all(SELECTOR_FIELDS[name][2](view, index, value) for name, value in _set_fields(selector))


def _indexed(root: View) -> Iterator[tuple[View, View | None, int]]:
    """(view, parent, position among the parent's children) in pre-order, like the hierarchy dump's `index`."""
    stack: list[tuple[View, View | None, int]] = [(root, None, 0)]
    while stack:
        view, parent, index = stack.pop()
        yield view, parent, index
        stack.extend((child, view, i) for i, child in reversed(list(enumerate(view.children))))


def find_views(root: View, selector: dict) -> list[View]:
    """Every view the selector means, in pre-order (one at most when it has an `instance`)."""
    nodes = list(_indexed(root))
    parents = {id(view): parent for view, parent, _ in nodes}
    positions = {id(view): index for view, _, index in nodes}
    found = _pick_instance([view for view, _, index in nodes if _matches(view, index, selector)], selector)
    for relation, sub_selector in _relations(selector):
        candidates: list[View] = []
        for view in found:
            if relation == "child":
                candidates.extend(list(view.walk())[1:])
            else:
                parent = parents.get(id(view))
                candidates.extend(c for c in (parent.children if parent else []) if c is not view)
        unique = list({id(c): c for c in candidates}.values())
        found = _pick_instance([c for c in unique if _matches(c, positions[id(c)], sub_selector)], sub_selector)
    return found


def _pick_instance(views: list[View], selector: dict) -> list[View]:
    instance = _instance(selector)
    if instance is None:
        return views
    return views[instance : instance + 1]


def describe(selector: dict) -> str:
    """The selector as UiSelector.toString() prints it, for error messages: UiSelector[TEXT=Save, CLICKABLE=true]."""
    parts = [f"{SELECTOR_FIELDS[name][1]}={_java_value(value)}" for name, value in _set_fields(selector)]
    instance = _instance(selector)
    if instance is not None:
        parts.append(f"INSTANCE={instance}")
    for relation, sub_selector in _relations(selector):
        parts.append(f"{'CHILD' if relation == 'child' else 'PARENT'}={describe(sub_selector)}")
    return f"UiSelector[{', '.join(parts)}]"


def _java_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _rect(bounds: tuple[int, int, int, int]) -> dict[str, int]:
    left, top, right, bottom = bounds
    return {"bottom": bottom, "left": left, "right": right, "top": top}


def view_info(view: View, screen: tuple[int, int]) -> dict[str, Any]:
    """`objInfo` as the on-device server returns it; visibleBounds is the part of the view on screen."""
    left, top, right, bottom = view.bounds
    visible = (max(left, 0), max(top, 0), min(right, screen[0]), min(bottom, screen[1]))
    return {
        "bounds": _rect(view.bounds),
        "checkable": view.checkable,
        "checked": view.checked,
        "childCount": len(view.children),
        "className": view.class_name,
        "clickable": view.clickable,
        "contentDescription": view.description or None,
        "enabled": view.enabled,
        "focusable": view.focusable,
        "focused": view.focused,
        "longClickable": view.long_clickable,
        "packageName": view.package,
        "resourceName": view.resource_id or None,
        "scrollable": view.scrollable,
        "selected": view.selected,
        "text": view.text,
        "visibleBounds": _rect(visible),
    }


def focused_editable(root: View) -> View | None:
    """The text field the keyboard types into, if any."""
    return next((view for view in root.walk() if view.focused and view.editable), None)
