"""Launcher (`com.infir.launcher`, activity `.Home`): the home screen the phone starts on and HOME returns to.

Screen `.Home`: a clock (`id/clock`, "09:41"), the date (`id/date`, "Friday, March 14"), then a 4-column grid of
app icons in the grid `id/workspace`. Each icon is a clickable TextView `com.infir.launcher:id/app_icon` with the
app's label as its text and content-desc: "Settings", "Contacts", "Messages", "Clock", "Notes", "Shop" (in that
order; the first clickable view of the screen is the Settings icon).

Flow: open an app: tap the `id/app_icon` whose text is its label. An app still running comes back on the screen it
was left on (Android's task switch); one never started or force-stopped opens on its main screen.
State: `{}` (nothing persists).
"""

from __future__ import annotations

import random
from typing import Any

from android_agent.phone.apps.base import NOW, App, Page, Screen, require
from android_agent.phone.ui import TEXT_VIEW, VIEW_GROUP, View, text_view, translate

COLUMNS = 4
CELL_H = 250


class Launcher(App):
    package = "com.infir.launcher"
    label = "Launcher"
    tint = (60, 64, 67)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        return {}

    def validate(self, state: Any) -> dict[str, Any]:
        require(state == {}, "the launcher keeps no state: expected {}")
        return {}

    def main_screen(self) -> Screen:
        return Screen(".Home", self._home)

    def _home(self, screen: Screen) -> Page:
        clock = text_view(NOW.strftime("%H:%M"), self.inner, style="headline", rid="clock")
        date = text_view(NOW.strftime("%A, %B %d").replace(" 0", " "), self.inner, style="secondary", rid="date")
        return Page(title=None, body=[clock, date, self._grid()])

    def _grid(self) -> View:
        cell_w = self.inner // COLUMNS
        icons = []
        apps = [package for package in self.host.packages() if package != self.package]
        for index, package in enumerate(apps):
            app = self.host.app(package)
            icon = View(TEXT_VIEW, (0, 0, cell_w, CELL_H), text=app.label, resource_id="app_icon",
                        description=app.label, clickable=True, focusable=True, style="launcher_icon",
                        icon=app.label[0], tint=app.tint, on_click=self._launcher_for(package))
            icons.append(translate(icon, (index % COLUMNS) * cell_w, 48 + (index // COLUMNS) * CELL_H))
        rows = (len(icons) + COLUMNS - 1) // COLUMNS
        return View(VIEW_GROUP, (0, 0, self.inner, 48 + rows * CELL_H), resource_id="workspace", children=icons)

    def _launcher_for(self, package: str):
        return lambda: self.host.launch(package)

