from __future__ import annotations

import pytest

from android_agent.errors import PhoneError

PACKAGE = "com.infir.settings"


@pytest.mark.parametrize("key", ["wifi", "bluetooth", "airplane_mode", "dark_theme", "do_not_disturb"])
def test_each_switch_toggles_its_setting(driver, key):
    driver.phone.start_app(PACKAGE)
    before = driver.phone.app_state(PACKAGE)[key]
    driver.tap(f"{key}_switch")
    assert driver.phone.app_state(PACKAGE)[key] is (not before)
    assert driver.get(f"{key}_switch").checked is (not before)


def test_tapping_the_row_toggles_too(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("setting_title", text="Do not disturb")
    assert driver.phone.app_state(PACKAGE)["do_not_disturb"] is True


def test_rename_device_in_about_phone(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("setting_title", text="About phone")
    field = driver.get("device_name")
    assert field.focused
    driver.phone.set_text(field, "Lab phone")
    driver.tap("save")
    assert driver.phone.app_state(PACKAGE)["device_name"] == "Lab phone"
    assert driver.phone.current_app() == (PACKAGE, ".Settings")
    assert "Lab phone" in driver.texts("setting_summary")


def test_empty_device_name_shows_an_error_and_keeps_the_state(driver):
    driver.phone.start_app(PACKAGE)
    before = driver.phone.app_state(PACKAGE)["device_name"]
    driver.tap("setting_title", text="About phone")
    driver.phone.set_text(driver.get("device_name"), "  ")
    driver.tap("save")
    assert driver.get("error").text == "Device name can't be empty"
    assert driver.phone.app_state(PACKAGE)["device_name"] == before


def test_set_app_state_rejects_a_missing_key(driver):
    state = driver.phone.app_state(PACKAGE)
    del state["wifi"]
    with pytest.raises(PhoneError):
        driver.phone.set_app_state(PACKAGE, state)
