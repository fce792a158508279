"""Perplexity on a fixed slice of text, scored through `Engine.teacher_forced_logits` (so on every backend).

The slice: the last `articles` (default 100) of `infir_edge.corpora.wikipedia_summaries()` in the package's order,
each cut into windows of at most `window` tokens, each window scored on its own (its first token has no context and
is not scored). Training's built-in corpora shuffle Wikipedia with a seed, so no slice is guaranteed unseen by a
model trained on them: the slice is fixed so that figures compare across checkpoints, backends and quantizations.

ppl = exp(mean token NLL) over every scored token of every window; each engine tokenizes the text itself (one
model's backends share its tokenizer, so they score the same token ids).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PerplexityConfig:
    articles: int = 100  # the last N Wikipedia summaries
    window: int = 512  # tokens per window at most (and at most the engine's context)


def wikipedia_slice(config: PerplexityConfig) -> list[str]:
    from infir_edge.corpora import wikipedia_summaries

    return list(wikipedia_summaries()[-config.articles:])


def windows(engine, config: PerplexityConfig) -> list[dict]:
    """The slice as token windows: {"article": index in the slice, "ids": [...]}, in order."""
    size = min(config.window, engine.n_ctx)
    out = []
    for index, text in enumerate(wikipedia_slice(config)):
        ids = engine.tokenize(text)
        out += [{"article": index, "ids": ids[start:start + size]} for start in range(0, len(ids), size)
                if len(ids[start:start + size]) > 1]  # a lone token has nothing to be predicted from
    return out


def token_nll(logits: np.ndarray, ids: list[int]) -> np.ndarray:
    """-log p(ids[t+1] | ids[:t+1]) for t in [0, T-1), from the logits `[T, V]` (the export check's log-softmax)."""
    from infir_edge.export.parity import log_softmax

    targets = np.asarray(ids[1:])
    return -log_softmax(np.asarray(logits)[:-1])[np.arange(len(targets)), targets]


def run_perplexity(engine, *, limit: int | None = None, config: PerplexityConfig | None = None,
                   progress: bool = False) -> tuple[dict, list[dict]]:
    """Perplexity over the first `limit` windows (all by default); returns (figures, one record per window)."""
    from tqdm import tqdm

    config = config or PerplexityConfig()
    records = []
    total_nll, total_tokens = 0.0, 0
    for window in tqdm(windows(engine, config)[:limit], desc="ppl", unit="window", disable=not progress):
        nll = token_nll(engine.teacher_forced_logits(window["ids"]), window["ids"])
        total_nll += float(nll.sum())
        total_tokens += len(nll)
        records.append({"article": window["article"], "tokens": len(window["ids"]), "scored": len(nll),
                        "nll": float(nll.sum()), "ppl": math.exp(float(nll.mean()))})
    figures = {
        "ppl": math.exp(total_nll / total_tokens) if total_tokens else None,
        "mean_nll": total_nll / total_tokens if total_tokens else None,
        "tokens_scored": total_tokens,
        "windows": len(records),
        "slice": f"last {config.articles} of infir_edge.corpora.wikipedia_summaries(), windows of "
                 f"{min(config.window, engine.n_ctx)} tokens",
    }
    return figures, records
