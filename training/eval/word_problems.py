"""The reasoning tiers: arithmetic word problems, asked the way an independent check asks them.

The judging convention (issue 8): the model's own chat template, a short system prompt, the question followed by
"Think step by step, then give the final answer as a number.", greedy, at most 160 new tokens, and the LAST number
in the reply is the answer (no answer cue is required, none is forced). Two tiers from `training.sft.problems`, drawn
from the generators' test split only: phrasings and situation families that training data never uses.

- one_two_step: add/subtract, multiply, divide, change from a purchase, ages (1-2 operations);
- multi_step: 3-4 operations with an irrelevant numeric fact mixed in.

Every item is asked twice: the model alone (tools off), and the product as users run it, with the SDK's calculator in
the decoding loop (`tools=("calculator",)`, infir_edge.tools): `figures["tiers"]` and `figures["with_tools"]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from training.eval.batched import greedy_replies

SYSTEM_PROMPT = "You are a helpful assistant."
INSTRUCTION = "Think step by step, then give the final answer as a number."
TIERS = ("one_two_step", "multi_step")
EVAL_SEED = 2502_11573_8  # far from every training seed; the test split's templates are unseen anyway
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class WordProblemsConfig:
    items: int = 200  # per tier
    max_new_tokens: int = 160
    batch_size: int = 32  # prompts decoded together on the torch backend
    tiers: tuple[str, ...] = TIERS
    tools: tuple[str, ...] = ("calculator",)  # the second row's tools; () asks each item once, tools off


def tier_items(tier: str, count: int) -> list[dict]:
    """The first `count` test items of a tier: {"id", "tier", "question", "answer", "family", "ops"}."""
    from training.sft.problems import generate_problems

    problems = generate_problems(tier, count, seed=EVAL_SEED, split="test")
    return [{"id": f"{tier}/{i:04d}", "tier": tier, "question": p.question, "answer": p.answer, "family": p.family,
             "ops": p.ops} for i, p in enumerate(problems)]


def user_message(question: str) -> str:
    return f"{question.strip()}\n{INSTRUCTION}"


def chat_prompt(engine, question: str) -> str:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user_message(question)}]
    return engine.apply_chat_template(messages)


def last_number(text: str) -> int | float | None:
    """The last number written in a reply, as a value ('1,200' -> 1200, '42.0' -> 42.0), or None."""
    numbers = _NUMBER.findall(text)
    if not numbers:
        return None
    value = numbers[-1].replace(",", "")
    return float(value) if "." in value else int(value)


def run_word_problems(engine, *, limit: int | None = None, progress: bool = False,
                      config: WordProblemsConfig | None = None) -> tuple[dict, list[dict]]:
    """Accuracy per tier over `limit` (default config.items) test items each, tools off and on; returns (figures,
    records)."""
    config = config or WordProblemsConfig()
    count = limit or config.items
    items = [item for tier in config.tiers for item in tier_items(tier, count)]
    prompts = [chat_prompt(engine, item["question"]) for item in items]
    records = [dict(item) for item in items]
    figures = {"max_new_tokens": config.max_new_tokens, "system_prompt": SYSTEM_PROMPT, "instruction": INSTRUCTION}
    for tools in ((), config.tools) if config.tools else ((),):
        desc = f"word problems with {', '.join(tools)}" if tools else "word problems"
        replies = greedy_replies(engine, prompts, max_new_tokens=config.max_new_tokens, batch_size=config.batch_size,
                                 progress=progress, desc=desc, tools=tools)
        for record, reply in zip(records, replies, strict=True):
            predicted = last_number(reply.text)
            judged = {"prediction": predicted, "correct": predicted == record["answer"], "reply": reply.text}
            if tools:
                record["with_tools"] = {**judged, "tool_calls": [call.as_dict() for call in reply.tool_calls]}
            else:
                record.update(judged)
        tiers = tier_figures(records, with_tools=bool(tools))
        if tools:
            calls = sum(len(r["with_tools"]["tool_calls"]) for r in records)
            figures["with_tools"] = {"tools": list(tools), "tiers": tiers, "tool_calls": calls}
        else:
            figures["tiers"] = tiers
    return figures, records


def tier_figures(records: list[dict], *, with_tools: bool, first: int | None = None) -> dict | None:
    """{tier: {"accuracy", "correct", "items"}} over judged records (tools off, or their "with_tools" row), on the
    first `first` items of each tier (all by default); None where that row was not asked."""
    rows = [(r["tier"], r.get("with_tools") if with_tools else r) for r in records]
    if not rows or any(row is None or "correct" not in row for _, row in rows):
        return None
    tiers = {}
    for tier in dict.fromkeys(t for t, _ in rows):
        correct = [row["correct"] for t, row in rows if t == tier][:first]
        tiers[tier] = {"accuracy": sum(correct) / len(correct), "correct": sum(correct), "items": len(correct)}
    return tiers


DECONTAM_ITEMS = 1000  # items per tier decontamination checks against: every evaluation draws a prefix of these


def write_tier_sets(folder, count: int = DECONTAM_ITEMS) -> list:
    """Each tier's first `count` test items as `folder/word_problems_<tier>.jsonl` (question/answer lines): what
    decontamination of training data checks against (an evaluation of N <= count items asks a prefix of them)."""
    import json
    from pathlib import Path

    from infir_edge.files import atomic_write_text

    paths = []
    for tier in TIERS:
        path = Path(folder) / f"word_problems_{tier}.jsonl"
        rows = tier_items(tier, count)
        atomic_write_text(path, "".join(json.dumps({"question": r["question"], "answer": r["answer"]}) + "\n"
                                        for r in rows))
        paths.append(path)
    return paths
