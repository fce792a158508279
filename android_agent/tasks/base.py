"""What a task is: a templated instruction with random parameters, a set-up, a state-based success check and a plan.

As in AndroidWorld, success is read from the apps' state after the run (a contact really exists, an alarm is
really off), never from the agent's claim; information-retrieval tasks compare the `done` answer with the state.
Parameters are sampled from the phone's state, so a task never asks for the impossible.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from typing import ClassVar

from android_agent.tasks.plan import Step

States = dict[str, dict]  # package -> that app's state


class Task(ABC):
    name: ClassVar[str]
    packages: ClassVar[tuple[str, ...]]  # the apps whose state the task sets up and checks
    authorizes: ClassVar[frozenset[str]] = frozenset()  # safety-gate categories the instruction asks for
    # the solution needs a sensitive action: success also requires the gate to have been asked (and to approve)
    gated: ClassVar[bool] = False

    def __init__(self, params: dict) -> None:
        self.params = params

    @classmethod
    @abstractmethod
    def sample(cls, rng: random.Random, states: States) -> dict:
        """Random parameters that make sense for the phone's current state."""

    @property
    @abstractmethod
    def instruction(self) -> str: ...

    def prepare(self, states: States) -> States:
        """The app states the task starts from (only those that change); by default the phone's own."""
        return {}

    @abstractmethod
    def check(self, before: States, after: States, answer: str | None) -> bool:
        """Did the run succeed? `before` is the state the run started from."""

    @abstractmethod
    def plan(self, states: States) -> list[Step]:
        """The oracle's solution, in screen-level steps."""

    def __repr__(self) -> str:
        return f"{self.name}({self.params})"


def same_text(a: str | None, b: str) -> bool:
    """Answers compare case-, space- and punctuation-insensitively ("4:30 PM" == "4:30 pm.")."""
    def norm(s: str) -> str:
        return " ".join(re.sub(r"[^\w:@./+-]+", " ", s.casefold()).split()).strip(" .")

    return a is not None and norm(a) == norm(b)


def without(items: list[dict], key: str, value) -> list[dict]:
    return [item for item in items if item.get(key) != value]
