"""Drawing a program: its shape (which events), its numbers, and its wording, as three separate steps.

Keeping them apart is what Evol-Instruct's operators need: change_numbers redraws only the numbers, change_names only
the people and things, and a problem's phrasings are redrawn from the train split without touching its arithmetic.

A program is a JSON-serialisable dict:
  family, actors [{name, pronoun}] (ages: one per person in the chain), item (plural, or None),
  start {args: [v] or [n, m], phrasing, qty, unit},
  events [{kind, args, clause, qty, unit, connective, pronoun, day, item}],
  distractors [{before, phrasing, args: [d], other}], details [{before, phrasing, day}], question {phrasing}.
`before` is the index of the told event a side sentence comes before (len(told events) = just before the question).
"""

from __future__ import annotations

import random

from .catalog import pool
from .phrasing import DAYS, LIMIT, NAMES, Family, pick
from .program import ABSORBED, OPS, apply

AGE_LIMIT = 100
_WEIGHTS = {"gain": 3, "lose": 3, "gain_groups": 2, "lose_groups": 1.5, "multiply": 1.2, "share": 1.2,
            "older": 3, "younger": 2, "times_age": 1.5, "part_age": 1.2}  # fmt: skip
_ONCE = ("multiply", "share", "times_age", "part_age")  # values grow or shrink fast: at most one each
_FACTORS = (2, 2, 2, 2, 3, 3, 3, 4, 4, 5)
_NOTES = (5, 10, 20, 50, 100, 200, 500, 1000)


# ---- shape --------------------------------------------------------------------------------------------------------


def _fill(kinds: tuple[str, ...], ops: int, rng: random.Random, most: dict | None = None) -> list[str] | None:
    """Event kinds whose operations add up to `ops`."""
    chosen: list[str] = []
    while ops > 0:
        open_ = [k for k in kinds if OPS[k] <= ops and chosen.count(k) < (most or {}).get(k, 1 if k in _ONCE else 9)]
        if not open_:
            return None
        kind = rng.choices(open_, weights=[_WEIGHTS.get(k, 1) for k in open_])[0]
        chosen.append(kind)
        ops -= OPS[kind]
    return chosen


def shape(fam: Family, ops: int, distractors: int, rng: random.Random) -> dict | None:
    """A program with its events' kinds (and people and things), no numbers and no wording yet."""
    group_start = False
    if fam.ledger == "ages":
        last = [rng.choice(("future", "past"))] if rng.random() < 0.4 else []
        body = _fill(("older", "younger", "times_age", "part_age"), ops - len(last), rng)
        kinds = None if body is None else body + last
    elif fam.ledger == "purchase":
        group_start = True
        pay = ["pay"] if ops > 1 and rng.random() < 0.65 else []
        body = _fill(("gain_groups", "gain", "lose"), ops - 1 - len(pay), rng, {"gain_groups": 2, "gain": 1, "lose": 1})
        kinds = None if body is None else body + pay
    else:
        group_start = bool(fam.group_start and fam.containers and rng.random() < (0.5 if ops == 1 else 0.25))
        usable = [k for k in fam.kinds if OPS[k] == 1 or k in fam.container_kinds + fam.rate_kinds]
        kinds = _fill(tuple(usable), ops - group_start, rng)
    if kinds is None or (fam.ledger == "purchase" and kinds.count("gain_groups") >= len(fam.items)):
        return None
    people = 1 + (len([k for k in kinds if k not in ABSORBED]) if fam.ledger == "ages" else 0)
    names = rng.sample(NAMES, people)
    item = rng.choice(fam.items)[1] if fam.items and fam.ledger != "money" else None
    program = {
        "family": fam.name,
        "actors": [{"name": n, "pronoun": p} for n, p in names],
        "item": item,
        "start": {"args": [0, 0] if group_start else [0]},
        "events": [{"kind": k, "args": [0, 0] if OPS[k] == 2 else [0]} for k in kinds],
        "distractors": [],
        "details": [],
        "question": {},
    }
    if fam.ledger == "purchase":
        others = rng.sample([many for _, many in fam.items if many != item], kinds.count("gain_groups"))
        for event in program["events"]:
            if event["kind"] == "gain_groups":
                event["item"] = others.pop()
    told = len([k for k in kinds if k not in ABSORBED])
    program["distractors"] = [{"before": rng.randint(0, told)} for _ in range(distractors)]
    return program


