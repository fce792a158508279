"""Expert demonstrations for the text policy: the oracle on the simulated phone, recorded as (prompt, action).

Each example is the conversation `ModelPolicy.messages` builds at that step, with the oracle's action (in
`Action.to_json`'s canonical form, the action schema's property order) as the assistant's reply: the model is
trained on exactly the prompt it will see. A policy that only ever saw perfect episodes has never seen its own
mistakes, so some steps start with a deviation (DAgger-style, with the oracle as the expert who corrects it):

- rejected: the step's first reply is malformed (an element id past the screen, a missing key); the agent rejects
  it and the retry's prompt carries the reason; the example is the oracle's answer to that retry.
- wrong screen: a wrong but valid tap is executed; if the screen changed, the example on the new screen is
  `press back`; if nothing changed, the example is the oracle's next action with the useless tap in the history.
  A tap that changed an app's state, or a `back` that did not restore the screen, ends the episode (the oracle's
  plan no longer applies); the examples before it are kept.
- gate refusal: the history shows a sensitive tap the safety gate refused (one the gate really flags on this
  screen); the example is the oracle's action.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from android_agent.actions import action_from_json
from android_agent.agent import AgentConfig
from android_agent.errors import AgentError, TaskError
from android_agent.observation import Observation
from android_agent.policy import ModelPolicy, PolicyContext, Turn
from android_agent.safety import classify
from android_agent.tasks.plan import Plan


@dataclass(frozen=True)
class DeviationRates:
    """The chance, per step, that the step starts with each deviation (at most one per step)."""

    rejected: float = 0.06
    wrong_screen: float = 0.08
    gate_refusal: float = 0.04


SPOILED = "spoiled: "  # how the error of an episode a deviation spoiled begins (run_task keeps only the message)


def _spoiled(why: str) -> AgentError:
    """A deviation left the phone where the oracle's plan no longer applies."""
    return AgentError(SPOILED + why)


class DemonstrationPolicy:
    """The oracle driving the agent loop, recording what a `ModelPolicy` would have been asked and the answer."""

    name = "oracle"

    def __init__(self, plan: Plan, prompts: ModelPolicy, device, packages: tuple[str, ...], rng: random.Random,
                 rates: DeviationRates, examples: list[dict], meta: dict) -> None:
        self.plan, self.prompts, self.device, self.packages = plan, prompts, device, packages
        self.rng, self.rates, self.examples, self.meta = rng, rates, examples, meta
        self._detour: dict | None = None  # the screen and states before a wrong tap, while it is being undone

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        if context.feedback:  # the malformed reply this policy made up was rejected: the retry is an example
            return self._record(context, observation, self._oracle(observation), "rejected")
        if self._detour is not None:
            return self._undo_detour(context, observation)
        draw = self.rng.random()
        rates = self.rates
        if draw < rates.rejected:
            return self._malformed(observation)
        if draw < rates.rejected + rates.wrong_screen:
            wrong = self._wrong_tap(context, observation)
            if wrong is not None:
                return wrong
        elif draw < rates.rejected + rates.wrong_screen + rates.gate_refusal and self._refuse_at_gate(context,
                                                                                                      observation):
            return self._record(context, observation, self._oracle(observation), "gate_refusal")
        return self._record(context, observation, self._oracle(observation), "expert")

    # ---- deviations ------------------------------------------------------------------------------------------
    def _malformed(self, observation: Observation) -> str:
        count = len(observation.elements)
        return self.rng.choice([
            json.dumps({"action": "click", "element": count + self.rng.randrange(1, 20)}),
            json.dumps({"action": "open_app"}),
            json.dumps({"action": "scroll", "direction": "sideways"}),
        ])

    def _wrong_tap(self, context: PolicyContext, observation: Observation) -> str | None:
        try:
            expert = self.plan.peek(observation)
        except TaskError:
            return None
        candidates = [e for e in observation.elements if e.clickable and e.enabled and e.id != expert.get("element")
                      and classify(action_from_json({"action": "click", "element": e.id}), e,
                                   context.instruction) is None]
        if not candidates:
            return None
        self._detour = {"screen": _screen(observation), "states": self._states(), "undoing": False}
        return json.dumps({"action": "click", "element": self.rng.choice(candidates).id})

    def _undo_detour(self, context: PolicyContext, observation: Observation) -> str:
        detour, self._detour = self._detour, None
        if self._states() != detour["states"]:
            raise _spoiled("a wrong tap changed an app's state")
        if _screen(observation) == detour["screen"]:  # nothing happened, or `back` restored the screen
            return self._record(context, observation, self._oracle(observation),
                                "after_undo" if detour["undoing"] else "useless_tap")
        if detour["undoing"]:
            raise _spoiled("back did not restore the screen")
        self._detour = {**detour, "undoing": True}
        return self._record(context, observation, {"action": "press", "key": "back"}, "wrong_screen")

    def _refuse_at_gate(self, context: PolicyContext, observation: Observation) -> bool:
        flagged = []
        for element in observation.elements:
            if not element.clickable:
                continue
            action = action_from_json({"action": "click", "element": element.id})
            request = classify(action, element, context.instruction)
            if request is not None and not request.task_asks:
                flagged.append((action, request))
        if not flagged:
            return False
        action, request = self.rng.choice(flagged)
        context.history.append(Turn(action.to_json(), f"denied by the safety gate: {request.reason}"))
        return True

    # ---- the expert --------------------------------------------------------------------------------------------
    def _oracle(self, observation: Observation) -> dict:
        return action_from_json(self.plan.next_action(observation, None)).to_json()

    def _record(self, context: PolicyContext, observation: Observation, action: dict, kind: str) -> str:
        messages = self.prompts.messages(context, observation)
        reply = json.dumps(action, ensure_ascii=False)
        self.examples.append({"messages": [*messages, {"role": "assistant", "content": reply}], "kind": kind,
                              **self.meta, "step": len(context.history)})
        return reply

    def _states(self) -> dict:
        return {package: self.device.read_app_state(package) for package in self.packages}


def _screen(observation: Observation) -> tuple:
    return observation.package, tuple((e.text, e.description, e.resource_id, e.checked) for e in observation.elements)


def record_demonstrations(device, tasks: list[str], seeds: range, *, prompts: ModelPolicy, rates: DeviationRates,
                          max_steps: int = 30) -> Iterator[tuple[dict, list[dict]]]:
    """For each task and seed: (a summary of the episode, its examples). An episode a deviation spoiled keeps the
    examples recorded before it; an episode the oracle failed to finish keeps none (a wrong demonstration)."""
    from android_agent.runner import run_task

    config = AgentConfig(max_steps=max_steps, max_retries=1, screenshots=False)
    for seed in seeds:
        for name in tasks:
            examples: list[dict] = []
            rng = random.Random(f"demonstrations:{name}:{seed}")

            def factory(task, before, examples=examples, rng=rng, name=name, seed=seed):
                return DemonstrationPolicy(Plan(task.plan(before)), prompts, device, task.packages, rng, rates,
                                           examples, {"task": name, "seed": seed})

            result = run_task(device, name, seed=seed, policy=factory, config=config)
            spoiled = (result.error or "").startswith(SPOILED)
            summary = {"task": name, "seed": seed, "success": result.success, "spoiled": spoiled,
                       "examples": len(examples) if result.success or spoiled else 0, "error": result.error}
            yield summary, examples if result.success or spoiled else []
