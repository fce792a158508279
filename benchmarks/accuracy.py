"""What a quantization costs in quality, measured through the SDK's Engine on any backend.

Perplexity: teacher-forced next-token loss on a fixed slice of the Wikipedia summaries (held out from the
export's calibration text, which is Python source). Arithmetic: greedy answers to generated word problems.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.corpora import wikipedia_text, word_problems
from infir_edge.export.parity import log_softmax
from infir_edge.reasoning import extract_answer

PERPLEXITY_WINDOWS = 6
PERPLEXITY_WINDOW_TOKENS = 256
ARITHMETIC_PROBLEMS = 24
ARITHMETIC_NEW_TOKENS = 24
ARITHMETIC_INSTRUCTION = "Answer with the number only."


def perplexity(engine, *, windows: int = PERPLEXITY_WINDOWS, window_tokens: int = PERPLEXITY_WINDOW_TOKENS) -> dict:
    """exp(mean negative log-likelihood) of every token after the first in `windows` consecutive windows."""
    ids = engine.tokenize(wikipedia_text(min_chars=windows * window_tokens * 6), add_special=False)
    if len(ids) < windows * window_tokens:
        raise ValueError(f"the Wikipedia slice gave {len(ids)} tokens, fewer than {windows} x {window_tokens}")
    nll, scored = 0.0, 0
    for w in range(windows):
        window = ids[w * window_tokens : (w + 1) * window_tokens]
        logits = engine.teacher_forced_logits(window)  # [T, V]: row t predicts token t + 1
        logp = log_softmax(logits[:-1])  # [T-1, V]
        nll -= float(logp[np.arange(len(window) - 1), window[1:]].sum())
        scored += len(window) - 1
    return {"perplexity": math.exp(nll / scored), "tokens": scored, "windows": windows}


def arithmetic_accuracy(engine, *, count: int = ARITHMETIC_PROBLEMS, seed: int = 0) -> dict:
    """Share of generated one-step word problems answered right, greedy, through the chat template."""
    problems = word_problems(count, seed)
    right = 0
    for problem in problems:
        messages = [{"role": "user", "content": f"{problem.question} {ARITHMETIC_INSTRUCTION}"}]
        reply = engine.generate(messages, max_new_tokens=ARITHMETIC_NEW_TOKENS).text
        right += extract_answer(reply, "number") == str(problem.answer)
    return {"accuracy": right / count, "correct": right, "problems": count, "seed": seed}
