"""Greedy accuracy on the arithmetic evaluation sets (`training.eval.arithmetic`).

Each question goes through `infir_edge.reasoning.reason` with answer_format="number": the SDK's own chat prompt,
thinking budget and answer extraction, so the figure is what a user of the SDK gets. A prediction is right when it
equals the reference as a number ("290.50" == "290.5", "$1,200" == "1200").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from infir_edge.errors import ContextOverflowError, InvalidRequestError
from infir_edge.reasoning import normalize_number, reason
from training.eval.arithmetic import eval_set_files, load_eval_set


@dataclass(frozen=True)
class MathConfig:
    budget: int = 384  # thinking tokens per question; a chain still going is cut and its answer forced


def numeric_value(text: str | None) -> Decimal | None:
    """The first number in `text` (as `normalize_number` reads it), or None."""
    number = normalize_number(text) if text else None
    try:
        return Decimal(number) if number is not None else None
    except InvalidOperation:
        return None


def is_correct(prediction: str | None, answer: str) -> bool:
    predicted = numeric_value(prediction)
    return predicted is not None and predicted == numeric_value(answer)


def eval_sets(names: list[str] | None = None) -> dict[str, Path]:
    """The committed sets by name (file stem), all of them or the ones named."""
    files = {path.stem: path for path in eval_set_files()}
    unknown = sorted(set(names or ()) - set(files))
    if unknown:
        raise InvalidRequestError(f"unknown arithmetic set(s): {', '.join(unknown)} (known: {', '.join(files)})")
    return {name: files[name] for name in names} if names else files


def answer(engine, question: str, config: MathConfig):
    """The reasoning chain for `question`; the budget shrinks to what the context holds when it does not fit."""
    try:
        return reason(engine, question, answer_format="number", budget=config.budget)
    except ContextOverflowError:
        return reason(engine, question, answer_format="number", budget=None)


def run_math(engine, *, sets: list[str] | None = None, limit: int | None = None, config: MathConfig | None = None,
             progress: bool = False) -> tuple[dict, list[dict]]:
    """Accuracy per set over its first `limit` items; returns (figures, one record per item)."""
    from tqdm import tqdm

    config = config or MathConfig()
    items = [(name, item) for name, path in eval_sets(sets).items() for item in load_eval_set(path)[:limit]]
    records = []
    for name, item in tqdm(items, desc="math", unit="question", disable=not progress):
        result = answer(engine, item["question"], config)
        records.append({"id": item["id"], "set": name, "answer": item["answer"], "prediction": result.answer,
                        "correct": is_correct(result.answer, item["answer"]),
                        "budget_exhausted": bool(result.budget_exhausted), "response": result.steps})
    per_set = {}
    for name in dict.fromkeys(r["set"] for r in records):
        correct = [r["correct"] for r in records if r["set"] == name]
        per_set[name] = {"accuracy": sum(correct) / len(correct), "correct": sum(correct), "items": len(correct)}
    correct = sum(r["correct"] for r in records)
    figures = {
        "accuracy": correct / len(records) if records else 0.0,
        "correct": correct,
        "items": len(records),
        "sets": per_set,
        "budget": config.budget,
        "budget_exhausted": sum(r["budget_exhausted"] for r in records),
    }
    return figures, records
