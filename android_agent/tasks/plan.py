"""A task's solution as a plan of screen-level steps, and its execution against live observations.

The oracle policy does not cheat through a back door: each step names a control the way a person would (its
resource-id, text or description), is looked up in the current hierarchy, and becomes an ordinary JSON action
that goes through validation, the safety gate and the real uiautomator2 client. A control below the fold is
scrolled to, as a person would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from android_agent.errors import TaskError
from android_agent.observation import Element, Observation


@dataclass(frozen=True)
class Target:
    """Which element: every given field must match (`text` exactly, `text_re` as a regex search)."""

    resource_id: str | None = None
    text: str | None = None
    text_re: str | None = None
    description: str | None = None

    def matches(self, e: Element) -> bool:
        return ((self.resource_id is None or e.resource_id == self.resource_id)
                and (self.text is None or e.text == self.text)
                and (self.text_re is None or re.search(self.text_re, e.text) is not None)
                and (self.description is None or e.description == self.description))

    def __str__(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)


@dataclass(frozen=True)
class Open:
    app: str  # a label, as `open_app` takes it


@dataclass(frozen=True)
class Tap:
    target: Target
    long: bool = False


@dataclass(frozen=True)
class Type:
    target: Target
    text: str
    clear: bool = False


@dataclass(frozen=True)
class Press:
    key: str


@dataclass(frozen=True)
class Done:
    answer: str = ""


Step = Open | Tap | Type | Press | Done


def control(package: str, name: str, **fields) -> Target:
    """A control by its id in `package` (`control("com.infir.notes", "save")`), optionally with more fields."""
    return Target(resource_id=f"{package}:id/{name}", **fields)


def row(package: str, name: str, starts_with: str) -> Target:
    """A list row (`name` is the rows' shared id) whose text starts with `starts_with` as whole words."""
    return control(package, name, text_re=rf"^{re.escape(starts_with)}(\s|$)")


CONFIRM = Target(resource_id="android:id/button1")  # the confirming button of an Android dialog


class Plan:
    """Steps executed in order; `next_action` turns the current one into a JSON action for this screen."""

    def __init__(self, steps: list[Step], *, max_scrolls: int = 8) -> None:
        if not steps or not isinstance(steps[-1], Done):
            raise TaskError("a plan ends with Done")
        self.steps = steps
        self.max_scrolls = max_scrolls
        self._index = 0
        self._scrolls = 0

    def next_action(self, observation: Observation, feedback: str | None) -> dict:
        if feedback:  # the oracle's own action was refused: the plan or the schema is wrong, not the screen
            raise TaskError(f"the oracle's action was rejected ({feedback}) at step {self._index}: "
                            f"{self.steps[self._index]}")
        step = self.steps[min(self._index, len(self.steps) - 1)]
        if isinstance(step, (Tap, Type)):
            element = _find(observation.elements, step.target)
            if element is None:
                return self._scroll_to(step, observation)
            self._scrolls = 0
            self._index += 1
            if isinstance(step, Tap):
                return {"action": "long_press" if step.long else "click", "element": element.id}
            typed = {"action": "type", "text": step.text, "element": element.id}
            return typed | {"clear": True} if step.clear else typed
        self._index += 1
        if isinstance(step, Open):
            return {"action": "open_app", "app": step.app}
        if isinstance(step, Press):
            return {"action": "press", "key": step.key}
        return {"action": "done", "answer": step.answer}

    def peek(self, observation: Observation) -> dict:
        """The action `next_action` would return now, without moving on."""
        index, scrolls = self._index, self._scrolls
        try:
            return self.next_action(observation, None)
        finally:
            self._index, self._scrolls = index, scrolls

    def _scroll_to(self, step: Tap | Type, observation: Observation) -> dict:
        if self._scrolls >= self.max_scrolls or not any(e.scrollable for e in observation.elements):
            raise TaskError(f"the oracle cannot find {step.target} on screen "
                            f"({observation.package}; scrolled {self._scrolls} times)")
        self._scrolls += 1
        return {"action": "scroll", "direction": "down"}


def _find(elements: list[Element], target: Target) -> Element | None:
    return next((e for e in elements if target.matches(e)), None)
