"""The task suite: every task is solvable (the oracle solves it), and success is read from the apps' state."""

from __future__ import annotations

import pytest

from android_agent.errors import TaskError
from android_agent.local_device import LocalPhoneDevice
from android_agent.phone import Phone
from android_agent.runner import run_task
from android_agent.safety import deny_all
from android_agent.tasks import TASKS, task_class


@pytest.fixture(scope="module")
def device():
    return LocalPhoneDevice(Phone(seed=0))


def test_there_are_at_least_twenty_tasks_some_multi_app_some_gated():
    assert len(TASKS) >= 20
    assert sum(len(cls.packages) > 1 for cls in TASKS.values()) >= 3
    assert sum(cls.gated for cls in TASKS.values()) >= 5


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(TASKS))
def test_the_oracle_solves_every_task(device, name, seed):
    result = run_task(device, name, seed=seed, policy="oracle")
    assert result.success, (result.episode.reason, result.error)


@pytest.mark.parametrize("name", list(TASKS))
def test_saying_done_at_once_does_not_count_as_success(device, name, monkeypatch):
    from android_agent import runner

    monkeypatch.setattr(runner, "OraclePolicy", lambda plan: _SaysDone())
    assert not run_task(device, name, policy="oracle").success


class _SaysDone:
    """Claims success at once: the app state (and, for questions, the answer) must say otherwise."""

    name = "says-done"

    def decide(self, context, observation) -> str:
        return '{"action": "done", "answer": "I did it"}'


@pytest.mark.parametrize("name", [n for n, cls in TASKS.items() if cls.gated])
def test_a_gated_task_fails_when_the_user_denies_the_sensitive_step(device, name):
    result = run_task(device, name, policy="oracle", approver=deny_all)
    assert not result.success and any(not d.approved for d in result.episode.gate)


def test_parameters_depend_on_the_seed():
    import random

    from android_agent.runner import _pristine_state

    cls = task_class("add_alarm")
    states = {p: _pristine_state(p) for p in cls.packages}
    samples = {str(cls.sample(random.Random(f"add_alarm:{seed}"), states)) for seed in range(5)}
    assert len(samples) > 1


def test_an_unknown_task_names_the_known_ones():
    with pytest.raises(TaskError, match="add_alarm"):
        task_class("fly_to_the_moon")
