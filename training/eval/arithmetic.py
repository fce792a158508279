"""The arithmetic evaluation sets: `{"id", "question", "answer"}` per JSON line, committed under `data/`.

They come from `training.data.synthetic_math.math_problems`, the same problem family as the synthetic math source,
but from its problem stream with a fixed seed of their own; training text comes from the separate text stream, so the
training mix does not contain the evaluation by construction (the pipeline's decontamination still checks it).
Regenerate with `python -m training.eval.arithmetic` (a test checks the committed files equal a fresh generation).
"""

from __future__ import annotations

import json
from pathlib import Path

DATA_FOLDER = Path(__file__).parent / "data"
EVAL_SEED = 2502_11573  # the InfiR paper's arXiv id: far from the small seeds used for training data
EVAL_SETS = {  # file stem -> (problem kinds, item count, seed)
    "arithmetic_word_problems": (("word",), 200, EVAL_SEED),
    "multi_step_arithmetic": (("chain",), 200, EVAL_SEED + 1),
}


def generate_eval_set(name: str) -> list[dict]:
    from training.data.synthetic_math import math_problems

    kinds, count, seed = EVAL_SETS[name]
    problems = math_problems(count, seed=seed, kinds=kinds)
    return [{"id": f"{name}/{i:04d}", "question": p["question"], "answer": p["answer"]} for i, p in enumerate(problems)]


def write_eval_sets(folder: Path = DATA_FOLDER) -> list[Path]:
    """Write every arithmetic set as `folder/<name>.jsonl`; returns the paths."""
    from infir_edge.files import atomic_write_bytes

    paths = []
    for name in EVAL_SETS:
        lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in generate_eval_set(name))
        atomic_write_bytes(Path(folder) / f"{name}.jsonl", lines.encode("utf-8"))
        paths.append(Path(folder) / f"{name}.jsonl")
    return paths


def eval_set_files(folder: Path = DATA_FOLDER) -> list[Path]:
    """Every committed evaluation set (all `*.jsonl` in the folder, these and later ones), sorted."""
    return sorted(Path(folder).glob("*.jsonl"))


def load_eval_set(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


if __name__ == "__main__":
    for written in write_eval_sets():
        print(written)
