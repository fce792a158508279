"""Phrasings and situation families: every piece of text a word problem is rendered from, each with an id and a split.

A phrasing is one sentence template (an opening, an event clause, a quantity form, a distractor, a question...). Its
id names it in a problem's `templates`, and its split decides which problems may use it: a train problem draws only
train phrasings, a test problem only test ones, so the wording of a held-out test set is never seen in training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SPLITS = ("train", "test")
LIMIT = 1000  # every value a problem computes stays in 0..LIMIT
# The arithmetic state events, each an operation on the running total (see program.py); families pick a subset.
STATE_KINDS = ("gain", "lose", "gain_groups", "lose_groups", "multiply", "share")

# (name, pronoun): many names, so the model learns the name is not part of the arithmetic.
NAMES = (
    ("Maya", "she"), ("Ben", "he"), ("Amara", "she"), ("Liam", "he"), ("Chloe", "she"), ("Dmitri", "he"),
    ("Elena", "she"), ("Farid", "he"), ("Grace", "she"), ("Hiro", "he"), ("Isla", "she"), ("Jonas", "he"),
    ("Keiko", "she"), ("Leo", "he"), ("Nadia", "she"), ("Nikhil", "he"), ("Olivia", "she"), ("Pablo", "he"),
    ("Priya", "she"), ("Quinn", "he"), ("Rosa", "she"), ("Samir", "he"), ("Tara", "she"), ("Umar", "he"),
    ("Vera", "she"), ("Wei", "he"), ("Ximena", "she"), ("Yusuf", "he"), ("Zoe", "she"), ("Omar", "he"),
    ("Aisha", "she"), ("Carlos", "he"), ("Fatima", "she"), ("Mateo", "he"), ("Hannah", "she"), ("Kofi", "he"),
    ("Ingrid", "she"), ("Tomas", "he"), ("Lucia", "she"), ("Raj", "he"), ("Mei", "she"), ("Ethan", "he"),
    ("Sofia", "she"), ("Daniel", "he"), ("Ana", "she"), ("Felix", "he"), ("Julia", "she"), ("Marco", "he"),
    ("Lena", "she"), ("Arjun", "he"), ("Emma", "she"), ("Noah", "he"), ("Yara", "she"), ("Kenji", "he"),
    ("Bella", "she"), ("Oscar", "he"), ("Nora", "she"), ("Sam", "he"), ("Ruth", "she"), ("Ivan", "he"),
)  # fmt: skip
PRONOUNS = {"she": ("she", "her", "her", "herself"), "he": ("he", "his", "him", "himself")}  # subj, poss, obj, refl
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Phrasing:
    id: str  # "<family or generic>.<kind>.<index>"
    split: str
    text: str  # a str.format template over the slots render.py provides
    note: str = ""  # distractors: the fact as a clause, for the solution's "not needed" line ("" = the text itself)

    @property
    def kind(self) -> str:
        return self.id.split(".")[-2]


def phrasings(prefix: str, train=(), test=()) -> tuple[Phrasing, ...]:
    """Numbered phrasings of one kind; an entry is a text or a (text, note) pair."""
    out: list[Phrasing] = []
    for split, entries in (("train", train), ("test", test)):
        for entry in entries:
            text, note = (entry, "") if isinstance(entry, str) else entry
            out.append(Phrasing(f"{prefix}.{len(out)}", split, text, note))
    return tuple(out)


@dataclass(frozen=True)
class Family:
    """A situation: who holds what, and how each event kind is said in it."""

    name: str
    split: str  # "train": usable by both splits (with that split's phrasings); "test": test problems only
    pools: dict[str, tuple[Phrasing, ...]] = field(compare=False, hash=False)  # kind -> phrasings
    ledger: str = "count"  # how solutions word the steps: count, money, purchase, ages, arithmetic
    items: tuple[tuple[str, str], ...] = ()  # (singular, plural) choices for the thing counted
    containers: tuple[str, ...] = ()  # group nouns: "3 packs of 8 stickers"
    periods: tuple[tuple[str, str], ...] = ()  # rate groups: "12 pages a day for 4 days"
    container_kinds: tuple[str, ...] = ("gain_groups", "lose_groups")  # which group events may use containers...
    rate_kinds: tuple[str, ...] = ("gain_groups", "lose_groups")  # ...and rates (a fuel tank fills by cans, not hours)
    kinds: tuple[str, ...] = STATE_KINDS
    owned: bool = True  # a person holds the things: the generic questions and "Ben has 7 stickers" facts apply
    generic_clauses: bool = True  # ...and the generic "she got 5 more" clauses read right here too
    group_start: bool = True  # the start may itself be groups ("3 boxes of 12 crayons"), one operation
    start_range: tuple[int, int] = (5, 99)
    lost: str = ""  # solutions: "7 cars left" where every loss clause means that; "" = neutral "7 fewer cars"
    connectives: bool = True  # "Then", "Later," ... before event sentences

    def pool(self, kind: str) -> tuple[Phrasing, ...]:
        return self.pools.get(kind, ())


def family(name: str, split: str, text: dict, **fields) -> Family:
    """A family from {kind: (train texts, test texts)}; a test-only family gives {kind: texts}, all test."""
    pools = {}
    for kind, entries in text.items():
        if split == "test":
            pools[kind] = phrasings(f"{name}.{kind}", test=entries)
        else:
            train, test = entries
            pools[kind] = phrasings(f"{name}.{kind}", train, test)
    return Family(name=name, split=split, pools=pools, **fields)


def pick(pool, split: str, rng: random.Random, used=()) -> Phrasing:
    """A phrasing of `split` from the pool, preferring one not used yet in this problem."""
    choices = [p for p in pool if p.split == split]
    if not choices:
        raise ValueError(f"no {split} phrasing in {[p.id for p in pool][:3]}...")
    fresh = [p for p in choices if p.id not in used]
    return rng.choice(fresh or choices)


# ---- grammar ------------------------------------------------------------------------------------------------------


def times(factor: int) -> str:
    return "twice" if factor == 2 else f"{factor} times"


def timesed(factor: int) -> str:
    return {2: "doubled", 3: "tripled"}.get(factor, f"multiplied by {factor}")


def part(divisor: int) -> str:
    return {2: "half", 3: "a third", 4: "a quarter"}[divisor]


def a_period(singular: str) -> str:
    return ("an " if singular[0] in "aeiou" or singular == "hour" else "a ") + singular


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]
