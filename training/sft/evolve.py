"""Step 2, instruction evolution (Evol-Instruct, Xu et al. 2023): harder and more varied instructions from the seeds.

Evol-Instruct asks a teacher to rewrite an instruction with one operator (add constraints, deepen, concretize,
increase reasoning steps, or mutate it in breadth) and then filters what fails. Here a math item must keep an answer
that is computed, not believed, so the operators work on the problem's program (`training.sft.problems.evolve`):
`deepen` adds a reasoning step, `add_distractor` a constraint-like irrelevant fact the solver must ignore,
`concretize` setting detail, `change_numbers` / `change_names` mutation; the answer is recomputed every time. The
teacher then rewrites a share of the evolved problems in its own words (`teacher_rewrite`), and a rewrite survives
only if it re-validates: every number kept (as a multiset), nothing added, still a question, a sane length. At paper
scale a 32B teacher does most of the wording; at CPU scale the 135M's rewrites rarely survive, which the report shows.
Code seeds keep their own wording (their tests would have to evolve with them).
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from dataclasses import dataclass, field

REWRITE_PROMPT = (
    "Rewrite the following math word problem in different words, as a new version of the same problem. Keep every "
    "number exactly as it is and ask for the same quantity. Reply with the rewritten problem only.\n\nProblem: {q}"
)


@dataclass
class EvolveSettings:
    enabled: bool = True
    per_seed: int = 1  # evolved variants made from each word-problem seed
    rounds: list[int] = field(default_factory=lambda: [1, 3])  # [min, max] operators chained per variant
    operations: dict[str, float] = field(default_factory=lambda: {
        "deepen": 0.35, "add_distractor": 0.3, "change_numbers": 0.15, "change_names": 0.1, "concretize": 0.1})
    teacher_rewrite: float = 0.0  # share of evolved problems the teacher rewords
    rewrite_max_tokens: int = 160
    keep_seeds: bool = True
    seed: int = 0


def record_rng(record_id: str, seed: int, salt: str = "") -> random.Random:
    """A random stream per record: the same choices whatever the order or concurrency of processing."""
    return random.Random(zlib.crc32(f"{seed}/{salt}/{record_id}".encode()))


class EvolveInstructions:
    """Maps a seed record to [the seed, its evolved variants]; failed evolutions are dropped with their reason."""

    name = "evolve"

    def __init__(self, settings: EvolveSettings, teacher=None) -> None:
        self.settings, self.teacher = settings, teacher
        if settings.teacher_rewrite > 0 and teacher is None:
            from training.sft.errors import SFTError

            raise SFTError("evolve.teacher_rewrite needs a teacher")

    def __call__(self, record: dict) -> tuple[list[dict], list[dict]]:
        if not self.settings.enabled or record.get("kind") != "word_problem":
            return [record], []  # passed through unchanged
        kept, dropped = ([record] if self.settings.keep_seeds else []), []
        for k in range(self.settings.per_seed):
            evolved, failed = self.variant(record, k)
            kept += [evolved] if evolved is not None else []
            dropped += [failed] if failed is not None else []
        return kept, dropped

    def variant(self, record: dict, k: int) -> tuple[dict | None, dict | None]:
        """(the evolved record or None, a dropped record or None). A teacher rewrite that does not re-validate is
        dropped (and counted) while the evolved problem stays, in its programmatic wording."""
        from training.sft.problems import WordProblem, evolve
        from training.sft.seeds import math_record

        rng = record_rng(record["id"], self.settings.seed, f"evolve{k}")
        problem = WordProblem.from_record(record["problem"])
        operations = list(self.settings.operations)
        weights = [self.settings.operations[o] for o in operations]
        applied = []
        for _ in range(rng.randint(*self.settings.rounds)):
            operation = rng.choices(operations, weights)[0]
            changed = evolve(problem, operation, rng)
            if changed is not None:
                problem, applied = changed, [*applied, operation]
        evolved = {**math_record(problem, f"{record['id']}/evo{k}", origin="evolved"), "parent": record["id"],
                   "evolution": applied}
        if not applied:
            return None, {**evolved, "reason": "no operator applied"}
        if self.teacher is None or rng.random() >= self.settings.teacher_rewrite:
            return evolved, None
        rewritten = self.teacher.chat([{"role": "user", "content": REWRITE_PROMPT.format(q=problem.question)}],
                                      max_tokens=self.settings.rewrite_max_tokens, temperature=0.7,
                                      seed=rng.randrange(2**31)).strip()
        reason = rewrite_problem(problem.question, rewritten)
        if reason is not None:
            return evolved, {**evolved, "id": f"{evolved['id']}/rewrite", "rewrite": rewritten,
                             "reason": f"teacher rewrite rejected: {reason}"}
        return {**evolved, "instruction": rewritten, "rewrite": rewritten,
                "evolution": [*applied, "teacher_rewrite"]}, None


def rewrite_problem(original: str, rewritten: str) -> str | None:
    """Why a teacher's rewrite of `original` is unusable, or None when it re-validates."""
    from training.sft.problems import numbers_in

    text = rewritten.strip()
    if not text:
        return "empty"
    if Counter(numbers_in(text)) != Counter(numbers_in(original)):
        return "numbers changed"
    if not text.rstrip().endswith("?"):
        return "not a question"
    if not 0.6 <= len(text) / max(1, len(original)) <= 1.8:
        return "length out of range"
    if text == original.strip():
        return "unchanged"
    if "answer" in text.lower() and "answer" not in original.lower():
        return "talks about the answer"
    return None
