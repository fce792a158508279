"""A view tree as uiautomator's window dump, byte-compatible with what `dumpWindowHierarchy` returns on a phone.

The format is Android's XmlSerializer output (FACTS.md §4): the fixed XML declaration, a `<hierarchy rotation="0">`
root, one `<node>` per view with its attributes in Android's order, two-space indentation, leaves self-closed.
As on Android, a password field's text is masked with one bullet per character.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from android_agent.phone.ui import View

DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
PASSWORD_BULLET = "\u2022"
# Characters XML 1.0 cannot carry at all (C0 controls but tab/newline/return, lone surrogates, U+FFFE/FFFF).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                          "\t": "&#9;"})


def escape(value: str) -> str:
    """An attribute value as XmlSerializer writes it; characters XML forbids become U+FFFD."""
    return _INVALID_XML.sub("\ufffd", value).translate(_ESCAPES)


def shown_text(view: View) -> str:
    return PASSWORD_BULLET * len(view.text) if view.password else view.text


def _bool(value: bool) -> str:
    return "true" if value else "false"


def node_attributes(view: View, index: int) -> str:
    x1, y1, x2, y2 = view.bounds
    pairs = (
        ("index", str(index)),
        ("text", shown_text(view)),
        ("resource-id", view.resource_id),
        ("class", view.class_name),
        ("package", view.package),
        ("content-desc", view.description),
        ("checkable", _bool(view.checkable)),
        ("checked", _bool(view.checked)),
        ("clickable", _bool(view.clickable)),
        ("enabled", _bool(view.enabled)),
        ("focusable", _bool(view.focusable)),
        ("focused", _bool(view.focused)),
        ("scrollable", _bool(view.scrollable)),
        ("long-clickable", _bool(view.long_clickable)),
        ("password", _bool(view.password)),
        ("selected", _bool(view.selected)),
        ("visible-to-user", "true"),
        ("bounds", f"[{x1},{y1}][{x2},{y2}]"),
    )
    return " ".join(f'{name}="{escape(value)}"' for name, value in pairs)


def hierarchy_xml(root: View) -> str:
    lines = [DECLARATION, '<hierarchy rotation="0">']
    _write(root, 0, 1, lines)
    lines.append("</hierarchy>")
    return "\n".join(lines)


def _write(view: View, index: int, depth: int, lines: list[str]) -> None:
    indent = "  " * depth
    attributes = node_attributes(view, index)
    if not view.children:
        lines.append(f"{indent}<node {attributes} />")
        return
    lines.append(f"{indent}<node {attributes}>")
    for child_index, child in enumerate(view.children):
        _write(child, child_index, depth + 1, lines)
    lines.append(f"{indent}</node>")
