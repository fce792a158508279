"""A `Device` over an in-process simulated `Phone`, with no protocol in between.

For what needs many episodes fast and no client library in the loop: generating GUI training data, and unit
tests of the agent loop. Everything that claims to work on a phone is checked through `Uiautomator2Device`.
"""

from __future__ import annotations

import copy
import time

from android_agent.actions import Command
from android_agent.device import Device
from android_agent.errors import DeviceError
from android_agent.observation import Observation, parse_hierarchy
from android_agent.phone.phone import Phone


class LocalPhoneDevice(Device):
    def __init__(self, phone: Phone | None = None, *, serial: str = "local-phone") -> None:
        self.phone = phone or Phone()
        self.serial = serial

    def window_size(self) -> tuple[int, int]:
        return self.phone.size

    def observe(self, *, screenshot: bool = True) -> Observation:
        started = time.perf_counter()
        xml = self.phone.hierarchy_xml()
        image = self.phone.screenshot() if screenshot else None
        package, activity = self.phone.current_app()
        return Observation(xml=xml, elements=parse_hierarchy(xml), size=self.phone.size, package=package,
                           activity=activity, screenshot=image,
                           timings={"observe_ms": (time.perf_counter() - started) * 1000})

    def execute(self, command: Command) -> None:
        phone, kind = self.phone, command.kind
        if kind == "tap":
            phone.tap(command.x, command.y)
        elif kind == "long_press":
            phone.long_press(command.x, command.y)
        elif kind == "swipe":
            phone.swipe(command.x, command.y, command.x2, command.y2)
        elif kind == "type":
            if command.x is not None:
                phone.tap(command.x, command.y)
            focused = next((v for v in phone.root().walk() if v.focused and v.editable), None)
            if command.clear and focused is not None:
                phone.set_text(focused, command.text)
            else:
                phone.input_text(command.text)
        elif kind == "press":
            phone.press_key(command.key)
        elif kind == "open_app":
            phone.start_app(command.package)
        elif kind == "wait":
            time.sleep(command.seconds)
        elif kind != "done":
            raise DeviceError(f"unknown command {kind!r}")

    def apps(self) -> dict[str, str]:
        return {self.phone.app_label(p): p for p in self.phone.packages() if p != "com.infir.launcher"}

    def read_app_state(self, package: str) -> dict:
        return copy.deepcopy(self.phone.app_state(package))

    def write_app_state(self, package: str, state: dict) -> None:
        self.phone.set_app_state(package, copy.deepcopy(state))
