"""The observe-decide-act loop, driven by scripted policies on an in-process phone."""

from __future__ import annotations

import json

import pytest

from android_agent.agent import Agent, AgentConfig
from android_agent.local_device import LocalPhoneDevice
from android_agent.phone import Phone
from android_agent.safety import SafetyGate
from android_agent.trajectory import TrajectoryWriter, read_trajectory

SETTINGS = "com.infir.settings"


class Scripted:
    """Replies from a list, remembering the feedback it was given."""

    name = "scripted"

    def __init__(self, replies) -> None:
        self.replies = list(replies)
        self.feedback: list[str | None] = []

    def decide(self, context, observation) -> str:
        self.feedback.append(context.feedback)
        return self.replies.pop(0) if self.replies else '{"action": "wait", "seconds": 0.01}'


@pytest.fixture
def device():
    return LocalPhoneDevice(Phone(seed=0))


def _element(device, **fields) -> int:
    observation = device.observe(screenshot=False)
    return next(e.id for e in observation.elements if all(getattr(e, k) == v for k, v in fields.items()))


def test_done_ends_the_run_with_its_answer(device):
    episode = Agent(device, Scripted(['{"action": "done", "answer": "42"}'])).run("say 42")
    assert episode.finished and episode.answer == "42" and episode.steps == 1


def test_a_malformed_reply_is_not_executed_and_its_reason_is_fed_back(device):
    policy = Scripted(['{"action": "click", "x": 2000, "y": 5}', '{"action": "done"}'])
    episode = Agent(device, policy).run("anything")
    assert episode.rejected == 1 and episode.finished
    assert policy.feedback[0] is None and "1000" in policy.feedback[1]


def test_a_step_whose_replies_are_all_malformed_executes_nothing(device):
    before = device.phone.version
    episode = Agent(device, Scripted(["no json here"] * 3), config=AgentConfig(max_steps=1, max_retries=2)).run("x")
    assert episode.rejected == 3 and not episode.finished and device.phone.version == before


def test_the_step_budget_ends_a_run_that_never_says_done(device):
    episode = Agent(device, Scripted([]), config=AgentConfig(max_steps=3)).run("wait forever")
    assert episode.steps == 3 and not episode.finished and "budget" in episode.reason


def test_open_app_by_label_reaches_the_app(device):
    Agent(device, Scripted(['{"action": "open_app", "app": "settings"}', '{"action": "done"}'])).run("open settings")
    assert device.phone.current_app()[0] == SETTINGS


def test_a_denied_sensitive_action_is_not_executed_and_is_recorded(device):
    device.phone.start_app("com.infir.notes")
    Agent(device, Scripted([json.dumps({"action": "click", "element": _element(device, text="Packing list "
                                         "Passport, charger, 8 pairs of socks, sunscreen, travel adapter")})]),
          config=AgentConfig(max_steps=1)).run("open a note")
    delete = _element(device, resource_id="com.infir.notes:id/delete")
    notes_before = device.phone.app_state("com.infir.notes")
    gate = SafetyGate()  # non-interactive: deny
    episode = Agent(device, Scripted([json.dumps({"action": "click", "element": delete}), '{"action": "done"}']),
                    gate).run("read my notes")
    assert device.phone.app_state("com.infir.notes") == notes_before
    assert [(d.request.category, d.approved) for d in episode.gate] == [("delete", False)]


def test_overhead_is_measured_for_executed_steps_only(device):
    episode = Agent(device, Scripted(['{"action": "press", "key": "home"}', "garbage", '{"action": "done"}']),
                    config=AgentConfig(max_retries=0)).run("x")
    assert len(episode.observe_ms) == 3 and len(episode.overhead_ms) == 1 and episode.overhead_ms[0] > 0


def test_every_step_goes_to_the_trajectory(device, tmp_path):
    with TrajectoryWriter(tmp_path / "run", task="t", instruction="x") as recorder:
        episode = Agent(device, Scripted(['{"action": "press", "key": "home"}', '{"action": "done"}'])).run(
            "x", recorder=recorder)
        recorder.finish(success=True, answer=episode.answer, steps=episode.steps, reason=episode.reason)
    header, steps, end = read_trajectory(tmp_path / "run")
    assert len(steps) == 2 and end["success"] and steps[0]["action"]["action"] == "press"
