"""Next-token selection from a backend's logits, identical on every backend.

Backends only compute logits; choosing the token happens here so that a `GenerationConfig` (and a seed)
means the same thing on llama.cpp, torch, onnxruntime and ExecuTorch. Greedy decoding is one `argmax`
over the logits view the backend hands over, without a copy.
"""

from __future__ import annotations

import numpy as np

from infir_edge.errors import BackendError
from infir_edge.runtime.generation import GenerationConfig


class Sampler:
    def __init__(self, config: GenerationConfig, vocab_size: int) -> None:
        self.config = config
        self.vocab_size = vocab_size
        self.rng = np.random.default_rng(config.seed)
        self._seen = np.zeros(vocab_size, dtype=bool)  # tokens the repetition penalty applies to

    def observe(self, token_ids) -> None:
        """Record tokens (prompt or generated) for the repetition penalty."""
        if self.config.repetition_penalty != 1.0:
            ids = np.asarray(token_ids, dtype=np.int64)
            self._seen[ids[(ids >= 0) & (ids < self.vocab_size)]] = True

    def __call__(self, logits: np.ndarray) -> int:
        """Pick the next token from the logits of the last position, `[V]` (the padding past V ignored)."""
        cfg = self.config
        logits = logits[: self.vocab_size]
        if cfg.repetition_penalty != 1.0:
            logits = logits.astype(np.float32, copy=True)
            seen = logits[self._seen]
            logits[self._seen] = np.where(seen > 0, seen / cfg.repetition_penalty, seen * cfg.repetition_penalty)
        if cfg.temperature == 0.0:
            return int(np.argmax(logits))

        logits = np.nan_to_num(logits.astype(np.float64), nan=-np.inf, posinf=1e30)
        if not np.isfinite(logits.max()):
            raise BackendError("the model produced no usable logits (NaN or -inf everywhere: damaged weights?)")
        scaled = (logits - logits.max()) / cfg.temperature  # <= 0 everywhere, so no overflow at any temperature
        candidates = np.arange(scaled.shape[0])
        if 0 < cfg.top_k < scaled.shape[0]:
            candidates = np.argpartition(scaled, -cfg.top_k)[-cfg.top_k :]
            scaled = scaled[candidates]
        order = np.argsort(scaled)[::-1]  # [K] most likely first
        candidates, scaled = candidates[order], scaled[order]
        probs = np.exp(scaled - scaled[0])
        probs /= probs.sum()
        keep = probs.shape[0]
        if cfg.top_p < 1.0:
            # keep the smallest prefix whose mass reaches top_p (always at least one token)
            keep = min(keep, int(np.searchsorted(np.cumsum(probs), cfg.top_p)) + 1)
        if cfg.min_p > 0.0:
            keep = min(keep, max(1, int(np.count_nonzero(probs >= cfg.min_p * probs[0]))))
        probs = probs[:keep] / probs[:keep].sum()
        return int(candidates[self.rng.choice(keep, p=probs)])
