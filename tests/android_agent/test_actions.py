"""The action schema: what a model may write, what it is told when it gets it wrong, and the pixels it becomes."""

from __future__ import annotations

import pytest

from android_agent.actions import ACTION_KINDS, Action, Command, action_from_json, parse_action, resolve
from android_agent.errors import MalformedActionError
from android_agent.observation import Element

SIZE = (1080, 2400)
APPS = {"Contacts": "com.infir.contacts", "Notes": "com.infir.notes"}


def element(id: int, bounds: tuple[int, int, int, int], **flags) -> Element:
    return Element(id=id, class_name="View", resource_id="", text="", description="", bounds=bounds, **flags)


SCREEN = [element(0, (0, 0, 1080, 200), clickable=True), element(1, (0, 200, 1080, 2200), scrollable=True),
          element(2, (100, 300, 500, 500), scrollable=True), element(3, (0, 2300, 1080, 2600), clickable=True)]


def rejected(text: str) -> str:
    with pytest.raises(MalformedActionError) as info:
        parse_action(text)
    return info.value.reason


@pytest.mark.parametrize("obj", [
    {"action": "click", "element": 3},
    {"action": "click", "x": 500, "y": 120.5},
    {"action": "long_press", "element": 0},
    {"action": "type", "text": "Café 12"},
    {"action": "type", "text": "hi", "element": 5},
    {"action": "swipe", "x1": 500, "y1": 800, "x2": 500, "y2": 200},
    {"action": "scroll", "direction": "down"},
    {"action": "scroll", "direction": "left", "element": 2},
    {"action": "press", "key": "back"},
    {"action": "open_app", "app": "Contacts"},
    {"action": "wait", "seconds": 2},
    {"action": "done"},
    {"action": "done", "answer": "42"},
])
def test_valid_actions_round_trip_through_to_json(obj):
    assert action_from_json(obj).to_json() == obj


def test_every_kind_is_covered_by_the_schema():
    assert set(ACTION_KINDS) == {"click", "long_press", "type", "swipe", "scroll", "press", "open_app", "wait", "done"}


def test_wait_defaults_to_one_second():
    assert parse_action('{"action": "wait"}').seconds == 1.0


@pytest.mark.parametrize("text", [
    '{"action": "click", "element": 3}',
    '```json\n{"action": "click", "element": 3}\n```',
    'I will open the contact. {"action": "click", "element": 3} That should work.',
    '{"action": "click", "element": 3}\n{"action": "click", "element": 3}',  # a repeat is still one action
    'Thought: {"action": "click", "element": 3} ... the {plan} is done',  # later non-JSON braces are prose
])
def test_parse_finds_the_one_object(text):
    assert parse_action(text) == Action("click", element=3)


def test_braces_inside_strings_do_not_end_the_object():
    assert parse_action('{"action": "type", "text": "a } b {"}').text == "a } b {"


@pytest.mark.parametrize(("text", "reason"), [
    ("click the save button", "no JSON object found"),
    ('{"action": "type", "text": "hello', "not closed"),
    ("{'action': 'click', 'element': 3}", "not valid JSON"),
    ('{"action": "click", "element": 3} {"action": "press", "key": "back"}', "several different actions"),
    ('{"element": 3}', "missing key 'action'"),
    ('{"action": "tap", "element": 3}', "unknown action 'tap'"),
    ('{"action": "click", "element": 3, "why": "save"}', "unexpected key 'why' for click"),
    ('{"action": "click", "element": 3, "x": 1, "y": 2}', "not both"),
    ('{"action": "click", "x": 10}', "needs both 'x' and 'y'"),
    ('{"action": "click"}', "needs 'element' or 'x' and 'y'"),
    ('{"action": "click", "x": "500", "y": 100}', "'x' must be a number, got a string"),
    ('{"action": "click", "x": true, "y": 100}', "'x' must be a number, got a boolean"),
    ('{"action": "click", "x": NaN, "y": 100}', "NaN is not a number"),
    ('{"action": "click", "x": 1e999, "y": 100}', "finite"),
    ('{"action": "click", "x": 1001, "y": 100}', "within 0..1000"),
    ('{"action": "click", "x": -1, "y": 100}', "within 0..1000"),
    ('{"action": "click", "element": "5"}', "'element' must be an element id"),
    ('{"action": "click", "element": 2.0}', "'element' must be an element id"),
    ('{"action": "click", "element": -1}', "'element' must be an element id"),
    ('{"action": "type", "text": ""}', "'text' must not be empty"),
    ('{"action": "type", "text": 5}', "'text' must be a string"),
    ('{"action": "scroll", "direction": "sideways"}', "'direction' must be one of up, down, left, right"),
    ('{"action": "press", "key": "menu"}', "'key' must be one of back, home, enter"),
    ('{"action": "wait", "seconds": 0}', "'seconds' must be > 0 and <= 10"),
    ('{"action": "wait", "seconds": 11}', "'seconds' must be > 0 and <= 10"),
    ('{"action": "done", "answer": 42}', "'answer' must be a string"),
    ('{"action": "click", "element": 3, "element": 4}', "duplicate key 'element'"),
    ('{"action": ["click"]}', "'action' must be a string"),
])
def test_malformed_actions_say_why(text, reason):
    assert reason in rejected(text)


