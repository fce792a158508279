"""Demonstrations: the oracle's actions in exactly the prompt the model policy builds, with deviations corrected."""

from __future__ import annotations

import json

import pytest

from android_agent.actions import parse_action
from android_agent.local_device import LocalPhoneDevice
from android_agent.policy import ModelPolicy, PolicyContext
from android_agent.runner import _set_up
from training.agent.demonstrations import DeviationRates, record_demonstrations

TASKS = ["toggle_setting", "add_contact", "reply_to_message", "read_verification_code", "add_to_cart", "delete_alarm"]


def _record(rates: DeviationRates, seeds=range(1000, 1004)):
    device = LocalPhoneDevice()
    episodes, examples = [], []
    for summary, kept in record_demonstrations(device, TASKS, seeds, prompts=ModelPolicy(None), rates=rates):
        episodes.append(summary)
        examples += kept
    return episodes, examples


@pytest.fixture(scope="module")
def clean():
    return _record(DeviationRates(0, 0, 0))


@pytest.fixture(scope="module")
def deviating():
    return _record(DeviationRates(rejected=0.2, wrong_screen=0.3, gate_refusal=0.2), seeds=range(1000, 1010))


def test_without_deviations_every_episode_succeeds_and_every_step_is_an_example(clean):
    episodes, examples = clean
    assert all(e["success"] for e in episodes)
    assert sum(e["examples"] for e in episodes) == len(examples) > 0
    assert {e["kind"] for e in examples} == {"expert"}


def test_the_first_example_is_the_prompt_the_policy_builds_on_the_first_screen(clean):
    _, examples = clean
    first = examples[0]
    device = LocalPhoneDevice()
    task = _set_up(device, first["task"], first["seed"])
    context = PolicyContext(task.instruction, sorted(device.apps()))
    expected = ModelPolicy(None).messages(context, device.observe(screenshot=False))
    assert first["messages"][:-1] == expected


def test_every_reply_is_one_canonical_action(clean):
    _, examples = clean
    for example in examples:
        reply = example["messages"][-1]["content"]
        assert example["messages"][-1]["role"] == "assistant"
        assert json.dumps(parse_action(reply).to_json(), ensure_ascii=False) == reply


def test_deviations_appear_with_their_corrections(deviating):
    _, examples = deviating
    kinds = {e["kind"] for e in examples}
    assert {"rejected", "wrong_screen", "gate_refusal"} <= kinds
    for example in examples:
        prompt, reply = example["messages"][-2]["content"], example["messages"][-1]["content"]
        if example["kind"] == "rejected":
            assert "Your last reply was rejected: " in prompt
        elif example["kind"] == "wrong_screen":
            assert json.loads(reply) == {"action": "press", "key": "back"}
        elif example["kind"] == "gate_refusal":
            assert "-> denied by the safety gate: " in prompt


def test_a_spoiled_episode_keeps_only_what_came_before_and_a_failed_one_nothing(deviating):
    episodes, examples = deviating
    for episode in episodes:
        if not episode["success"] and not episode["spoiled"]:
            assert episode["examples"] == 0
    assert sum(e["examples"] for e in episodes) == len(examples)


def test_demonstrations_come_from_the_seeds_asked_only(deviating):
    _, examples = deviating
    assert {e["seed"] for e in examples} <= set(range(1000, 1010)) and {e["task"] for e in examples} <= set(TASKS)


def test_the_prompt_over_the_real_client_is_the_one_demonstrations_are_recorded_on():
    from android_agent.device import Uiautomator2Device
    from android_agent.phone.phone import Phone
    from android_agent.phone.server import start_phone

    def first_prompt(device):
        task = _set_up(device, "toggle_setting", 0)
        context = PolicyContext(task.instruction, sorted(device.apps()))
        return ModelPolicy(None).messages(context, device.observe(screenshot=False))

    with start_phone(Phone(seed=0)) as phone:
        over_adb = first_prompt(Uiautomator2Device(phone.serial, port=phone.port))
    assert over_adb == first_prompt(LocalPhoneDevice())
