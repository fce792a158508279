from __future__ import annotations

import re

PACKAGE = "com.infir.messages"


def threads(driver):
    return driver.phone.app_state(PACKAGE)["threads"]


def test_seeded_threads_hold_a_code_an_address_and_a_meeting(driver):
    texts = " ".join(m["text"] for t in threads(driver) for m in t["messages"])
    assert re.search(r"verification code is \d{6}", texts)
    assert "Party's at my new place" in texts and "Team sync moved to" in texts


def test_senders_are_contacts_with_their_numbers(driver):
    contacts = {c["name"]: c["phone"] for c in driver.phone.app_state("com.infir.contacts")["contacts"]}
    named = [t for t in threads(driver) if t["contact"]]
    assert len(named) == 4 and all(contacts[t["contact"]] == t["number"] for t in named)


def test_list_is_newest_first(driver):
    driver.phone.start_app(PACKAGE)
    newest = sorted(threads(driver), key=lambda t: t["messages"][-1]["time"], reverse=True)
    assert driver.texts("thread_name") == [t["contact"] or t["number"] for t in newest]


def test_reply_in_a_conversation(driver):
    driver.phone.start_app(PACKAGE)
    name = driver.texts("thread_name")[1]
    driver.tap("thread_name", text=name)
    assert not driver.get("send").enabled
    driver.type_into("message_input", "On my way 🚲")
    driver.tap("send", desc="Send")
    thread = next(t for t in threads(driver) if (t["contact"] or t["number"]) == name)
    assert thread["messages"][-1] | {"id": 0} == {"id": 0, "from_me": True, "text": "On my way 🚲",
                                                  "time": "2025-03-14T09:41"}
    assert driver.texts("message_text")[-1] == "On my way 🚲"
    assert driver.get("message_input").text == ""


def test_start_chat_with_a_contact_by_name(driver):
    driver.phone.start_app(PACKAGE)
    contact = driver.phone.app_state("com.infir.contacts")["contacts"][0]
    driver.tap("start_chat", desc="Start chat")
    driver.phone.input_text(contact["name"].upper())
    driver.type_into("message_input", "Hi!")
    driver.tap("send")
    thread = next(t for t in threads(driver) if t["number"] == contact["phone"])
    assert thread["contact"] == contact["name"] and thread["messages"][-1]["text"] == "Hi!"
    assert driver.phone.current_app() == (PACKAGE, ".Conversation")


def test_start_chat_with_a_new_number_and_an_unknown_name(driver):
    driver.phone.start_app(PACKAGE)
    driver.tap("start_chat")
    driver.phone.input_text("Nobody Known")
    driver.type_into("message_input", "Hi")
    driver.tap("send")
    assert driver.get("error").text == "No contact named Nobody Known"
    driver.phone.set_text(driver.get("recipient"), "650-555-0199")
    driver.tap("send")
    assert threads(driver)[-1]["number"] == "650-555-0199" and threads(driver)[-1]["contact"] == ""
