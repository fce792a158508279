"""The safety gate: what it stops, what it lets through, and who decided."""

from __future__ import annotations

import io

import pytest

from android_agent.actions import Action
from android_agent.errors import AgentError
from android_agent.observation import Element
from android_agent.safety import (
    SafetyGate,
    approve_if_asked,
    ask_terminal,
    classify,
    deny_all,
)

TAP = Action("click", element=0)


def target(text: str = "", *, rid: str = "", desc: str = "", cls: str = "Button", **flags) -> Element:
    return Element(id=0, class_name=cls, resource_id=rid, text=text, description=desc, bounds=(0, 0, 100, 100),
                   **flags)


def category(action: Action, element: Element | None, task: str = "open the app") -> str | None:
    request = classify(action, element, task)
    return request.category if request else None


@pytest.mark.parametrize(("element", "expected"), [
    (target("Delete"), "delete"),
    (target("REMOVE ACCOUNT"), "delete"),
    (target(desc="Move to trash", cls="ImageButton"), "delete"),
    (target("Clear"), "delete"),
    (target("Clear history"), "delete"),
    (target(rid="com.mail:id/send", cls="ImageButton"), "send"),
    (target(rid="com.mail:id/sendButton", cls="ImageButton"), "send"),
    (target("Call Alice"), "send"),
    (target("Share"), "send"),
    (target("Pay $12.00"), "pay"),
    (target(rid="com.shop:id/btn_place_order"), "pay"),
    (target("Buy now"), "pay"),
    (target("Install"), "install"),
    (target("Play Protect", cls="Switch", checkable=True, checked=True), "settings"),
    (target("USB debugging", cls="Switch", checkable=True), "settings"),
])
def test_sensitive_taps_are_classified(element, expected):
    assert category(TAP, element) == expected


@pytest.mark.parametrize("element", [
    target("Sender"),
    target("Undelete"),
    target("Uninstalled apps are listed here"),  # not a tap on "Install"
    target("Clear search"),
    target("Call log"),
    target("Payment methods"),
    target("PayPal"),
    target("Save"),
    target("Remove mold from the shower and wash the curtains"),  # content, too long to be a command
    target("Delete", cls="EditText", editable=True),  # tapping a field focuses it
    target("Play Protect", cls="Switch", checkable=True, checked=False),  # turning protection on is fine
])
def test_harmless_taps_are_not_gated(element):
    assert category(TAP, element) is None


def test_a_row_is_gated_only_when_its_label_starts_with_the_command():
    assert category(TAP, target("Delete account", cls="LinearLayout")) == "delete"


@pytest.mark.parametrize("element", [
    target("12:15 Call grandma", cls="LinearLayout"),  # an alarm's label is content
    target("Olivia Novak Send me the pics", cls="LinearLayout"),  # a conversation's last message
    target("Check out", cls="Button"),  # opens the order summary; paying is the next screen
])
def test_content_and_navigation_are_not_gated(element):
    assert category(TAP, element) is None


def test_long_press_is_classified_like_a_tap():
    assert category(Action("long_press", element=0), target("Delete")) == "delete"


@pytest.mark.parametrize("kind", ["press", "scroll", "open_app", "wait", "done"])
def test_other_kinds_are_not_gated(kind):
    action = {"press": Action("press", key="back"), "scroll": Action("scroll", direction="down"),
              "open_app": Action("open_app", app="Settings"), "wait": Action("wait", seconds=1),
              "done": Action("done")}[kind]
    assert category(action, target("Delete")) is None


def test_typing_into_a_password_field_needs_approval():
    field = target(cls="EditText", editable=True, password=True)
    assert category(Action("type", text="anything"), field) == "credentials"


def test_typing_into_a_field_named_pin_needs_approval():
    field = target("Enter PIN", cls="EditText", editable=True)
    assert category(Action("type", text="1234"), field) == "credentials"


@pytest.mark.parametrize(("text", "expected"), [
    ("4111 1111 1111 1111", "credentials"),  # a Luhn-valid card number, anywhere
    ("4111 1111 1111 1112", None),  # fails Luhn: a reference number, not a card
    ("Tr0ub4dor&3", "credentials"),
    ("Café 12", None),
    ("alice.smith2@Example.com", None),
    ("2024", None),  # a bare number is a PIN only where the field says so
    ("Meeting at 10", None),
])
def test_typed_text_that_looks_like_a_secret(text, expected):
    field = target("Note", cls="EditText", editable=True)
    assert category(Action("type", text=text), field) == expected


def test_reason_says_whether_the_task_asked():
    asked = classify(TAP, target("Delete"), "Delete the note 'Groceries'")
    not_asked = classify(TAP, target("Pay"), "Open the note 'Groceries'")
    assert asked.task_asks and "the task asks to delete" in asked.reason
    assert not not_asked.task_asks and "the task did not ask to pay" in not_asked.reason


def test_request_describes_the_target_without_leaking_passwords():
    request = classify(Action("type", text="hunter22"), target("hunter22", cls="EditText", password=True), "log in")
    assert "hunter22" not in request.reason and "(password field)" in request.target


def test_gate_denies_by_default_and_records_it():
    gate = SafetyGate()
    decision = gate.check(TAP, target("Delete"), "delete the note")
    assert not decision.approved and decision.decided_by == "deny_all"
    assert gate.decisions == [decision]


def test_gate_lets_harmless_actions_run_without_asking():
    gate = SafetyGate(lambda request: pytest.fail("asked about a harmless action"))
    assert gate.check(TAP, target("Save"), "save") is None and gate.decisions == []


def test_approve_if_asked_approves_exactly_its_categories():
    gate = SafetyGate(approve_if_asked(["delete"]))
    assert gate.check(TAP, target("Delete"), "delete the note").approved
    assert not gate.check(TAP, target("Send"), "delete the note").approved
    assert gate.decisions[0].decided_by == "approve_if_asked(delete)"


def test_approve_if_asked_refuses_unknown_categories():
    with pytest.raises(AgentError, match="unknown safety categories"):
        approve_if_asked(["deleet"])


def test_deny_all_denies():
    assert deny_all(classify(TAP, target("Delete"), "")) is False


@pytest.mark.parametrize(("answer", "approved"), [("y", True), ("YES\n", True), ("", False), ("n", False)])
def test_ask_terminal_takes_only_yes(answer, approved):
    output = io.StringIO()
    request = classify(TAP, target("Delete"), "delete the note")
    assert ask_terminal(request, input=lambda prompt: answer, output=output) is approved
    assert "[delete]" in output.getvalue() and "[y/N]" in output.getvalue()


def test_ask_terminal_treats_end_of_input_as_no():
    def closed(prompt: str) -> str:
        raise EOFError

    assert ask_terminal(classify(TAP, target("Delete"), ""), input=closed, output=io.StringIO()) is False
