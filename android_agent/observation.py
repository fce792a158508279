"""What the agent sees of a phone: the elements of uiautomator's hierarchy dump, and a compact text form of them.

A dump holds hundreds of layout nodes; a model can act on or read only a few dozen. `parse_hierarchy` keeps those
(visible, with an area, and with text or something to do) and numbers them, so a policy can name "element 3"
instead of guessing pixels. A clickable row whose labels sit in plain child TextViews reads as one element with
their text (as AndroidWorld and DroidBot do): a model then taps "Alice Smith", not an unlabelled LinearLayout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree
from PIL import Image

from android_agent.errors import DeviceError

_BOUNDS = re.compile(r"^\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]$")
# EditText and its framework subclasses (AutoCompleteTextView, MultiAutoCompleteTextView, SearchView's field)
_EDITABLE_CLASS = re.compile(r"(EditText|AutoCompleteTextView)$")
MAX_TEXT_CHARS = 80  # per element in a prompt: a long message body would crowd out the rest of the screen
PASSWORD_MASK = "***"  # fixed length: the mask should not tell a model (or a log) how long the password is


@dataclass(frozen=True)
class Element:
    id: int
    class_name: str  # the short name: "Button" for android.widget.Button
    resource_id: str
    text: str
    description: str  # content-desc
    bounds: tuple[int, int, int, int]  # x1, y1, x2, y2 in device pixels, x2/y2 exclusive
    clickable: bool = False
    long_clickable: bool = False
    editable: bool = False
    checkable: bool = False
    checked: bool = False
    scrollable: bool = False
    focused: bool = False
    password: bool = False
    enabled: bool = True
    selected: bool = False
    package: str = ""

    @property
    def center(self) -> tuple[int, int]:
        x1, y1, x2, y2 = self.bounds
        return (x1 + x2) // 2, (y1 + y2) // 2

    @property
    def actionable(self) -> bool:
        return self.clickable or self.long_clickable or self.editable or self.checkable or self.scrollable


@dataclass
class Observation:
    xml: str
    elements: list[Element]
    size: tuple[int, int]  # width, height in device pixels
    package: str
    activity: str
    screenshot: Image.Image | None = None
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds, e.g. hierarchy_ms, screenshot_ms


def visible_center(bounds: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int]:
    """The centre of the part of `bounds` on the screen: a row cut by the screen's edge is tapped where it shows."""
    width, height = size
    x1, y1, x2, y2 = max(bounds[0], 0), max(bounds[1], 0), min(bounds[2], width), min(bounds[3], height)
    if x2 <= x1 or y2 <= y1:  # wholly off-screen: the nearest on-screen point to its centre
        x1, y1, x2, y2 = bounds
    return min(max((x1 + x2) // 2, 0), width - 1), min(max((y1 + y2) // 2, 0), height - 1)


def element_at(elements: Sequence[Element], point: tuple[int, int]) -> Element | None:
    """The smallest element whose bounds hold `point` (pixels): what a tap by coordinates lands on.

    Of equal bounds the later (deeper) one wins: a button fills the frame that wraps it.
    """
    x, y = point
    hits = [e for e in elements if e.bounds[0] <= x < e.bounds[2] and e.bounds[1] <= y < e.bounds[3]]
    return min(hits, key=lambda e: ((e.bounds[2] - e.bounds[0]) * (e.bounds[3] - e.bounds[1]), -e.id), default=None)


def parse_hierarchy(xml: str) -> list[Element]:
    """The elements of a uiautomator dump a model can act on or read, numbered 0.. in document order."""
    root = _parse_xml(xml)
    elements: list[Element] = []
    for node in root.iter("node"):
        if node.get("_absorbed") == "1" or not _visible(node):
            continue
        attributes = _attributes(node)
        if not attributes.pop("keep"):
            continue
        if (attributes["clickable"] or attributes["long_clickable"]) and not (
            attributes["text"] or attributes["description"]
        ):
            attributes["text"], attributes["description"] = _absorb_labels(node)
        elements.append(Element(id=len(elements), **attributes))
    return elements


def describe_elements(elements: Sequence[Element], size: tuple[int, int], *, max_elements: int = 60,
                      compact: bool = False) -> str:
    """One line per element for a language model: `[3] Button "Save" click (512,880)`, centres in 0..1000.

    `compact` drops the class and the position (`[3] "Save" click`): half the tokens, for a policy that acts by
    element id (every token of the screen is prefilled at each step). Past `max_elements`, actionable elements are
    kept before plain text (a screen of prose should not hide its buttons); the lines stay in id order either way.
    """
    ranked = sorted(elements, key=lambda e: (not e.actionable, e.id))[:max_elements]
    lines = [_describe(e, size, compact=compact) for e in sorted(ranked, key=lambda e: e.id)]
    if len(elements) > len(ranked):
        lines.append(f"... {len(elements) - len(ranked)} more elements not shown")
    return "\n".join(lines)


def normalized_point(point: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """Device pixels -> the 0..1000 space of actions (the inverse of x_px = round(x / 1000 * (width - 1)))."""
    width, height = size
    return (
        min(max(round(point[0] / max(width - 1, 1) * 1000), 0), 1000),
        min(max(round(point[1] / max(height - 1, 1) * 1000), 0), 1000),
    )


def _parse_xml(xml: str) -> etree._Element:
    # a dump is not trusted input (any app writes its texts into it): no DTDs, entities or network look-ups
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError as e:
        raise DeviceError(f"unreadable hierarchy: {e}") from None
    if root.getroottree().docinfo.doctype:
        raise DeviceError("unreadable hierarchy: a DOCTYPE is not allowed in a hierarchy dump")
    if root.tag != "hierarchy":
        raise DeviceError(f"unreadable hierarchy: the root is <{root.tag}>, expected <hierarchy>")
    return root


def _flag(node: etree._Element, name: str) -> bool:
    return node.get(name) == "true"


def _visible(node: etree._Element) -> bool:
    # older dumps have no visible-to-user attribute: absent means visible
    return node.get("visible-to-user", "true") == "true"


def _bounds(node: etree._Element) -> tuple[int, int, int, int] | None:
    match = _BOUNDS.match(node.get("bounds", ""))
    if not match:
        return None
    x1, y1, x2, y2 = (int(v) for v in match.groups())
    return x1, y1, x2, y2


def _attributes(node: etree._Element) -> dict:
    bounds = _bounds(node)
    class_name = node.get("class", "")
    attributes = dict(
        class_name=class_name.rsplit(".", 1)[-1],
        resource_id=node.get("resource-id", ""),
        text=node.get("text", ""),
        description=node.get("content-desc", ""),
        bounds=bounds,
        clickable=_flag(node, "clickable"),
        long_clickable=_flag(node, "long-clickable"),
        editable=bool(_EDITABLE_CLASS.search(class_name)),
        checkable=_flag(node, "checkable"),
        checked=_flag(node, "checked"),
        scrollable=_flag(node, "scrollable"),
        focused=_flag(node, "focused"),
        password=_flag(node, "password"),
        enabled=node.get("enabled", "true") == "true",
        selected=_flag(node, "selected"),
        package=node.get("package", ""),
    )
    has_area = bounds is not None and bounds[2] > bounds[0] and bounds[3] > bounds[1]
    actionable = any(attributes[k] for k in ("clickable", "long_clickable", "editable", "checkable", "scrollable"))
    attributes["keep"] = has_area and (actionable or bool(attributes["text"] or attributes["description"]))
    return attributes


def _is_plain_label(node: etree._Element) -> bool:
    """A node that only shows text: nothing to click, check, edit or scroll (so its text can belong to a parent)."""
    flags = ("clickable", "long-clickable", "checkable", "scrollable")
    return not any(_flag(node, f) for f in flags) and not _EDITABLE_CLASS.search(node.get("class", ""))


def _absorb_labels(container: etree._Element) -> tuple[str, str]:
    """The texts and descriptions of a container's plain labels, joined; those labels are marked to be skipped.

    Descendants that can be acted on themselves (a nested button, a checkbox, a field) stay separate elements,
    and so does everything inside them.
    """
    texts, descriptions = [], []
    stack = list(reversed(container))
    while stack:
        node = stack.pop()
        if not isinstance(node.tag, str) or node.tag != "node" or not _is_plain_label(node):
            continue
        if _visible(node):
            if node.get("text"):
                texts.append(node.get("text"))
            if node.get("content-desc"):
                descriptions.append(node.get("content-desc"))
            node.set("_absorbed", "1")
        stack.extend(reversed(node))
    return " ".join(texts), " ".join(descriptions)


def _describe(element: Element, size: tuple[int, int], *, compact: bool = False) -> str:
    parts = [f"[{element.id}]"] if compact else [f"[{element.id}]", element.class_name or "View"]
    if element.text:
        parts.append(json.dumps(PASSWORD_MASK if element.password else _cut(element.text), ensure_ascii=False))
    if element.description and element.description != element.text:
        parts.append("desc=" + json.dumps(_cut(element.description), ensure_ascii=False))
    if not element.text and not element.description and element.resource_id:
        parts.append("id=" + element.resource_id.rsplit("/", 1)[-1])  # an icon's only name: ".../id/send" -> send
    flags = [
        ("click", element.clickable),
        ("long", element.long_clickable),
        ("edit", element.editable),
        ("check=on" if element.checked else "check=off", element.checkable),
        ("scroll", element.scrollable),
        ("focused", element.focused),
        ("selected", element.selected),
        ("password", element.password),
        ("disabled", not element.enabled),
    ]
    parts += [name for name, on in flags if on]
    if not compact:
        x, y = normalized_point(visible_center(element.bounds, size), size)
        parts.append(f"({x},{y})")
    return " ".join(parts)


def _cut(text: str) -> str:
    text = " ".join(text.split())  # newlines and runs of spaces cost tokens and break the one-line format
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"
