"""Sets of word problems: a tier's operation and distractor counts, a split's families and phrasings, one seed."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .catalog import FAMILIES, families
from .draw import draw_program
from .phrasing import SPLITS
from .problem import TIERS, Tier, WordProblem, build


def generate_problems(tier: Tier, count: int, *, seed: int, split: str = "train", ops: tuple[int, int] | None = None,
                      distractors: tuple[int, int] | None = None,
                      family_names: Sequence[str] | None = None) -> list[WordProblem]:  # fmt: skip
    """`count` problems of the tier (ops/distractors override the tier's ranges); no two with the same question.

    Families are drawn uniformly from the split's (`family_names` narrows them: e.g. only the test-only families, to
    measure transfer to new situations apart from new wording). The same seed always gives the same problems.
    """
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(TIERS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    spec = TIERS[tier]
    (ops_low, ops_high), (facts_low, facts_high) = ops or spec["ops"], distractors or spec["distractors"]
    if not 1 <= ops_low <= ops_high <= 5 or not 0 <= facts_low <= facts_high <= 3:
        got = f"{ops_low, ops_high} and {facts_low, facts_high}"
        raise ValueError(f"ops must lie in 1..5 and distractors in 0..3, got {got}")
    pool = families(split)
    if family_names is not None:
        unknown = set(family_names) - {f.name for f in pool}
        if unknown:
            raise ValueError(f"families {sorted(unknown)} are not in the {split} split (known: {sorted(FAMILIES)})")
        pool = [f for f in pool if f.name in set(family_names)]
    rng = random.Random(seed)
    problems: list[WordProblem] = []
    seen: set[str] = set()
    for _ in range(max(200, count * 60)):
        if len(problems) == count:
            return problems
        fam = rng.choice(pool)
        program = draw_program(fam, rng.randint(ops_low, ops_high), rng.randint(facts_low, facts_high), split, rng)
        if program is None:
            continue
        problem = build(program)
        if problem.question not in seen:
            seen.add(problem.question)
            problems.append(problem)
    if len(problems) < count:
        raise ValueError(f"could only make {len(problems)} distinct {tier} problems of {count} asked")
    return problems
