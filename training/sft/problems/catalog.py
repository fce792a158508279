"""Every family and phrasing by name and id, and which phrasings a family draws for each kind of sentence."""

from __future__ import annotations

from . import families_home, families_people, families_unseen, families_work
from .generic import GENERIC, REPLACING
from .phrasing import Family, Phrasing, family

# Bare arithmetic drills ("What is 47 + 38?"): {expr} is the expression, {words} the one-operation form in words.
ARITHMETIC = family(
    "arithmetic", "train",
    ledger="arithmetic", kinds=("gain", "lose", "multiply", "share"), owned=False, connectives=False,
    text={
        "question": (["What is {expr}?", "Compute {expr}.", "Calculate {expr}.", "Find the value of {expr}.",
                      "Work out {expr}.", "Evaluate {expr}.", "What does {expr} equal?", "{expr} = ?"], []),
        "question_words": (["What is {words}?", "How much is {words}?", "Calculate {words}."], []),
    },
)  # fmt: skip

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (*families_home.FAMILIES, *families_work.FAMILIES, *families_people.FAMILIES, *families_unseen.FAMILIES)
}
ALL_FAMILIES: dict[str, Family] = {**FAMILIES, ARITHMETIC.name: ARITHMETIC}

# Kinds where a family that owns nothing (a parking lot, a fuel tank) must bring its own phrasings.
_OWNED_ONLY = ("question", "distractor_items")


def pool(fam: Family, kind: str) -> tuple[Phrasing, ...]:
    """The phrasings a family may draw for a kind, its own plus the generic ones that read right in it."""
    own = fam.pool(kind)
    if kind in REPLACING:
        return own or GENERIC[kind]
    if kind == "connective":
        return GENERIC[kind] if fam.connectives else ()
    if kind in ("gain", "lose"):
        return own + GENERIC[kind] if fam.owned and fam.generic_clauses else own
    if kind in _OWNED_ONLY:
        return own + GENERIC[kind] if fam.owned else own
    if kind in ("distractor", "detail"):
        return own + GENERIC[kind]
    return own


def _index() -> dict[str, Phrasing]:
    index: dict[str, Phrasing] = {}
    pools = [GENERIC, *(f.pools for f in ALL_FAMILIES.values())]
    for kinds in pools:
        for phrasings in kinds.values():
            for p in phrasings:
                if p.id in index:
                    raise ValueError(f"duplicate phrasing id {p.id}")
                index[p.id] = p
    return index


PHRASINGS: dict[str, Phrasing] = _index()


def families(split: str) -> list[Family]:
    """The families a split draws from: train problems only train families; test problems every family (the train
    families with their test-only phrasings: new wording of a known situation; the test families: new situations)."""
    return [f for f in FAMILIES.values() if split == "test" or f.split == "train"]
