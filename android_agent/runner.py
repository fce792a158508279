"""Run one task on a device: set it up, run the agent, read the apps' state back and judge it."""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from android_agent.actions import Command
from android_agent.agent import Agent, AgentConfig, Episode
from android_agent.device import Device
from android_agent.errors import AgentError
from android_agent.policy import ModelPolicy, OraclePolicy, Policy
from android_agent.safety import SafetyGate, approve_if_asked
from android_agent.tasks import task_class
from android_agent.tasks.base import States, Task
from android_agent.tasks.plan import Plan
from android_agent.trajectory import TrajectoryWriter
from android_agent.vl_policy import VLPolicy

POLICIES = ("oracle", "model", "vl")  # what `run_task` and the CLI's --policy accept
PolicyFactory = Callable[[Task, States], Policy]


@dataclass
class TaskResult:
    task: str
    seed: int
    instruction: str
    success: bool
    episode: Episode
    gate_asked: bool  # the gate was asked about a category the task authorizes
    error: str | None  # an error that ended the run (the device failed), not a failed task
    seconds: float


def run_task(device: Device, name: str, *, seed: int = 0, policy: str | PolicyFactory = "oracle", engine=None,
             approver=None, config: AgentConfig | None = None, trajectory_dir: Path | None = None,
             overwrite: bool = False) -> TaskResult:
    """`policy`: one of POLICIES, or a function (task, its apps' states before the run) -> Policy (what
    `training.agent` records demonstrations with). `approver` decides what the safety gate asks; by default a
    simulated user who approves what the task asked for (`approve_if_asked(task.authorizes)`), which is how the
    benchmark runs unattended."""
    started = time.perf_counter()
    task = _set_up(device, name, seed)
    before = _states(device, task)
    if callable(policy):
        chosen = policy(task, before)
        policy = chosen.name
    elif policy == "oracle":
        chosen = OraclePolicy(Plan(task.plan(before)))
    elif policy == "model":
        if engine is None:
            raise AgentError("the model policy needs an engine (--model)")
        chosen = ModelPolicy(engine)
    elif policy == "vl":
        if engine is None:
            raise AgentError("the vl policy needs a vision-language engine (--model)")
        chosen = VLPolicy(engine)
    else:
        raise AgentError(f"unknown policy {policy!r}: {', '.join(POLICIES)}")
    gate = SafetyGate(approver or approve_if_asked(task.authorizes))
    agent = Agent(device, chosen, gate, config or AgentConfig())
    error = None
    recorder = None
    if trajectory_dir is not None:
        recorder = TrajectoryWriter(trajectory_dir, task=name, instruction=task.instruction,
                                    meta={"seed": seed, "params": task.params, "policy": policy},
                                    overwrite=overwrite)
    try:
        episode = agent.run(task.instruction, recorder=recorder)
    except AgentError as e:  # the device failed under the agent: the task is failed, the benchmark goes on
        episode = Episode(instruction=task.instruction, reason=f"error: {e}", gate=list(gate.decisions))
        error = str(e)
    after = _states(device, task)
    gate_asked = any(d.request.category in task.authorizes for d in episode.gate)
    success = (error is None and episode.finished and task.check(before, after, episode.answer)
               and (gate_asked or not task.gated))
    if recorder is not None:
        recorder.finish(success=success, answer=episode.answer, steps=episode.steps, reason=episode.reason,
                        extra={"error": error, "gate": [d.request.category + (":approved" if d.approved else ":denied")
                                                        for d in episode.gate]})
    return TaskResult(task=name, seed=seed, instruction=task.instruction, success=success, episode=episode,
                      gate_asked=gate_asked, error=error, seconds=time.perf_counter() - started)


def _set_up(device: Device, name: str, seed: int) -> Task:
    cls = task_class(name)
    states = {package: _pristine_state(package) for package in cls.packages}
    task = cls(cls.sample(random.Random(f"{name}:{seed}"), states))
    for package, state in {**states, **task.prepare(states)}.items():
        device.write_app_state(package, state)
    device.execute(Command(kind="press", key="home"))  # every task starts from the home screen
    return task


def _pristine_state(package: str) -> dict:
    """The app's state on a fresh simulated phone: every task starts from it, whatever ran before."""
    return json.loads(_pristine_json(package))  # a fresh copy each time: tasks edit what they get


@functools.cache
def _pristine_json(package: str) -> str:
    from android_agent.phone.phone import Phone

    return json.dumps(Phone(seed=0).app_state(package))


def _states(device: Device, task: Task) -> States:
    return {package: device.read_app_state(package) for package in task.packages}
