from __future__ import annotations

APPS = ["Settings", "Contacts", "Messages", "Clock", "Notes", "Shop"]


def test_home_shows_every_app_icon_with_label_as_text_and_desc(driver):
    icons = driver.views("app_icon")
    assert [icon.text for icon in icons] == APPS
    assert all(icon.description == icon.text and icon.clickable for icon in icons)


def test_first_clickable_view_is_an_app_icon(driver):
    first = next(view for view in driver.phone.root().walk() if view.clickable)
    assert first.resource_id == "com.infir.launcher:id/app_icon"


def test_tapping_an_icon_opens_the_app_and_a_running_app_resumes_where_it_was(driver):
    driver.tap("app_icon", text="Notes")
    assert driver.phone.current_app() == ("com.infir.notes", ".NotesList")
    driver.tap("new_note")
    driver.phone.press_key("home")
    driver.tap("app_icon", text="Notes")
    assert driver.phone.current_app() == ("com.infir.notes", ".NoteEditor")


def test_launcher_state_is_empty(driver):
    assert driver.phone.app_state("com.infir.launcher") == {}