def test_text_longer_than_the_limit_is_refused():
    assert "longer than 2000" in rejected('{"action": "type", "text": "%s"}' % ("a" * 2001))


def test_action_from_json_refuses_a_non_object():
    with pytest.raises(MalformedActionError, match="expected a JSON object"):
        action_from_json([{"action": "done"}])


def test_resolve_normalized_coordinates_to_pixels():
    assert resolve(parse_action('{"action": "click", "x": 1000, "y": 500}'), SCREEN, SIZE, APPS) == \
        Command("tap", x=1079, y=1200)


def test_resolve_element_to_its_visible_centre():
    # element 3 runs off the bottom of the screen: the tap lands in the part that shows
    assert resolve(Action("click", element=3), SCREEN, SIZE, APPS) == Command("tap", x=540, y=2350)


def test_resolve_unknown_element_lists_the_valid_ids():
    with pytest.raises(MalformedActionError, match=r"no element 9; valid ids are 0\.\.3"):
        resolve(Action("click", element=9), SCREEN, SIZE, APPS)


def test_resolve_long_press_has_a_duration():
    command = resolve(Action("long_press", element=0), SCREEN, SIZE, APPS)
    assert command.kind == "long_press" and command.duration_s >= 0.5


def test_type_into_an_element_focuses_it_first():
    field = element(4, (0, 500, 1080, 600), editable=True)
    assert resolve(Action("type", text="hi", element=4), [*SCREEN, field], SIZE, APPS) == Command(
        "type", x=540, y=550, text="hi")
    focused = element(4, (0, 500, 1080, 600), focused=True, editable=True)
    assert resolve(Action("type", text="hi"), [*SCREEN, focused], SIZE, APPS) == Command("type", text="hi")


def test_type_into_what_is_not_a_text_field_is_refused():
    with pytest.raises(MalformedActionError, match="element 0 is not a text field; this screen has none"):
        resolve(Action("type", text="hi", element=0), SCREEN, SIZE, APPS)


def test_type_without_an_element_needs_a_focused_field():
    with pytest.raises(MalformedActionError, match="no text field is focused"):
        resolve(Action("type", text="hi"), SCREEN, SIZE, APPS)


def test_scroll_down_moves_the_finger_up_inside_the_largest_scrollable():
    command = resolve(Action("scroll", direction="down"), SCREEN, SIZE, APPS)
    assert command.kind == "swipe" and command.x == command.x2 == 540
    assert 200 < command.y2 < command.y < 2200


def test_scroll_inside_a_named_element_stays_within_it():
    command = resolve(Action("scroll", direction="right", element=2), SCREEN, SIZE, APPS)
    assert 100 < command.x2 < command.x < 500 and command.y == command.y2 == 400


def test_scroll_without_scrollables_uses_the_screen():
    command = resolve(Action("scroll", direction="up"), SCREEN[:1], SIZE, APPS)
    assert (command.x, command.y, command.x2, command.y2) == (540, 600, 540, 1800)


def test_open_app_matches_labels_case_insensitively():
    assert resolve(Action("open_app", app=" contacts"), [], SIZE, APPS) == Command("open_app",
                                                                                   package="com.infir.contacts")


def test_open_app_unknown_lists_the_known_labels():
    with pytest.raises(MalformedActionError, match="unknown app 'Mail'; known apps: Contacts, Notes"):
        resolve(Action("open_app", app="Mail"), [], SIZE, APPS)


def test_resolve_keeps_press_wait_and_done():
    assert resolve(Action("press", key="home"), [], SIZE, APPS) == Command("press", key="home")
    assert resolve(Action("wait", seconds=2), [], SIZE, APPS) == Command("wait", seconds=2)
    assert resolve(Action("done", answer="3"), [], SIZE, APPS) == Command("done", answer="3")
