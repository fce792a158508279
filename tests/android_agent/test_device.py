"""`Uiautomator2Device`: the real uiautomator2 client against the simulated phone, field failures included."""

from __future__ import annotations

import pytest

from android_agent.actions import Command
from android_agent.device import Retry, Uiautomator2Device
from android_agent.errors import DeviceError
from android_agent.phone import Phone
from android_agent.phone.server import start_phone

NOTES = "com.infir.notes"


@pytest.fixture
def phone_and_device():
    with start_phone(Phone(seed=0)) as running:
        yield running.phone, Uiautomator2Device(running.serial, port=running.port)


def _focus_new_note_title(phone, device):
    device.execute(Command("open_app", package=NOTES))
    new_note = next(e for e in device.observe(screenshot=False).elements if e.resource_id.endswith("/new_note"))
    device.execute(Command("tap", x=new_note.center[0], y=new_note.center[1]))


def _focused_text(device) -> str:
    return next(e.text for e in device.observe(screenshot=False).elements if e.focused and e.editable)


def test_observe_gives_elements_the_foreground_app_and_a_screenshot_of_the_screen(phone_and_device):
    phone, device = phone_and_device
    observation = device.observe()
    assert observation.package == "com.infir.launcher"
    assert observation.screenshot.size == phone.size == device.window_size()
    assert any(e.clickable and e.text == "Settings" for e in observation.elements)


def test_hierarchy_dumps_refused_while_animating_are_retried(phone_and_device):
    phone, device = phone_and_device
    phone.animation_s = 0.3
    device.execute(Command("open_app", package=NOTES))  # a screen change starts the animation
    assert device.observe(screenshot=False).package == NOTES


def test_a_screen_that_never_settles_is_a_device_error():
    with start_phone(Phone(seed=0, animation_s=60)) as running:
        device = Uiautomator2Device(running.serial, port=running.port, retry=Retry(attempts=2, first_delay_s=0.01))
        device.execute(Command("open_app", package=NOTES))
        with pytest.raises(DeviceError, match="idle"):
            device.observe()


@pytest.mark.parametrize("text", ["plain", "two words and more", "Zoë — café crème 你好 👍"])
def test_typed_text_arrives_whole(phone_and_device, text):
    phone, device = phone_and_device
    _focus_new_note_title(phone, device)
    device.execute(Command("type", text=text))
    assert _focused_text(device) == text


def test_type_with_clear_replaces_the_field(phone_and_device):
    phone, device = phone_and_device
    _focus_new_note_title(phone, device)
    device.execute(Command("type", text="draft"))
    device.execute(Command("type", text="final", clear=True))
    assert _focused_text(device) == "final"


def test_app_state_round_trips_through_run_as(phone_and_device):
    phone, device = phone_and_device
    state = device.read_app_state(NOTES)
    state["notes"] = state["notes"][:1]
    device.write_app_state(NOTES, state)
    assert phone.app_state(NOTES) == state == device.read_app_state(NOTES)


def test_apps_are_named_by_their_labels(phone_and_device):
    _, device = phone_and_device
    assert {"Settings", "Contacts", "Messages", "Clock", "Notes", "Shop"} <= set(device.apps())


def test_keys_and_swipes_reach_the_phone(phone_and_device):
    phone, device = phone_and_device
    device.execute(Command("open_app", package="com.infir.contacts"))
    first = phone.root()
    device.execute(Command("swipe", x=540, y=1800, x2=540, y2=600, duration_s=0.2))
    assert phone.root() is not first
    device.execute(Command("press", key="home"))
    assert phone.current_app()[0] == "com.infir.launcher"
