from __future__ import annotations

PACKAGE = "com.infir.clock"


def alarms(driver):
    return driver.phone.app_state(PACKAGE)["alarms"]


def test_alarms_are_listed_by_time_with_a_switch_each(driver):
    driver.phone.start_app(PACKAGE)
    ordered = sorted(alarms(driver), key=lambda a: (a["hour"], a["minute"]))
    expected = [f"{a['hour']:02d}:{a['minute']:02d}" for a in ordered]
    assert driver.texts("alarm_time") == expected
    assert [view.description for view in driver.views("alarm_switch")] == [f"Alarm {time}" for time in expected]


def test_switch_toggles_enabled(driver):
    driver.phone.start_app(PACKAGE)
    first = sorted(alarms(driver), key=lambda a: (a["hour"], a["minute"]))[0]
    driver.tap("alarm_switch", desc=f"Alarm {first['hour']:02d}:{first['minute']:02d}")
    assert next(a for a in alarms(driver) if a["id"] == first["id"])["enabled"] is (not first["enabled"])


def test_add_an_alarm(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("add_alarm", desc="Add alarm")
    driver.phone.input_text("6")
    driver.type_into("minute", "45")
    driver.type_into("label", "Gym")
    driver.tap("save")
    assert alarms(driver)[-1] == {"id": 5, "hour": 6, "minute": 45, "label": "Gym", "enabled": True}
    assert "06:45" in driver.texts("alarm_time")


def test_out_of_range_hour_is_refused(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("add_alarm")
    driver.phone.input_text("24")
    driver.type_into("minute", "00")
    driver.tap("save")
    assert driver.get("error").text == "Hour must be a number from 0 to 23"
    assert len(alarms(driver)) == 4


def test_edit_then_delete(driver):
    driver.phone.start_app(PACKAGE)
    time = driver.texts("alarm_time")[0]
    driver.tap("alarm_time", text=time)
    driver.phone.set_text(driver.get("label"), "Renamed")
    driver.tap("save")
    renamed = next(a for a in alarms(driver) if a["label"] == "Renamed")
    driver.tap("alarm_time", text=time)
    driver.tap("delete")
    assert all(a["id"] != renamed["id"] for a in alarms(driver))
