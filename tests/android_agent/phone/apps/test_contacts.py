from __future__ import annotations

import pytest

from android_agent.errors import PhoneError

PACKAGE = "com.infir.contacts"


def contacts(driver):
    return driver.phone.app_state(PACKAGE)["contacts"]


def test_list_is_sorted_and_some_contacts_are_below_the_fold(driver):
    driver.phone.start_app(PACKAGE)
    names = sorted((contact["name"] for contact in contacts(driver)), key=str.casefold)
    shown = driver.texts("contact_name")
    assert shown == names[: len(shown)] and len(shown) < len(names) >= 20
    driver.swipe_up()
    driver.swipe_up()
    assert driver.texts("contact_name")[-1] == names[-1]


def test_add_contact(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("add", desc="Add contact")
    driver.phone.input_text("Ada Lovelace")  # the name field has the focus
    driver.type_into("phone", "+44 20 7946 0018")
    driver.type_into("email", "ada@example.org")
    driver.tap("save")
    added = [contact for contact in contacts(driver) if contact["name"] == "Ada Lovelace"]
    assert added == [{"id": 21, "name": "Ada Lovelace", "phone": "+44 20 7946 0018", "email": "ada@example.org",
                      "favorite": False}]
    assert driver.phone.current_app() == (PACKAGE, ".ContactsList")


@pytest.mark.parametrize(("name", "phone", "email", "error"), [
    ("", "123", "", "Name is required"),
    ("Bob", "call me", "", "Enter a valid phone number"),
    ("Bob", "", "bob@nowhere", "Enter a valid email"),
])
def test_invalid_contact_shows_an_error_and_adds_nothing(driver, name, phone, email, error):
    driver.phone.start_app(PACKAGE)
    driver.tap("add")
    for rid, value in (("name", name), ("phone", phone), ("email", email)):
        driver.type_into(rid, value)
    driver.tap("save")
    assert driver.get("error").text == error
    assert len(contacts(driver)) == 20


def test_favorite_edit_and_delete_from_details(driver):
    driver.phone.start_app(PACKAGE)
    first = driver.texts("contact_name")[0]
    driver.tap("contact_name", text=first)
    assert driver.get("details_name").text == first
    favorite = driver.get("favorite").checked
    driver.tap("favorite")
    assert next(c for c in contacts(driver) if c["name"] == first)["favorite"] is (not favorite)
    driver.tap("edit")
    driver.phone.set_text(driver.get("name"), "Renamed Person")
    driver.tap("save")
    assert driver.get("details_name").text == "Renamed Person"
    driver.tap("delete")
    assert driver.get("android:id/alertTitle").text == "Delete contact?"
    driver.tap("android:id/button1")
    assert all(contact["name"] != "Renamed Person" for contact in contacts(driver))
    assert driver.phone.current_app() == (PACKAGE, ".ContactsList")


def test_cancel_in_the_delete_dialog_keeps_the_contact(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("contact_name", text=driver.texts("contact_name")[0])
    driver.tap("delete")
    driver.tap("android:id/button2")
    assert len(contacts(driver)) == 20 and not driver.views("android:id/alertTitle")


def test_set_app_state_validates_and_returns_to_the_list(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("add")
    with pytest.raises(PhoneError):
        driver.phone.set_app_state(PACKAGE, {"contacts": [{"id": 1, "name": "X", "phone": "1", "email": ""}]})
    driver.phone.set_app_state(PACKAGE, {"contacts": [{"id": 7, "name": "Solo", "phone": "555", "email": "",
                                                       "favorite": True}]})
    assert driver.phone.current_app() == (PACKAGE, ".ContactsList")
    assert driver.texts("contact_name") == ["Solo"]
