"""The action schema says what `parse_action` + `resolve` accept, narrowed to one screen; the model policy decodes
under it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from android_agent.action_schema import action_schema, screen_schema
from android_agent.actions import parse_action, resolve
from android_agent.local_device import LocalPhoneDevice
from android_agent.observation import Element, Observation
from android_agent.policy import ModelPolicy, OraclePolicy, PolicyContext, Turn
from android_agent.runner import run_task
from android_agent.tasks import TASKS

APPS = ["Clock", "Contacts", "Notes"]


def _valid(action: dict, elements: int = 5, apps=APPS) -> bool:
    try:
        jsonschema.validate(action, action_schema(elements, apps))
    except jsonschema.ValidationError:
        return False
    return True


def _oracle_actions() -> list[tuple[dict, int, list[str]]]:
    """Every action the oracle takes on seed 0, in canonical form, with its screen's element count and the apps."""
    seen = []
    decide = OraclePolicy.decide

    def spy(self, context, observation):
        reply = decide(self, context, observation)
        seen.append((parse_action(reply).to_json(), len(observation.elements), context.apps))
        return reply

    OraclePolicy.decide = spy
    try:
        device = LocalPhoneDevice()
        for name in TASKS:
            run_task(device, name, seed=0, policy="oracle")
    finally:
        OraclePolicy.decide = decide
    return seen


def test_every_oracle_action_in_canonical_form_fits_its_screens_schema():
    actions = _oracle_actions()
    assert len(actions) > 100
    assert [a for a, count, apps in actions if not _valid(a, count, apps)] == []


def test_the_grammar_accepts_the_canonical_text_token_by_token(llama_engine):
    import llguidance

    from infir_edge.runtime.structured import grammar_of, tokenizer_for

    tokenizer = tokenizer_for(llama_engine)
    for action, count, apps in _oracle_actions()[:60]:
        matcher = llguidance.LLMatcher(tokenizer, grammar_of(action_schema(count, apps)), log_level=0)
        ids = llama_engine.tokenize(json.dumps(action, ensure_ascii=False), add_special=False)
        assert matcher.try_consume_tokens(ids) == len(ids) and matcher.is_accepting(), action


@pytest.mark.parametrize("action", [
    {"action": "click", "element": 5},  # one past the screen's 5 elements
    {"action": "open_app", "app": "Camera"},  # not on this phone
    {"action": "click", "element": 1, "x": 3, "y": 4},
    {"action": "swipe", "x1": 0, "y1": 0, "x2": 1001, "y2": 0},
    {"action": "press", "key": "menu"},
    {"action": "type", "text": ""},
    {"action": "wait", "seconds": 0},
    {"action": "fly"},
])
def test_the_schema_refuses_what_validation_refuses(action):
    assert not _valid(action)


def test_typing_names_its_field_when_none_has_the_focus():
    assert _valid({"action": "type", "text": "hi", "element": 1}) and _valid({"action": "type", "text": "hi"})
    schema = action_schema(5, APPS, focused_field=False)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"action": "type", "text": "hi"}, schema)


def test_typing_names_only_text_fields():
    schema = action_schema(5, APPS, focused_field=False, text_fields=[2])
    jsonschema.validate({"action": "type", "text": "hi", "element": 2}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"action": "type", "text": "hi", "element": 3}, schema)
    no_fields = action_schema(5, APPS, focused_field=False, text_fields=[])
    assert all(v["properties"]["action"]["const"] != "type" for v in no_fields["anyOf"])


def test_a_screen_without_elements_leaves_only_coordinates():
    assert _valid({"action": "click", "x": 10, "y": 20}, elements=0)
    assert not _valid({"action": "click", "element": 0}, elements=0)


def _screen(n: int) -> Observation:
    elements = [Element(id=i, class_name="Button", resource_id="", text=f"Item {i}", description="",
                        bounds=(0, 100 * i, 1080, 100 * i + 90), clickable=True) for i in range(n)]
    return Observation(xml="", elements=elements, size=(1080, 2400), package="com.infir.notes", activity="")


def test_a_random_model_under_the_schema_answers_a_valid_action_whenever_it_finishes(tiny_gguf):
    import infir_edge

    apps = {app: f"com.infir.{app.lower()}" for app in APPS}
    finished = 0
    with infir_edge.load(tiny_gguf) as engine:
        policy = ModelPolicy(engine)
        for n in (0, 1, 3, 7, 12):
            observation = _screen(n)
            for instruction in ("Open the third item", "Type hello", "What is on the screen?"):
                messages = policy.messages(PolicyContext(instruction, APPS), observation)
                generation = engine.generate(messages, max_new_tokens=64, json_schema=screen_schema(observation, APPS))
                if generation.finish_reason == "stop":
                    finished += 1
                    resolve(parse_action(generation.text), observation.elements, observation.size, apps)
    assert finished >= 5


def test_the_prompt_puts_the_screen_after_everything_that_repeats():
    context = PolicyContext("Open item 2", APPS, history=[Turn({"action": "open_app", "app": "Notes"}, "done")])
    first = ModelPolicy(None).messages(context, _screen(3))[-1]["content"]
    context.history.append(Turn({"action": "click", "element": 2}, "done"))
    second = ModelPolicy(None).messages(context, _screen(4))[-1]["content"]
    shared = first[: first.index("Screen of")]
    assert second.startswith(shared) and second.index("Screen of") > len(shared)
