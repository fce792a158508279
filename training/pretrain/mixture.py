"""Which sequence comes next: a deterministic interleave of the mixture's sources in proportion to their weights.

Each draw takes the source furthest behind its share (smooth weighted round-robin), so any prefix of the stream holds
the weights' proportions to within one sequence, with no random state. Within a source, sequences come in order (the
tokenizer already shuffled the documents) and start over when a source is exhausted (an epoch, counted). The whole
state is the number of sequences taken from each source: a checkpoint stores it, and a resumed run continues with
exactly the next sequence, on any number of processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Draw:
    source: int  # index into the mixture
    index: int  # sequence index within that source
    epoch: int  # how many times the source was exhausted before this draw


class MixtureSampler:
    def __init__(self, weights: list[float], sizes: list[int]) -> None:
        total = sum(weights)
        self.shares = [w / total for w in weights]
        self.sizes = list(sizes)  # sequences per source
        self.taken = [0] * len(weights)

    def draw(self) -> Draw:
        drawn = sum(self.taken) + 1
        source = max(range(len(self.shares)), key=lambda i: self.shares[i] * drawn - self.taken[i])  # ties: first
        taken = self.taken[source]
        self.taken[source] += 1
        return Draw(source, taken % self.sizes[source], taken // self.sizes[source])

    def draw_many(self, count: int) -> list[Draw]:
        return [self.draw() for _ in range(count)]

    def state_dict(self) -> dict:
        return {"taken": list(self.taken)}

    def load_state_dict(self, state: dict) -> None:
        if len(state["taken"]) != len(self.taken):
            raise ValueError(f"the saved mixture has {len(state['taken'])} sources, this one {len(self.taken)}")
        self.taken = list(state["taken"])


def batch_digest(draws: list[Draw]) -> str:
    """A short fingerprint of which sequences a batch holds: equal digests, equal data (resume checks use it)."""
    text = ";".join(f"{d.source}:{d.index}" for d in draws)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
