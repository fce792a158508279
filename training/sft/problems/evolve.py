"""Evol-Instruct's operators (InfiR §3: instruction evolution) on a problem's program instead of its text.

An LLM rewriting the text may break the arithmetic; editing the program and re-rendering cannot: the answer is
recomputed, and every new sentence is worded from train phrasings only, so evolved seeds never leak test wording.
"""

from __future__ import annotations

import copy
import random

from .catalog import ALL_FAMILIES, PHRASINGS, pool
from .draw import distractor_number, draw_numbers, phrase, phrase_detail, phrase_event, phrase_fact, used_ids
from .phrasing import NAMES, Family
from .problem import WordProblem, build
from .program import ABSORBED, OPS, valid

EVOLUTIONS = ("deepen", "add_distractor", "change_numbers", "change_names", "concretize")
MAX_OPS = 5
MAX_DISTRACTORS = 3
_TRIES = 30


def _told(program: dict) -> int:
    events = program["events"]
    return len(events) - (1 if events and events[-1]["kind"] in ABSORBED else 0)


def _deepen(fam: Family, program: dict, rng: random.Random) -> bool:
    """One more event of one operation, just before the question (an absorbed last event stays last)."""
    if sum(OPS[e["kind"]] for e in program["events"]) + (len(program["start"]["args"]) == 2) >= MAX_OPS:
        return False
    present = {e["kind"] for e in program["events"]}
    if fam.ledger == "ages":
        kinds = ["older", "younger", "times_age", "part_age"]
    else:
        kinds = [k for k in fam.kinds if OPS[k] == 1 and k not in ABSORBED]
    kinds = [k for k in kinds if k not in ("multiply", "share", "times_age", "part_age") or k not in present]
    at = _told(program)
    for _ in range(_TRIES):
        kind = rng.choice(kinds)
        trial = copy.deepcopy(program)
        trial["events"].insert(at, {"kind": kind, "args": [0]})
        if fam.ledger == "ages":  # the new sentence introduces a new person, whom the question then asks about
            taken = {a["name"] for a in trial["actors"]} | {f["other"] for f in trial["distractors"]}
            name, pronoun = rng.choice([n for n in NAMES if n[0] not in taken])
            trial["actors"].append({"name": name, "pronoun": pronoun})
        if draw_numbers(fam, trial, rng, first=at, tries=5):
            phrase_event(fam, trial, at, "train", rng)
            program.clear()
            program.update(trial)
            return True
    return False


def _add_distractor(fam: Family, program: dict, rng: random.Random) -> bool:
    if len(program["distractors"]) >= MAX_DISTRACTORS:
        return False
    fact = {"before": rng.randint(0, _told(program))}
    used = used_ids(program)
    program["distractors"].append(fact)
    phrase_fact(fam, program, fact, "train", rng)
    return fact["phrasing"] not in used


def _numbers(program: dict) -> list[int]:
    return [*program["start"]["args"], *(a for e in program["events"] for a in e["args"]),
            *(f["args"][0] for f in program["distractors"])]  # fmt: skip


def _change_numbers(fam: Family, program: dict, rng: random.Random) -> bool:
    before = _numbers(program)
    for _ in range(_TRIES):
        if not draw_numbers(fam, program, rng):
            return False
        for fact in program["distractors"]:
            fact["args"] = [distractor_number(PHRASINGS[fact["phrasing"]].text, rng)]
        if _numbers(program) != before:
            return True
    return False


def _change_names(fam: Family, program: dict, rng: random.Random) -> bool:
    """Other people, and another thing where the family has several."""
    taken = {a["name"] for a in program["actors"]} | {f["other"] for f in program["distractors"]}
    fresh = rng.sample([n for n in NAMES if n[0] not in taken], len(program["actors"]) + len(program["distractors"]))
    for actor, (name, pronoun) in zip(program["actors"], fresh, strict=False):
        actor.update(name=name, pronoun=pronoun)
    for fact, (name, _) in zip(program["distractors"], fresh[len(program["actors"]) :], strict=True):
        fact["other"] = name
    if program["item"] is not None:
        busy = {program["item"]} | {e.get("item") for e in program["events"]}
        others = [many for _, many in fam.items if many not in busy]
        if others:
            program["item"] = rng.choice(others)
    return True


def _concretize(fam: Family, program: dict, rng: random.Random) -> bool:
    """A setting detail (a day, a place, a purpose) with no number in it."""
    used = used_ids(program)
    if all(p.id in used for p in pool(fam, "detail") if p.split == "train"):
        return False
    detail = {"before": 0}
    program["details"].append(detail)
    phrase_detail(fam, program, detail, "train", rng)
    return True


_OPERATORS = {"deepen": _deepen, "add_distractor": _add_distractor, "change_numbers": _change_numbers,
              "change_names": _change_names, "concretize": _concretize}  # fmt: skip


def evolve(problem: WordProblem, operation: str, rng: random.Random) -> WordProblem | None:
    """The problem evolved by one of EVOLUTIONS, its answer recomputed and its text re-rendered with train phrasings
    only; None when the operation cannot apply (deepen at 5 operations, no unused train phrasing left, numbers that
    would leave 0..1000, a test-only family, or a bare arithmetic drill)."""
    if operation not in _OPERATORS:
        raise ValueError(f"unknown evolution {operation!r}; expected one of {EVOLUTIONS}")
    fam = ALL_FAMILIES[problem.family]
    if fam.split != "train" or fam.ledger == "arithmetic":
        return None
    program = copy.deepcopy(problem.program)
    if not _OPERATORS[operation](fam, program, rng) or not valid(program):
        return None
    if problem.split != "train":  # a test problem of a train family: reword it all from train phrasings
        phrase(fam, program, "train", rng)
    evolved = build(program)
    return None if evolved.question == problem.question else evolved
