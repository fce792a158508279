"""Settings (`com.infir.settings`): quick toggles and the device name. Ids below are `com.infir.settings:id/<id>`.

Screen `.Settings` (title "Settings"), a list `id/list` of rows `id/setting_row`, each titled (`id/setting_title`)
"Wi-Fi", "Bluetooth", "Airplane mode", "Dark theme", "Do not disturb" with a secondary line "On"/"Off"
(`id/setting_summary`) and a Switch (content-desc = the row's title) with ids `id/wifi_switch`,
`id/bluetooth_switch`, `id/airplane_mode_switch`, `id/dark_theme_switch`, `id/do_not_disturb_switch`; then the row
"About phone" (summary: the device name). Tapping a switch or anywhere on its row toggles it at once.

Screen `.AboutPhone` (title "About phone", "Navigate up" `id/up`): the EditText `id/device_name` (desc "Device
name", pre-filled and focused), Button `id/save` "Save", then "Model: Infir One", "Android version: 14".

Flows:
- toggle Wi-Fi: tap `id/wifi_switch` (desc "Wi-Fi") -> state `wifi` flips (likewise the other four).
- rename the phone: tap the row "About phone" -> tap `id/device_name`, clear it (DEL keys or set_text), type the
  name -> tap `id/save` -> back on `.Settings`. An empty name shows "Device name can't be empty" (`id/error`).
Dark theme darkens the rendering of every app. State: `{"wifi", "bluetooth", "airplane_mode", "dark_theme",
"do_not_disturb": bool, "device_name": str}`.
"""

from __future__ import annotations

import random
from typing import Any

from android_agent.phone.apps.base import App, Page, Screen, require
from android_agent.phone.apps.words import FIRST_NAMES
from android_agent.phone.ui import button, list_item, switch, text_view

TOGGLES = (("wifi", "Wi-Fi"), ("bluetooth", "Bluetooth"), ("airplane_mode", "Airplane mode"),
           ("dark_theme", "Dark theme"), ("do_not_disturb", "Do not disturb"))
MAX_NAME = 40


class Settings(App):
    package = "com.infir.settings"
    label = "Settings"
    tint = (95, 99, 104)

    def initial_state(self, rng: random.Random) -> dict[str, Any]:
        return {"wifi": True, "bluetooth": rng.random() < 0.5, "airplane_mode": False, "dark_theme": False,
                "do_not_disturb": False, "device_name": f"{rng.choice(FIRST_NAMES)}'s phone"}

    def validate(self, state: Any) -> dict[str, Any]:
        require(isinstance(state, dict), "the state must be a JSON object")
        expected = {key for key, _ in TOGGLES} | {"device_name"}
        require(set(state) == expected, f"expected exactly the keys {sorted(expected)}")
        for key, _ in TOGGLES:
            require(isinstance(state[key], bool), f"'{key}' must be true or false")
        name = state["device_name"]
        require(isinstance(name, str) and 0 < len(name.strip()) <= MAX_NAME,
                f"'device_name' must be a non-empty string of at most {MAX_NAME} characters")
        return dict(state)

    def main_screen(self) -> Screen:
        return Screen(".Settings", self._main)

    def _main(self, screen: Screen) -> Page:
        rows = []
        for key, title in TOGGLES:
            on = self.state[key]
            toggle = self._toggle(key)
            rows.append(list_item(self.width, rid="setting_row", title=title, title_rid="setting_title",
                                  subtitle="On" if on else "Off", subtitle_rid="setting_summary",
                                  trailing=switch(on, f"{key}_switch", title, toggle), on_click=toggle))
        rows.append(list_item(self.width, rid="setting_row", title="About phone", title_rid="setting_title",
                              subtitle=self.state["device_name"], subtitle_rid="setting_summary",
                              on_click=self._open_about))
        return Page(title="Settings", rows=rows)

    def _toggle(self, key: str):
        def toggle() -> None:
            self.state[key] = not self.state[key]

        return toggle

    def _open_about(self) -> None:
        self.open(Screen(".AboutPhone", self._about, fields={"device_name": self.state["device_name"]},
                         focus="device_name"))

    def _about(self, screen: Screen) -> Page:
        return Page(title="About phone", body=[
            self.field(screen, "device_name", "Device name", on_enter=lambda: self._save_name(screen)),
            button("Save", "save", lambda: self._save_name(screen), width=self.inner),
            text_view("Model: Infir One", self.inner, style="secondary", rid="model"),
            text_view("Android version: 14", self.inner, style="secondary", rid="android_version"),
        ])

    def _save_name(self, screen: Screen) -> None:
        name = screen.fields.get("device_name", "").strip()
        if not name:
            return self.fail(screen, "Device name can't be empty")
        if len(name) > MAX_NAME:
            return self.fail(screen, f"Device name must be at most {MAX_NAME} characters")
        self.state["device_name"] = name
        self.back()

