"""The JSON schema of one action on the current screen, for decoding under constraint.

`actions.parse_action` decides what is valid; this schema says the same thing to a grammar engine, narrowed to the
screen at hand (element ids that exist, the apps the phone has), so that a model constrained by it
(`GenerationConfig(json_schema=...)`) cannot write a malformed action. Properties come in `Action.to_json`'s order,
the order the training targets are written in, so that a trained model's reply is also the grammar's.
"""

from __future__ import annotations

from collections.abc import Sequence

from android_agent.actions import COORDINATE_MAX, DIRECTIONS, KEYS, MAX_TEXT_CHARS, MAX_WAIT_S


def action_schema(element_count: int, apps: Sequence[str], *, focused_field: bool = True,
                  text_fields: Sequence[int] | None = None) -> dict:
    """One action for a screen of `element_count` elements (ids 0..count-1) on a phone with `apps`;
    `focused_field`: a text field has the focus, so `type` may leave out its element; `text_fields`: the ids
    `type` may name (None: any element)."""
    element = {"type": "integer", "minimum": 0, "maximum": element_count - 1}
    coordinate = {"type": "integer", "minimum": 0, "maximum": COORDINATE_MAX}
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS}
    has_elements = element_count > 0
    variants = []
    for kind in ("click", "long_press"):
        if has_elements:
            variants.append(_action(kind, {"element": element}))
        variants.append(_action(kind, {"x": coordinate, "y": coordinate}))
    field = element if text_fields is None else {"enum": sorted(text_fields)}
    typed = {"element": field} if has_elements and (text_fields is None or text_fields) else {}
    if typed or focused_field:
        variants.append(_action("type", {**typed, "text": text, "clear": {"type": "boolean"}},
                                required=("text",) if focused_field or not typed else ("element", "text")))
    scrolled = {"element": element} if has_elements else {}
    variants += [
        _action("scroll", {**scrolled, "direction": {"enum": list(DIRECTIONS)}}, required=("direction",)),
        _action("swipe", {k: coordinate for k in ("x1", "y1", "x2", "y2")}),
        _action("press", {"key": {"enum": list(KEYS)}}),
        _action("wait", {"seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WAIT_S}}, required=()),
        _action("done", {"answer": {"type": "string", "maxLength": MAX_TEXT_CHARS}}, required=()),
    ]
    if apps:
        variants.append(_action("open_app", {"app": {"enum": list(apps)}}))
    return {"anyOf": variants}


def screen_schema(observation, apps: Sequence[str]) -> dict:
    """`action_schema` for an `Observation`."""
    return action_schema(len(observation.elements), apps,
                         focused_field=any(e.focused and e.editable for e in observation.elements),
                         text_fields=[e.id for e in observation.elements if e.editable])


def _action(kind: str, properties: dict, *, required: Sequence[str] | None = None) -> dict:
    required = list(properties) if required is None else list(required)
    return {"type": "object", "properties": {"action": {"const": kind}, **properties},
            "required": ["action", *required], "additionalProperties": False}
