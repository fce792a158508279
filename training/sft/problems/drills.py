"""Bare arithmetic drills ('What is 47 + 38?', 'Compute 6 * 14 - 25.'): seeds for the operations word problems need.

The model is weak at the arithmetic itself (FACTS §2: asked 12 + 30 it answered 32); drills give it the same
'a op b = c' lines its word-problem solutions use, with nothing else to read.
"""

from __future__ import annotations

import random

from .catalog import ARITHMETIC, pool
from .phrasing import LIMIT, pick
from .problem import WordProblem, build


def _args(kind: str, value: int, rng: random.Random) -> int | None:
    if kind == "gain":
        return rng.randint(2, min(99, LIMIT - value)) if value <= LIMIT - 2 else None
    if kind == "lose":
        return rng.randint(2, min(99, value - 1)) if value >= 3 else None
    if kind == "multiply":
        factors = [f for f in range(2, 13) if value * f <= LIMIT]
        return rng.choice(factors) if factors else None
    divisors = [k for k in range(2, 11) if value % k == 0 and value // k >= 2]
    return rng.choice(divisors) if divisors else None


def _drill(ops: int, rng: random.Random) -> dict | None:
    kinds = [rng.choice(ARITHMETIC.kinds) for _ in range(ops)]
    if kinds[0] == "share":  # a start that divides: divisor times quotient
        start = rng.randint(2, 10) * rng.randint(2, 25)
    else:
        start = rng.randint(2, 25) if kinds[0] == "multiply" else rng.randint(2, 99)
    value, events = start, []
    for kind in kinds:
        arg = _args(kind, value, rng)
        if arg is None:
            return None
        events.append({"kind": kind, "args": [arg]})
        value = {"gain": value + arg, "lose": value - arg, "multiply": value * arg, "share": value // max(arg, 1)}[kind]
    kinds_pool = pool(ARITHMETIC, "question") + (pool(ARITHMETIC, "question_words") if ops == 1 else ())
    return {"family": ARITHMETIC.name, "actors": [], "item": None, "start": {"args": [start]}, "events": events,
            "distractors": [], "details": [], "question": {"phrasing": pick(kinds_pool, "train", rng).id}}  # fmt: skip


def arithmetic_drills(count: int, *, seed: int) -> list[WordProblem]:
    """`count` distinct drills of 1-3 operations, family 'arithmetic', split 'train', solvable by solve()."""
    rng = random.Random(seed)
    drills: list[WordProblem] = []
    seen: set[str] = set()
    for _ in range(max(200, count * 60)):
        if len(drills) == count:
            break
        program = _drill(rng.choice((1, 1, 2, 2, 3)), rng)
        if program is None:
            continue
        drill = build(program)
        if drill.question not in seen:
            seen.add(drill.question)
            drills.append(drill)
    if len(drills) < count:
        raise ValueError(f"could only make {len(drills)} distinct drills of {count} asked")
    return drills
