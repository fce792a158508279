from __future__ import annotations

import threading
import time

import pytest

from android_agent.errors import PhoneError
from android_agent.phone import Phone

CONTACTS = "com.infir.contacts"


def center(view):
    x1, y1, x2, y2 = view.bounds
    return (x1 + x2) // 2, (y1 + y2) // 2


def view_with(phone, rid):
    return next(view for view in phone.root().walk() if view.resource_id.endswith(f":id/{rid}"))


@pytest.fixture
def phone():
    return Phone(seed=0)


def test_starts_on_the_launcher_home_in_portrait(phone):
    assert phone.current_app() == ("com.infir.launcher", ".Home")
    assert phone.size == (1080, 2400) and phone.density_dpi == 420
    assert phone.root().bounds == (0, 0, 1080, 2400)
    assert phone.root().children[0].resource_id == "com.android.systemui:id/status_bar"


def test_packages_and_labels(phone):
    assert phone.packages() == ["com.infir.launcher", "com.infir.settings", CONTACTS, "com.infir.messages",
                                "com.infir.clock", "com.infir.notes", "com.infir.shop"]
    assert phone.app_label(CONTACTS) == "Contacts"


def test_home_and_back_return_to_the_launcher(phone):
    phone.start_app(CONTACTS)
    phone.press_key("home")
    assert phone.current_app()[0] == "com.infir.launcher"
    phone.start_app(CONTACTS)
    phone.tap(*center(view_with(phone, "contact_row")))
    phone.press_key(4)
    assert phone.current_app() == (CONTACTS, ".ContactsList")
    phone.press_key("KEYCODE_BACK")
    assert phone.current_app()[0] == "com.infir.launcher"


def test_unknown_keys_and_packages_raise_phone_error(phone):
    for key in ("warp", 9999):
        with pytest.raises(PhoneError):
            phone.press_key(key)
    with pytest.raises(PhoneError):
        phone.start_app("com.example.missing")
    with pytest.raises(PhoneError):
        phone.app_state("com.example.missing")


def test_start_app_opens_the_main_screen_and_stop_app_goes_home(phone):
    phone.start_app(CONTACTS)
    phone.tap(*center(view_with(phone, "add")))
    phone.start_app(CONTACTS)
    assert phone.current_app() == (CONTACTS, ".ContactsList")
    phone.stop_app(CONTACTS)
    assert phone.current_app()[0] == "com.infir.launcher"


def test_text_input_goes_to_the_focused_field_only(phone):
    phone.input_text("ignored")  # nothing focused on the home screen: nothing happens
    phone.start_app(CONTACTS)
    phone.tap(*center(view_with(phone, "add")))
    phone.input_text("Zoë 李")
    phone.press_key("del")
    assert view_with(phone, "name").text == "Zoë "
    phone.tap(*center(view_with(phone, "phone")))
    phone.clipboard = "555-0100"
    phone.paste()
    assert view_with(phone, "phone").text == "555-0100" and view_with(phone, "phone").focused
    assert not view_with(phone, "name").focused


def test_set_text_replaces_and_focuses_and_refuses_non_editable_views(phone):
    phone.start_app(CONTACTS)
    phone.tap(*center(view_with(phone, "add")))
    phone.set_text(view_with(phone, "email"), "a@b.co")
    assert view_with(phone, "email").text == "a@b.co" and view_with(phone, "email").focused
    with pytest.raises(PhoneError):
        phone.set_text(view_with(phone, "save"), "x")


def test_a_tap_on_nothing_changes_nothing(phone):
    version = phone.version
    phone.tap(540, 2300)
    assert phone.version == version


def test_version_bumps_on_change_and_observations_are_cached(phone):
    image, xml = phone.screenshot(), phone.hierarchy_xml()
    assert phone.screenshot() is image and phone.hierarchy_xml() is xml
    phone.start_app(CONTACTS)
    assert phone.screenshot() is not image and phone.hierarchy_xml() != xml


def test_swipe_scrolls_the_list_under_the_finger(phone):
    phone.start_app(CONTACTS)
    before = [view.text for view in phone.root().walk() if view.resource_id.endswith("contact_name")]
    phone.swipe(540, 1800, 540, 600)
    after = [view.text for view in phone.root().walk() if view.resource_id.endswith("contact_name")]
    assert after[0] != before[0] and after[0] in before
    phone.swipe(540, 600, 540, 1800)
    assert [view.text for view in phone.root().walk() if view.resource_id.endswith("contact_name")] == before


def test_animation_window_follows_each_change():
    phone = Phone(animation_s=0.05)
    assert not phone.is_animating()
    phone.start_app(CONTACTS)
    assert phone.is_animating()
    time.sleep(0.06)
    assert not phone.is_animating()


def test_same_seed_same_states_and_pixels_other_seed_differs():
    first, second, other = Phone(seed=3), Phone(seed=3), Phone(seed=4)
    for phone in (first, second, other):
        phone.start_app(CONTACTS)
    assert [first.app_state(p) for p in first.packages()] == [second.app_state(p) for p in second.packages()]
    assert first.screenshot().tobytes() == second.screenshot().tobytes()
    assert first.app_state(CONTACTS) != other.app_state(CONTACTS)


def test_set_app_state_replaces_state_and_returns_a_copy(phone):
    state = phone.app_state(CONTACTS)
    state["contacts"] = state["contacts"][:2]
    phone.set_app_state(CONTACTS, state)
    state["contacts"].clear()
    assert len(phone.app_state(CONTACTS)["contacts"]) == 2


def test_observation_after_a_change_is_fast_and_cached_observation_is_free(phone):
    timings = []
    for package in phone.packages():
        phone.start_app(package)
        start = time.perf_counter()
        phone.root(), phone.hierarchy_xml(), phone.screenshot_jpeg(80)
        timings.append(time.perf_counter() - start)
    start = time.perf_counter()
    phone.root(), phone.hierarchy_xml(), phone.screenshot_jpeg(80)
    assert time.perf_counter() - start < 0.002
    assert sorted(timings)[len(timings) // 2] < 0.1  # ~15-20 ms here; loose for a busy CI machine


def test_concurrent_taps_and_observations_do_not_break_the_tree(phone):
    phone.start_app("com.infir.settings")
    switch = view_with(phone, "wifi_switch")
    errors = []

    def observe():
        try:
            for _ in range(20):
                phone.hierarchy_xml()
        except Exception as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=observe) for _ in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        phone.tap(*center(switch))
    for thread in threads:
        thread.join()
    assert not errors and phone.app_state("com.infir.settings")["wifi"] is True
