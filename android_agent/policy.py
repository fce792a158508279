"""Policies: what decides the next action. `oracle` solves each task from the phone's state (it proves every task
is solvable through the real client); `model` asks any `infir_edge` Engine for one JSON action from the element
list; `vl` (android_agent.vl_policy) asks a vision-language Engine for one from the screenshot.

A policy returns its raw output; the agent parses and validates it, so a model's malformed action and an oracle's
go through the same checks, and a rejection's reason comes back as `feedback` on the retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

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


SYSTEM_PROMPT = """You operate an Android phone to complete the user's task. Each turn you see the screen as a \
list of elements: [id] class "text" flags (x,y), with x and y from 0 to 1000. Reply with exactly one JSON action:
{"action": "click", "element": 3}
{"action": "long_press", "element": 3}
{"action": "type", "text": "hello", "element": 5}   (add "clear": true to replace the field's text)
{"action": "scroll", "direction": "down"}
{"action": "swipe", "x1": 500, "y1": 800, "x2": 500, "y2": 200}
{"action": "press", "key": "back"}   (keys: back, home, enter)
{"action": "open_app", "app": "Contacts"}
{"action": "wait", "seconds": 1}
{"action": "done", "answer": "..."}   (when the task is complete; answer questions here)"""

_ACTION_PREFIX = '{"action": "'


class ModelPolicy:
    """A language model behind the `infir_edge` Engine API; greedy, one JSON object per step.

    The reply is started with `{"action": "` so that even a small model writes JSON; the element list and the
    history are cut (oldest first) until the prompt fits the context.
    """

    name = "model"

    def __init__(self, engine, *, max_new_tokens: int = 64, max_elements: int = 40, max_history: int = 6) -> None:
        self.engine = engine
        self.max_new_tokens = max_new_tokens
        self.max_elements = max_elements
        self.max_history = max_history

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        max_elements, max_history = self.max_elements, self.max_history
        while True:
            prompt = self.prompt(context, observation, max_elements=max_elements, max_history=max_history)
            try:
                # no action nests an object: the first "}" ends it (a model that goes on would only add
                # more actions, which the parser rejects)
                generation = self.engine.generate(prompt, max_new_tokens=self.max_new_tokens, temperature=0.0,
                                                  stop=("}",))
            except ContextOverflowError as e:
                if max_elements <= 5 and max_history == 0:
                    raise AgentError(f"the model's context cannot hold even a 5-element screen: {e}") from e
                max_elements, max_history = max(5, max_elements // 2), max_history // 2
                continue
            return _ACTION_PREFIX + generation.text + ("}" if generation.finish_reason == "stop" else "")

    def prompt(self, context: PolicyContext, observation: Observation, *, max_elements: int,
               max_history: int) -> str:
        history = context.history[-max_history:] if max_history else []
        lines = [f"Task: {context.instruction}", f"Apps: {', '.join(context.apps)}",
                 f"Current app: {observation.package or 'unknown'}", "Screen:",
                 describe_elements(observation.elements, observation.size, max_elements=max_elements)]
        if history:
            lines.append("Previous actions:")
            lines += [f"{i}. {json.dumps(t.action, ensure_ascii=False)} -> {t.outcome}"
                      for i, t in enumerate(history, 1)]
        if context.feedback:
            lines.append(f"Your last reply was rejected: {context.feedback}. Reply with one valid JSON action.")
        lines.append("Next action:")
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]
        return self.engine.apply_chat_template(messages) + _ACTION_PREFIX


class OraclePolicy:
    """Follows the task's own plan (from the phone's state), resolving each step against the live screen."""

    name = "oracle"

    def __init__(self, plan) -> None:
        self.plan = plan  # android_agent.tasks.plan.Plan

    def decide(self, context: PolicyContext, observation: Observation) -> str:
        return json.dumps(self.plan.next_action(observation, context.feedback), ensure_ascii=False)
