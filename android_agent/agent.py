"""The observe -> decide -> check -> gate -> act loop, with a step budget.

Every reply of the policy is parsed and validated (`actions`); a malformed or out-of-range one is never executed:
its reason goes back to the policy, which gets `max_retries` more tries at the same step. A sensitive action
passes the safety gate first; a denied one is not executed and the policy hears why. `done` ends the run. Each
step is recorded in the trajectory, and the per-step overhead (observe + act, the policy excluded) is measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from android_agent.actions import Action, parse_action, resolve
from android_agent.device import Device
from android_agent.errors import MalformedActionError
from android_agent.observation import Element, Observation, element_at
from android_agent.policy import Policy, PolicyContext, Turn
from android_agent.safety import GateDecision, SafetyGate
from android_agent.trajectory import TrajectoryWriter, action_record


@dataclass(frozen=True)
class AgentConfig:
    max_steps: int = 25
    max_retries: int = 2  # extra tries at one step after a malformed reply
    screenshots: bool = True


@dataclass
class Episode:
    """How a run ended, and what it cost."""

    instruction: str
    finished: bool = False  # the policy said `done`
    answer: str | None = None
    steps: int = 0
    reason: str = ""
    rejected: int = 0  # malformed or out-of-range replies
    gate: list[GateDecision] = field(default_factory=list)
    observe_ms: list[float] = field(default_factory=list)
    act_ms: list[float] = field(default_factory=list)
    policy_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)  # observe + act of each executed step


class Agent:
    def __init__(self, device: Device, policy: Policy, gate: SafetyGate | None = None,
                 config: AgentConfig = AgentConfig()) -> None:
        self.device = device
        self.policy = policy
        self.gate = gate or SafetyGate()
        self.config = config

    def run(self, instruction: str, *, recorder: TrajectoryWriter | None = None) -> Episode:
        apps = self.device.apps()
        context = PolicyContext(instruction=instruction, apps=sorted(apps))
        episode = Episode(instruction=instruction)
        first_decision = len(self.gate.decisions)
        for step in range(self.config.max_steps):
            episode.steps = step + 1
            started = time.perf_counter()
            observation = self.device.observe(screenshot=self.config.screenshots)
            observe_ms = (time.perf_counter() - started) * 1000
            episode.observe_ms.append(observe_ms)
            action, command, raw, rejected = self._decide(context, observation, apps, episode)
            timings = {"observe_ms": observe_ms, "policy_ms": episode.policy_ms[-1]}
            decision = None
            if action is not None:
                decision = self.gate.check(action, _target(action, command, observation), instruction)
            if action is None:
                context.history.append(Turn(None, f"rejected: {rejected}"))
            elif decision is not None and not decision.approved:
                context.history.append(Turn(action.to_json(), f"denied by the safety gate: {decision.request.reason}"))
            elif action.kind == "done":
                episode.finished, episode.answer, episode.reason = True, action.answer or "", "done"
            else:
                started = time.perf_counter()
                self.device.execute(command)
                timings["act_ms"] = (time.perf_counter() - started) * 1000
                episode.act_ms.append(timings["act_ms"])
                episode.overhead_ms.append(observe_ms + timings["act_ms"])
                context.history.append(Turn(action.to_json(), "done"))
            if recorder is not None:
                record = action_record(action, command) if action else None
                recorder.step(step, observation, action=record, raw_output=raw, rejected=rejected, gate=decision,
                              timings=timings)
            if episode.finished:
                break
        else:
            episode.reason = f"step budget of {self.config.max_steps} spent"
        episode.gate = self.gate.decisions[first_decision:]
        return episode

    def _decide(self, context: PolicyContext, observation: Observation, apps: dict[str, str], episode: Episode):
        """(action, command, raw reply, rejection reason) after up to 1 + max_retries replies."""
        context.feedback = None
        policy_ms = 0.0
        raw, reason = "", None
        for _ in range(1 + self.config.max_retries):
            started = time.perf_counter()
            raw = self.policy.decide(context, observation)
            policy_ms += (time.perf_counter() - started) * 1000
            try:
                action = parse_action(raw)
                command = resolve(action, observation.elements, observation.size, apps)
            except MalformedActionError as e:
                episode.rejected += 1
                reason = context.feedback = e.reason
                continue
            episode.policy_ms.append(policy_ms)
            context.feedback = None
            return action, command, raw, None
        episode.policy_ms.append(policy_ms)
        context.feedback = None
        return None, None, raw, reason


def _target(action: Action, command, observation: Observation) -> Element | None:
    """The element an action acts on: named by id, else the one under its point, else the focused field."""
    if action.element is not None:
        return observation.elements[action.element]
    if command is not None and command.x is not None and action.kind in ("click", "long_press"):
        return element_at(observation.elements, (command.x, command.y))
    if action.kind == "type":
        return next((e for e in observation.elements if e.focused and e.editable), None)
    return None
