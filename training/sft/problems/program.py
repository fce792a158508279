"""A problem's arithmetic: the start value and each event as operations on one running value.

A program (a JSON-serialisable dict, see generate.py) says what happens; this module says what that computes, one
`Step` per arithmetic operation. The answer, the operation count and the worked solution all come from here, so they
cannot disagree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from .phrasing import LIMIT

OPS = {
    "gain": 1, "lose": 1, "gain_groups": 2, "lose_groups": 2, "multiply": 1, "share": 1,
    "older": 1, "younger": 1, "times_age": 1, "part_age": 1, "future": 1, "past": 1, "pay": 1,
}  # fmt: skip
# Events told in the question rather than in a sentence ("How old will Ben be in 5 years?"); always the last event.
ABSORBED = ("future", "past", "pay")
_ADD = ("gain", "older", "future")
_SUBTRACT = ("lose", "younger", "past")
_MULTIPLY = ("multiply", "times_age")
_DIVIDE = ("share", "part_age")


@dataclass(frozen=True)
class Step:
    a: int
    op: str  # "+", "-", "*", "/"
    b: int
    c: int
    kind: str  # the event's kind, or "start"
    part: str  # "single"; a groups event (and a groups start) takes a "product" then a "total" step
    event: int  # index into program["events"]; -1 for the start

    @property
    def line(self) -> str:
        return f"{self.a} {self.op} {self.b} = {self.c}"


def _compute(a: int, op: str, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0 or a % b:
        raise ValueError(f"{a} / {b} is not an exact division")
    return a // b


def apply(kind: str, value: int, args: list[int], event: int = 0) -> list[Step]:
    """The steps one event takes from `value`."""
    if kind in ("gain_groups", "lose_groups"):
        n, m = args
        product = Step(n, "*", m, n * m, kind, "product", event)
        op = "+" if kind == "gain_groups" else "-"
        return [product, Step(value, op, product.c, _compute(value, op, product.c), kind, "total", event)]
    (k,) = args
    if kind == "pay":  # change: the payment minus the total so far
        return [Step(k, "-", value, k - value, kind, "single", event)]
    for kinds, op in ((_ADD, "+"), (_SUBTRACT, "-"), (_MULTIPLY, "*"), (_DIVIDE, "/")):
        if kind in kinds:
            return [Step(value, op, k, _compute(value, op, k), kind, "single", event)]
    raise ValueError(f"unknown event kind {kind!r}")


def start_value(program: dict) -> tuple[int, list[Step]]:
    args = program["start"]["args"]
    if len(args) == 2:
        step = Step(args[0], "*", args[1], args[0] * args[1], "start", "product", -1)
        return step.c, [step]
    return args[0], []


def steps(program: dict) -> list[Step]:
    """Every operation the program takes, in order; raises ValueError on an inexact division."""
    value, out = start_value(program)
    for i, event in enumerate(program["events"]):
        taken = apply(event["kind"], value, event["args"], i)
        out.extend(taken)
        value = taken[-1].c
    return out


def valid(program: dict, limit: int = LIMIT) -> bool:
    """Whether every value computed is a whole number in 0..limit (and there is at least one operation)."""
    try:
        taken = steps(program)
    except ValueError:
        return False
    start = program["start"]["args"]
    return bool(taken) and all(0 <= s.c <= limit for s in taken) and all(0 <= a <= limit for a in start)


def answer(program: dict) -> int:
    return steps(program)[-1].c