# ---- numbers ------------------------------------------------------------------------------------------------------


def _groups(rng: random.Random, room: int) -> list[int] | None:
    """n groups of m with n * m <= room: n in 2..12, m in 2..25."""
    if room < 4:
        return None
    n = rng.randint(2, min(12, room // 2))
    return [n, rng.randint(2, min(25, room // n))]


def draw_args(fam: Family, kind: str, value: int, rng: random.Random) -> list[int] | None:
    """An event's numbers given the running value, keeping every result a whole number in range; None if none fit."""
    limit = AGE_LIMIT if fam.ledger == "ages" else LIMIT
    if kind in ("gain", "older", "future"):
        top = {"gain": 15 if fam.ledger == "purchase" else 99}.get(kind, 30)
        top = min(top, limit - value)
        return [rng.randint(2, top)] if top >= 2 else None
    # A loss leaves at least a fifth: chains of losses uniformly up to the whole would end at 1-5 far too often.
    if kind in ("lose", "younger", "past"):
        top = min({"ages": 30, "purchase": 20}.get(fam.ledger, 99), value - 3, max(2, value * 4 // 5))
        return [rng.randint(2, top)] if top >= 2 else None
    if kind == "gain_groups":
        return _groups(rng, limit - value)
    if kind == "lose_groups":
        return _groups(rng, min(value - 1, value * 4 // 5))
    if kind in ("multiply", "times_age"):
        factors = [f for f in (_FACTORS if kind == "multiply" else (2, 2, 3)) if value * f <= limit]
        return [rng.choice(factors)] if factors else None
    if kind in ("share", "part_age"):
        divisors = [k for k in (range(2, 11) if kind == "share" else (2, 3, 4)) if value % k == 0 and value // k >= 2]
        roomy = [k for k in divisors if value // k >= 5]  # a share of 2 or 3 is a dull answer, and a frequent one
        return [rng.choice(roomy or divisors)] if divisors else None
    if kind == "pay":
        notes = [n for n in _NOTES if n > value]
        # usually the smallest note that covers the bill, sometimes the next one (not $500 for a $189 bill)
        return [notes[1] if len(notes) > 1 and notes[1] <= 100 and rng.random() < 0.3 else notes[0]] if notes else None
    raise ValueError(f"unknown event kind {kind!r}")


def draw_numbers(fam: Family, program: dict, rng: random.Random, first: int = 0, tries: int = 60) -> bool:
    """Fill the numbers of the start (when first == 0) and of events[first:], in place; False if no draw fits."""
    events = program["events"]
    for _ in range(tries):
        if first == 0:
            groups = len(program["start"]["args"]) == 2
            start = [rng.randint(2, 12), rng.randint(2, 25)] if groups else [rng.randint(*fam.start_range)]
            program["start"]["args"] = start
        value = _value_before(program, first)
        drawn = []
        for event in events[first:]:
            args = draw_args(fam, event["kind"], value, rng)
            if args is None:
                break
            drawn.append(args)
            value = apply(event["kind"], value, args)[-1].c
        else:
            for event, args in zip(events[first:], drawn, strict=True):
                event["args"] = args
            return True
    return False


def _value_before(program: dict, index: int) -> int:
    args = program["start"]["args"]
    value = args[0] * args[1] if len(args) == 2 else args[0]
    for event in program["events"][:index]:
        value = apply(event["kind"], value, event["args"])[-1].c
    return value


def distractor_number(text: str, rng: random.Random) -> int:
    return rng.randint(2, 12) if "{s}" in text else rng.randint(5, 60)


# ---- wording ------------------------------------------------------------------------------------------------------


def used_ids(program: dict) -> set[str]:
    ids = {program["start"].get("phrasing"), program["start"].get("qty"), program["question"].get("phrasing")}
    for event in program["events"]:
        ids.update((event.get("clause"), event.get("qty"), event.get("connective")))
    ids.update(s.get("phrasing") for s in program["distractors"] + program["details"])
    return ids - {None}


def _unit(fam: Family, rate: bool, rng: random.Random) -> str | None:
    return rng.choice(fam.periods)[0] if rate else (rng.choice(fam.containers) if fam.containers else None)


def _rate(fam: Family, kind: str, rng: random.Random) -> bool:
    """Whether a groups event is a rate ("5 liters an hour for 3 hours") rather than containers ("3 cans of 5")."""
    rate = bool(fam.periods) and kind in fam.rate_kinds
    containers = bool(fam.containers) and kind in fam.container_kinds
    return rate and (not containers or rng.random() < 0.5)


def _qty_kind(fam: Family, kind: str, rate: bool) -> str:
    money = fam.ledger == "money"
    if kind in ("gain_groups", "lose_groups") or kind == "start":
        return ("money_rate" if money else "qty_rate") if rate else "qty_groups"
    return ("money_" if money else "qty_") + kind


def phrase_event(fam: Family, program: dict, index: int, split: str, rng: random.Random) -> None:
    """Draw the wording of one event sentence, in place (absorbed events are worded by the question)."""
    event = program["events"][index]
    kind = event["kind"]
    for key in ("clause", "qty", "unit", "connective", "day"):
        event.pop(key, None)
    if kind in ABSORBED:
        return
    used = used_ids(program)
    base = kind.split("_")[0] if kind in ("gain_groups", "lose_groups") else kind
    clause = pick(pool(fam, kind) or pool(fam, base), split, rng, used)
    event["clause"] = clause.id
    if "{qty}" in clause.text:
        rate = _rate(fam, kind, rng)
        event["qty"] = pick(pool(fam, _qty_kind(fam, base if OPS[kind] == 1 else kind, rate)), split, rng, used).id
        if OPS[kind] == 2 and fam.ledger != "purchase":
            event["unit"] = _unit(fam, rate, rng)
    connectives = pool(fam, "connective")
    if connectives and rng.random() < (0.4 if index == 0 else 0.75):
        connective = pick(connectives, split, rng, used)
        event["connective"] = connective.id
        if "{day}" in connective.text:
            event["day"] = rng.choice(DAYS)
    event["pronoun"] = rng.random() < 0.5


def phrase_fact(fam: Family, program: dict, fact: dict, split: str, rng: random.Random) -> None:
    """Draw a distractor's wording, number and other person, in place."""
    holds = program["item"] is not None or fam.ledger == "money"
    candidates = pool(fam, "distractor") + (pool(fam, "distractor_items") if holds else ())
    phrasing = pick(candidates, split, rng, used_ids(program))
    taken = {a["name"] for a in program["actors"]} | {f.get("other") for f in program["distractors"]}
    fact.update(
        phrasing=phrasing.id,
        args=[distractor_number(phrasing.text, rng)],
        other=rng.choice([n for n, _ in NAMES if n not in taken]),
    )


def phrase_detail(fam: Family, program: dict, detail: dict, split: str, rng: random.Random) -> None:
    phrasing = pick(pool(fam, "detail"), split, rng, used_ids(program))
    detail["phrasing"] = phrasing.id
    if "{day}" in phrasing.text:
        detail["day"] = rng.choice(DAYS)


def phrase(fam: Family, program: dict, split: str, rng: random.Random) -> None:
    """Draw every phrasing of a program from `split`, in place (numbers, people and things stay)."""
    for key in ("phrasing", "qty", "unit"):
        program["start"].pop(key, None)
    program["question"] = {}
    for side in program["distractors"] + program["details"]:
        side.pop("phrasing", None)
    start = program["start"]
    start["phrasing"] = pick(pool(fam, "opening"), split, rng).id
    if len(start["args"]) == 2:
        start["qty"] = pick(pool(fam, "qty_groups"), split, rng).id
        if fam.ledger != "purchase":
            start["unit"] = _unit(fam, False, rng)
    for i in range(len(program["events"])):
        phrase_event(fam, program, i, split, rng)
    for fact in program["distractors"]:
        phrase_fact(fam, program, fact, split, rng)
    for detail in program["details"]:
        phrase_detail(fam, program, detail, split, rng)
    last = program["events"][-1]["kind"] if program["events"] else None
    program["question"]["phrasing"] = pick(pool(fam, f"question_{last}" if last in ABSORBED else "question"),
                                           split, rng, used_ids(program)).id  # fmt: skip


def draw_program(fam: Family, ops: int, distractors: int, split: str, rng: random.Random) -> dict | None:
    """A whole program of `ops` operations and `distractors` irrelevant facts, worded from `split`."""
    program = shape(fam, ops, distractors, rng)
    if program is None or not draw_numbers(fam, program, rng):
        return None
    if rng.random() < 0.25:
        program["details"].append({"before": 0})
    phrase(fam, program, split, rng)
    return program
