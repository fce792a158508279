from __future__ import annotations

PACKAGE = "com.infir.notes"


def notes(driver):
    return driver.phone.app_state(PACKAGE)["notes"]


def test_list_shows_titles_newest_first_with_the_first_line(driver):
    driver.phone.start_app(PACKAGE)
    ordered = sorted(notes(driver), key=lambda note: -note["id"])
    assert driver.texts("note_title") == [note["title"] for note in ordered]
    assert driver.texts("note_preview")[0] == ordered[0]["body"].split("\n")[0]


def test_new_note_with_a_multiline_body(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("new_note", desc="New note")
    driver.phone.input_text("Trip")
    driver.type_into("body_input", "Tickets")
    driver.phone.press_key("enter")
    driver.phone.input_text("Hotel ✓")
    driver.tap("save")
    assert notes(driver)[-1] == {"id": 8, "title": "Trip", "body": "Tickets\nHotel ✓"}
    assert driver.texts("note_title")[0] == "Trip"


def test_empty_title_is_refused(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("new_note")
    driver.type_into("body_input", "no title")
    driver.tap("save")
    assert driver.get("error").text == "Title can't be empty"
    assert len(notes(driver)) == 7


def test_edit_and_delete_an_existing_note(driver):
    driver.phone.start_app(PACKAGE)
    title = driver.texts("note_title")[0]
    driver.tap("note_title", text=title)
    assert driver.get("title_input").text == title
    driver.phone.press_key("del")
    driver.tap("save")
    assert any(note["title"] == title[:-1] for note in notes(driver))
    driver.tap("note_title", text=title[:-1])
    driver.tap("delete")
    driver.tap("android:id/button1")
    assert all(note["title"] != title[:-1] for note in notes(driver))


def test_navigate_up_discards_the_draft(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("new_note")
    driver.phone.input_text("Draft")
    driver.tap("up", desc="Navigate up")
    assert len(notes(driver)) == 7


def test_long_press_on_a_row_asks_then_deletes(driver):
    driver.phone.start_app(PACKAGE)
    title = driver.texts("note_title")[0]
    x1, y1, x2, y2 = driver.get("note_title", text=title).bounds
    driver.phone.long_press((x1 + x2) // 2, (y1 + y2) // 2)
    assert driver.get("android:id/alertTitle").text == "Delete note?"
    driver.tap("android:id/button1")
    assert title not in [note["title"] for note in notes(driver)] and title not in driver.texts("note_title")
    assert driver.phone.current_app() == (PACKAGE, ".NotesList")
