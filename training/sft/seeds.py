"""Step 1, seeds: tasks whose answers can be checked.

- math: word problems from `training.sft.problems` (train split only: the evaluation tiers use the test split's
  phrasings and situations) and bare arithmetic drills, each with its computed answer;
- code: function tasks with reference solutions and tests (`training.sft.code_tasks`; never HumanEval, checked by
  the decontamination step);
- prompts: instruction/reasoning prompts from JSONL files (`{"instruction": ..., "answer"?: ..., "domain"?: ...}`),
  answered by the teacher only; an `answer` makes them verifiable like math.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from training.sft.errors import SFTError


@dataclass
class MathSeeds:
    tier: str  # a `training.sft.problems` tier
    count: int
    ops: list[int] | None = None  # [min, max] operations, overriding the tier's
    distractors: list[int] | None = None  # [min, max] irrelevant facts, overriding the tier's


@dataclass
class SeedSettings:
    math: list[MathSeeds] = field(default_factory=lambda: [MathSeeds("one_two_step", 1000)])
    drills: int = 200  # bare arithmetic ("What is 47 + 38?")
    code: int = 200
    code_styles: list[str] = field(default_factory=lambda: ["complete", "instruction"])
    prompt_files: list[str] = field(default_factory=list)
    seed: int = 0


def math_record(problem, record_id: str, origin: str = "seed") -> dict:
    kind = "drill" if problem.family == "arithmetic" else "word_problem"
    return {"id": record_id, "domain": "math", "kind": kind, "instruction": problem.question,
            "answer": problem.answer, "problem": problem.to_record(), "origin": origin, "evolution": []}


def code_record(task, style: str, record_id: str) -> dict:
    from training.sft.code_tasks import request_text

    return {"id": record_id, "domain": "code", "kind": "code", "instruction": request_text(task, style),
            "request_style": style, "task": task.to_record(), "origin": "seed", "evolution": []}


def make_seeds(settings: SeedSettings) -> list[dict]:
    """Every seed record, deterministic for `settings.seed`; ids are unique and stable."""
    from training.sft.code_tasks import generate_code_tasks
    from training.sft.problems import arithmetic_drills, generate_problems

    records = []
    for n, spec in enumerate(settings.math):
        overrides = {k: tuple(v) for k, v in (("ops", spec.ops), ("distractors", spec.distractors)) if v}
        problems = generate_problems(spec.tier, spec.count, seed=settings.seed * 1000 + n, split="train", **overrides)
        records += [math_record(p, f"math/{spec.tier}-{n}/{i:05d}") for i, p in enumerate(problems)]
    drills = arithmetic_drills(settings.drills, seed=settings.seed) if settings.drills else []
    records += [math_record(p, f"math/drill/{i:05d}") for i, p in enumerate(drills)]
    if settings.code:
        rng = random.Random(settings.seed)
        tasks = generate_code_tasks(settings.code, seed=settings.seed)
        records += [code_record(t, rng.choice(settings.code_styles), f"code/{i:05d}") for i, t in enumerate(tasks)]
    for path in settings.prompt_files:
        records += prompt_records(Path(path))
    return records


def prompt_records(path: Path) -> list[dict]:
    from training.sft.records import read_jsonl

    records = []
    for i, row in enumerate(read_jsonl(path)):
        instruction = row.get("instruction") if isinstance(row, dict) else None
        if not isinstance(instruction, str) or not instruction.strip():
            raise SFTError(f"{path}: line {i + 1} has no 'instruction' string")
        record = {"id": f"prompt/{path.stem}/{i:05d}", "domain": row.get("domain", "general"), "kind": "prompt",
                  "instruction": instruction.strip(), "origin": "seed", "evolution": []}
        if row.get("answer") is not None:
            record["answer"] = row["answer"]
        records.append(record)
    return records
