"""Step 5, labels: a quality score, a difficulty and a domain on every accepted record.

- quality in [0, 1]: the reward score when the record was scored (a judge's grade; a reward model's raw score goes
  through a logistic), otherwise the share of format checks the response passes: it shows its steps, every
  worked operation ('a op b = ... = c') is arithmetically right, it ends on its answer, no line repeats.
- difficulty in [0, 1]: half from the teacher's failure rate on the instruction (1 - passed/asked; the paper's
  pass-rate signal, 0.5 when the teacher was not asked), half from the chain length (arithmetic steps, or lines of
  code, against `long_chain`); `level` buckets it into easy / medium / hard.
- domain: math, code or general, from the record's kind, or from keywords for free-form prompts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from training.sft.problems.worked import chain_is_right, chains

_CODE_WORDS = re.compile(r"\b(python|function|code|program|def|list|string)\b", re.IGNORECASE)
_MATH_WORDS = re.compile(r"\b(how many|how much|total|sum|\d+ ?[-+*/] ?\d+)\b", re.IGNORECASE)


@dataclass
class LabelSettings:
    long_chain: int = 5  # arithmetic steps (or 3x this in code lines) that count as the longest chain
    easy_below: float = 0.35
    hard_from: float = 0.6


def format_checks(text: str, domain: str) -> dict[str, bool]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if domain == "code":
        return {"has_code_block": "```" in text, "no_repeated_lines": _no_repeats(lines)}
    steps = chains(text)
    return {"shows_steps": bool(steps), "steps_right": all(chain_is_right(s) for s in steps),
            "ends_on_answer": bool(lines) and bool(re.search(r"\d", lines[-1])),
            "no_repeated_lines": _no_repeats(lines)}


def _no_repeats(lines: list[str]) -> bool:
    return len(set(lines)) == len(lines)


def domain_of(record: dict) -> str:
    if record.get("kind") in ("word_problem", "drill"):
        return "math"
    if record.get("kind") == "code":
        return "code"
    text = record.get("instruction", "")
    if _CODE_WORDS.search(text):
        return "code"
    return "math" if _MATH_WORDS.search(text) else record.get("domain", "general")


class LabelRecords:
    name = "labels"

    def __init__(self, settings: LabelSettings, raw_scores: bool = False) -> None:
        # raw_scores: the reward scores are a reward model's (any real number), not a judge's grade in [0, 1]
        self.settings, self.raw_scores = settings, raw_scores

    def __call__(self, record: dict) -> tuple[list[dict], list[dict]]:
        s = self.settings
        domain = domain_of(record)
        response = record["response"]
        checks = format_checks(response, domain)
        score = record.get("reward_score")
        if score is None:
            quality = sum(checks.values()) / len(checks)
        else:
            # by the scorer, not by the value: a raw reward of 0.9 must not outrank one of 1.1
            quality = 1 / (1 + math.exp(-score)) if self.raw_scores else score
        stats = record.get("rejection", {})
        asked = stats.get("teacher_candidates", 0)
        failure = 1 - stats["teacher_passed"] / asked if asked else 0.5
        if domain == "code":
            length = min(1.0, len(response.strip().splitlines()) / (3 * s.long_chain))
        else:
            length = min(1.0, len(chains(response)) / s.long_chain)
        difficulty = round(0.5 * failure + 0.5 * length, 4)
        level = "easy" if difficulty < s.easy_below else "hard" if difficulty >= s.hard_from else "medium"
        labels = {"quality": round(quality, 4), "difficulty": difficulty, "level": level, "domain": domain,
                  "format": checks, "response_chars": len(response)}
        return [{**record, "domain": domain, "labels": labels}], []
