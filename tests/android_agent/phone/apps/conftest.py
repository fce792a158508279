"""A small driver for app tests: find views of the current screen by id/text/desc and tap their centres."""

from __future__ import annotations

import pytest

from android_agent.phone import Phone
from android_agent.phone.ui import View


class Driver:
    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def views(self, rid: str | None = None, *, text: str | None = None, desc: str | None = None) -> list[View]:
        return [view for view in self.phone.root().walk()
                if (rid is None or view.resource_id.endswith(f":id/{rid}") or view.resource_id == rid)
                and (text is None or view.text == text) and (desc is None or view.description == desc)]

    def get(self, rid: str | None = None, *, text: str | None = None, desc: str | None = None) -> View:
        found = self.views(rid, text=text, desc=desc)
        assert found, f"no view {rid=} {text=} {desc=} on {self.phone.current_app()}"
        return found[0]

    def tap(self, rid: str | None = None, *, text: str | None = None, desc: str | None = None) -> None:
        x1, y1, x2, y2 = self.get(rid, text=text, desc=desc).bounds
        self.phone.tap((x1 + x2) // 2, (y1 + y2) // 2)

    def texts(self, rid: str) -> list[str]:
        return [view.text for view in self.views(rid)]

    def type_into(self, rid: str, text: str) -> None:
        self.tap(rid)
        self.phone.input_text(text)

    def swipe_up(self, rid: str = "list") -> None:
        x1, y1, x2, y2 = self.get(rid).bounds
        x = (x1 + x2) // 2
        self.phone.swipe(x, y2 - 100, x, y1 + 100)


@pytest.fixture
def driver() -> Driver:
    return Driver(Phone(seed=0))
