"""Policies: what decides the next action. `oracle` solves each task from the phone's state (it proves every task
is solvable through the real client); `model` asks any `infir_edge` Engine for one JSON action from the element
list, decoded under the action schema; `vl` (android_agent.vl_policy) asks a vision-language Engine for one from
the screenshot.

A policy returns its raw output; the agent parses and validates it, so a model's malformed action and an oracle's
go through the same checks, and a rejection's reason comes back as `feedback` on the retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from android_agent.action_schema import screen_schema
from android_agent.errors import AgentError
from android_agent.observation import Observation, describe_elements
from infir_edge.errors import ContextOverflowError


@dataclass(frozen=True)
class Turn:
    """One past step as a policy sees it: the action's JSON and what became of it."""

    action: dict | None
    outcome: str  # "done", "rejected: <reason>", "denied by the safety gate: <reason>"


@dataclass
class PolicyContext:
    instruction: str
    apps: list[str]  # labels `open_app` accepts
    history: list[Turn] = field(default_factory=list)
    feedback: str | None = None  # why the previous answer at this step was rejected


class Policy(Protocol):
    name: str

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        """The next action as text (JSON, possibly wrapped in prose)."""


# Short: it is part of every training example, and the action schema, not the prompt, keeps the reply well-formed.
SYSTEM_PROMPT = ("Operate the Android phone to complete the task. The screen is a list of elements: [id] \"text\" "
                 "flags. Reply with one JSON action; answer questions with done.")


class ModelPolicy:
    """A language model behind the `infir_edge` Engine API; greedy, one JSON action per step, decoded under the
    action schema of this screen (`action_schema`), so that the reply is always one well-formed action.

    The prompt puts what stays the same from step to step first (instructions, task, apps, the actions so far) and
    the screen last, so that a backend that reuses the KV cache of a shared prefix prefills only the new screen.
    The element list and the history are cut (oldest first) until the prompt fits the context.
    """

    name = "model"

    def __init__(self, engine, *, max_new_tokens: int = 64, max_elements: int = 40, max_history: int = 8) -> None:
        self.engine = engine
        self.max_new_tokens = max_new_tokens
        self.max_elements = max_elements
        self.max_history = max_history

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        max_elements, max_history = self.max_elements, self.max_history
        schema = screen_schema(observation, context.apps)
        while True:
            messages = self.messages(context, observation, max_elements=max_elements, max_history=max_history)
            try:
                generation = self.engine.generate(messages, max_new_tokens=self.max_new_tokens, temperature=0.0,
                                                  json_schema=schema)
            except ContextOverflowError as e:
                if max_elements <= 5 and max_history == 0:
                    raise AgentError(f"the model's context cannot hold even a 5-element screen: {e}") from e
                max_elements, max_history = max(5, max_elements // 2), max_history // 2
                continue
            return generation.text  # cut short by max_new_tokens: the agent rejects it as not closed

    def messages(self, context: PolicyContext, observation: Observation, *, max_elements: int | None = None,
                 max_history: int | None = None) -> list[dict]:
        """The conversation the model answers (the training data of `training.agent` is made by this method)."""
        max_elements = self.max_elements if max_elements is None else max_elements
        max_history = self.max_history if max_history is None else max_history
        history = context.history[-max_history:] if max_history else []
        lines = [f"Task: {context.instruction}", f"Apps: {', '.join(context.apps)}"]
        if history:
            lines.append("Previous actions:")
            first = len(context.history) - len(history) + 1  # numbered from the episode's start: a stable prefix
            lines += [f"{i}. {json.dumps(t.action, ensure_ascii=False) if t.action else 'none'} -> {t.outcome}"
                      for i, t in enumerate(history, first)]
        lines += [f"Screen of {observation.package or 'unknown app'}:",
                  describe_elements(observation.elements, observation.size, max_elements=max_elements, compact=True)]
        if context.feedback:
            lines.append(f"Your last reply was rejected: {context.feedback}")
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


class OraclePolicy:
    """Follows the task's own plan (from the phone's state), resolving each step against the live screen."""

    name = "oracle"

    def __init__(self, plan) -> None:
        self.plan = plan  # android_agent.tasks.plan.Plan

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        return json.dumps(self.plan.next_action(observation, context.feedback), ensure_ascii=False)
