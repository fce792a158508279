"""A word problem: its question, its answer, and the program both come from."""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from .catalog import PHRASINGS
from .program import steps
from .render import render

Tier = Literal["one_two_step", "multi_step"]
# one_two_step: every family with 1-2 operations (add/subtract, groups, sharing, change, ages), nothing irrelevant;
# multi_step: 3-4 operations and exactly one irrelevant numeric fact.
TIERS: dict[str, dict] = {
    "one_two_step": dict(ops=(1, 2), distractors=(0, 0)),
    "multi_step": dict(ops=(3, 4), distractors=(1, 1)),
}


@dataclass(frozen=True)
class WordProblem:
    question: str  # the full text asked (situation + question sentence)
    answer: int
    family: str
    ops: int  # arithmetic operations needed
    distractors: int  # irrelevant numeric facts in the question
    split: str  # "train" | "test": which phrasings (and families) it was worded from
    templates: tuple[str, ...]  # ids of every phrasing used
    program: dict = field(hash=False)  # JSON-serialisable: re-renders to `question` and evolves (see draw.py)

    def to_record(self) -> dict:
        record = asdict(self)
        record["templates"] = list(self.templates)
        return record

    @classmethod
    def from_record(cls, record: dict) -> WordProblem:
        return cls(**{**record, "templates": tuple(record["templates"]), "program": copy.deepcopy(record["program"])})


def split_of(templates: tuple[str, ...]) -> str:
    splits = {PHRASINGS[t].split for t in templates}
    if len(splits) != 1:
        raise ValueError(f"a problem mixes phrasings of splits {sorted(splits)}: {templates}")
    return splits.pop()


def build(program: dict) -> WordProblem:
    """The problem a program describes: rendered, solved and counted."""
    program = copy.deepcopy(program)
    question, templates = render(program)
    taken = steps(program)
    return WordProblem(question=question, answer=taken[-1].c, family=program["family"], ops=len(taken),
                       distractors=len(program["distractors"]), split=split_of(templates), templates=templates,
                       program=program)  # fmt: skip


# A thousands group must be exactly three digits ("1,200" is one number, "1,2345" is not); a minus sign counts only
# where it cannot be a hyphen or an operator between numbers ("10-12", "5-3" are two numbers).
_NUMBER = re.compile(r"-?\d+(?:,\d{3}(?!\d))*(?:\.\d+)?")


def numbers_in(text: str) -> list[str]:
    """The numbers written in a text, normalized ('1,200' -> '1200', '$4' -> '4'), in order."""
    found = []
    for match in _NUMBER.finditer(text):
        number = match.group().replace(",", "")
        if number.startswith("-") and match.start() > 0 and text[match.start() - 1].isalnum():
            number = number[1:]  # "10-12" is a range, not a negative twelve
        found.append(number)
    return found
