"""Settings tasks: toggles and the device name."""

from __future__ import annotations

import random

from android_agent.tasks.base import States, Task, same_text
from android_agent.tasks.plan import Done, Open, Tap, Target, Type, control, row

SETTINGS = "com.infir.settings"
TOGGLES = {"wifi": "Wi-Fi", "bluetooth": "Bluetooth", "airplane_mode": "Airplane mode", "dark_theme": "Dark theme",
           "do_not_disturb": "Do not disturb"}
DEVICE_NAMES = ["Zoë's Pixel", "Kitchen tablet", "Café phone", "Work phone 2", "Jürgen's phone", "Living room",
                "Abuela's phone", "Test device #7"]


def _toggle(key: str) -> Tap:
    return Tap(Target(resource_id=f"{SETTINGS}:id/{key}_switch"))


def _unchanged_except(before: dict, after: dict, keys: set[str]) -> bool:
    return all(after[k] == before[k] for k in before if k not in keys)


class ToggleSetting(Task):
    name = "toggle_setting"
    packages = (SETTINGS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        key = rng.choice(sorted(TOGGLES))
        return {"key": key, "on": not states[SETTINGS][key]}

    @property
    def instruction(self) -> str:
        return f"Turn {'on' if self.params['on'] else 'off'} {TOGGLES[self.params['key']]}."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        key = self.params["key"]
        return after[SETTINGS][key] == self.params["on"] and _unchanged_except(before[SETTINGS], after[SETTINGS],
                                                                                 {key})

    def plan(self, states: States) -> list:
        return [Open("Settings"), _toggle(self.params["key"]), Done()]


class QuietDarkMode(Task):
    name = "dark_theme_and_do_not_disturb"
    packages = (SETTINGS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"wifi": rng.random() < 0.5}

    @property
    def instruction(self) -> str:
        return "It's late: turn on both Dark theme and Do not disturb."

    def prepare(self, states: States) -> States:
        return {SETTINGS: {**states[SETTINGS], "dark_theme": False, "do_not_disturb": False,
                           "wifi": self.params["wifi"]}}

    def check(self, before: States, after: States, answer: str | None) -> bool:
        s = after[SETTINGS]
        return s["dark_theme"] and s["do_not_disturb"] and _unchanged_except(before[SETTINGS], s,
                                                                              {"dark_theme", "do_not_disturb"})

    def plan(self, states: States) -> list:
        return [Open("Settings"), _toggle("dark_theme"), _toggle("do_not_disturb"), Done()]


class RenameDevice(Task):
    name = "rename_device"
    packages = (SETTINGS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"device_name": rng.choice([n for n in DEVICE_NAMES if n != states[SETTINGS]["device_name"]])}

    @property
    def instruction(self) -> str:
        return f'Rename this phone to "{self.params["device_name"]}".'

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return (after[SETTINGS]["device_name"] == self.params["device_name"]
                and _unchanged_except(before[SETTINGS], after[SETTINGS], {"device_name"}))

    def plan(self, states: States) -> list:
        return [Open("Settings"), Tap(row(SETTINGS, "setting_row", "About phone")),
                Type(control(SETTINGS, "device_name"), self.params["device_name"], clear=True),
                Tap(control(SETTINGS, "save")), Done()]


class DeviceNameLookup(Task):
    name = "device_name_lookup"
    packages = (SETTINGS,)

    @classmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        return {"device_name": rng.choice(DEVICE_NAMES)}

    def prepare(self, states: States) -> States:
        return {SETTINGS: {**states[SETTINGS], "device_name": self.params["device_name"]}}

    @property
    def instruction(self) -> str:
        return "What is this phone's device name? Answer with the name only."

    def check(self, before: States, after: States, answer: str | None) -> bool:
        return same_text(answer, self.params["device_name"]) and after == before

    def plan(self, states: States) -> list:
        return [Open("Settings"), Done(self.params["device_name"])]


TASKS = [ToggleSetting, QuietDarkMode, RenameDevice, DeviceNameLookup]
