"""The SFT set: accepted records as chat conversations, selected by quality and difficulty.

A model asked one fixed way learns that way only; users (and the evaluation's judging convention) ask in several.
So each conversation draws its system prompt and its closing instruction from a small list that includes the
evaluation's ("You are a helpful assistant." / "Think step by step, then give the final answer as a number."), the
SDK's `infir_edge.reasoning` prompt (what `infir-edge reason` sends), and none at all (the model's default).

Selection: records under `min_quality` are left out; when there are more than `max_examples`, levels are sampled in
proportion to `level_weights` (the hard ones are where the recipe's data work shows).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from infir_edge.reasoning import INSTRUCTION as SDK_INSTRUCTION
from infir_edge.reasoning import SYSTEM_PROMPT as SDK_SYSTEM_PROMPT
from training.eval.word_problems import INSTRUCTION as EVAL_INSTRUCTION
from training.eval.word_problems import SYSTEM_PROMPT as EVAL_SYSTEM_PROMPT
from training.sft.evolve import record_rng

SYSTEM_PROMPTS = (EVAL_SYSTEM_PROMPT, EVAL_SYSTEM_PROMPT, SDK_SYSTEM_PROMPT, None, "You are a patient math tutor.",
                  "You are a helpful AI assistant.")
MATH_INSTRUCTIONS = (EVAL_INSTRUCTION, EVAL_INSTRUCTION, SDK_INSTRUCTION["number"], "Solve it step by step.",
                     "Show your work, then give the final number.", "", "Explain your reasoning briefly.")


@dataclass
class SFTSetSettings:
    max_examples: int | None = None
    min_quality: float = 0.0
    level_weights: dict[str, float] = field(default_factory=lambda: {"easy": 1.0, "medium": 1.0, "hard": 1.0})
    seed: int = 0


def conversation(record: dict, response: str, seed: int) -> list[dict]:
    rng = record_rng(record["id"], seed, "prompt")
    system = rng.choice(SYSTEM_PROMPTS)
    user = record["instruction"]
    if record["domain"] == "math":
        suffix = rng.choice(MATH_INSTRUCTIONS)
        user = f"{user}\n{suffix}" if suffix else user
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, {"role": "user", "content": user}, {"role": "assistant", "content": response}]


def example(record: dict, response: str, seed: int, **extra) -> dict:
    labels = record.get("labels", {})
    return {"id": record["id"], "messages": conversation(record, response, seed), "domain": record["domain"],
            "origin": record.get("origin"), "level": labels.get("level"), "difficulty": labels.get("difficulty"),
            **extra}


def select(records: list[dict], settings: SFTSetSettings) -> list[dict]:
    """The records to train on, in a fixed shuffled order."""
    rng = random.Random(settings.seed)
    pool = [r for r in records if r.get("labels", {}).get("quality", 1.0) >= settings.min_quality]
    rng.shuffle(pool)
    if settings.max_examples is None or len(pool) <= settings.max_examples:
        return pool
    by_level: dict[str, list[dict]] = {}
    for record in pool:
        by_level.setdefault(record.get("labels", {}).get("level", "medium"), []).append(record)
    total = sum(settings.level_weights.get(level, 1.0) * len(rs) for level, rs in by_level.items())
    chosen = []
    for level, rs in by_level.items():
        share = settings.level_weights.get(level, 1.0) * len(rs) / total
        chosen += rs[: round(share * settings.max_examples)]
    # the shares' rounding, or a level with fewer records than its share, can leave places: fill them from the rest
    # of the levels that have a weight
    taken = {id(r) for r in chosen}
    weighted = {id(r) for level, rs in by_level.items() if settings.level_weights.get(level, 1.0) > 0 for r in rs}
    rest = [r for r in pool if id(r) in weighted and id(r) not in taken]
    chosen += rest[: max(0, settings.max_examples - len(chosen))]
    rng.shuffle(chosen)
    return chosen[: settings.max_examples]


def sft_examples(records: list[dict], settings: SFTSetSettings) -> list[dict]:
    return [example(r, r["response"], settings.seed) for r in select(records, settings)]


def raw_examples(candidate_records: list[dict], seed: int) -> list[dict]:
    """The ablation's 'raw candidates' arm: every candidate of every instruction, unverified and unranked."""
    examples = []
    for record in candidate_records:
        for k, candidate in enumerate(record["candidates"]):
            examples.append(example({**record, "id": f"{record['id']}#{k}"}, candidate["text"], seed,
                                    source=candidate["source"]))
    random.Random(seed).shuffle(examples)
    return examples
