"""Tokenized conversations packed into rows that do not leak into each other.

Rows hold whole conversations, chosen best-fit-decreasing (longest first, each into the fullest row it still fits),
so rows are nearly full and no conversation is cut. Each token carries its position within its conversation
(`position_ids` restart at 0), and the collator builds from those a block-diagonal causal mask in sdpa's boolean form
([B, 1, L, L], True = attend): no token sees another conversation, and the first token of a conversation is never a
label, so nothing is predicted across a boundary either. The padding that evens out the rows of a batch is a segment
of its own (so no query row is fully masked, which would give NaN), with labels -100.

Why an explicit mask and not `position_ids` alone: transformers 4.57 infers the same block-diagonal mask from
restarting positions (masking_utils.find_packed_sequence_indices), but only when no cache object exists; a forward
with `use_cache=True` (the config default) silently attends across conversations. A 4-D mask is used as it is, whatever
the cache setting (tests/training/sft/test_sft_packing.py measures both). Eager attention mishandles boolean 4-D masks:
the model must run with sdpa (model loading in train.py asks for it).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

IGNORE_INDEX = -100  # torch's cross_entropy default
REAL_TOKENS = "sft_real_tokens"  # a batch key (not a model input): the non-padding tokens of the batch


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]  # the token id where the loss applies (assistant tokens), else IGNORE_INDEX


def pack_rows(lengths: list[int], pack_len: int) -> list[list[int]]:
    """Indices of `lengths` grouped into rows of at most `pack_len` tokens in all, best-fit decreasing; every index
    appears once. Deterministic: ties go to the lower index and the older row."""
    if any(n > pack_len for n in lengths):
        raise ValueError(f"an item is longer than pack_len {pack_len}")
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (room left, row index), sorted: the first entry with enough room fits best
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        need = lengths[index]
        slot = bisect.bisect_left(free, (need, -1))
        if slot == len(free):
            rows.append([index])
            room, row = pack_len - need, len(rows) - 1
        else:
            room, row = free.pop(slot)
            rows[row].append(index)
            room -= need
        if room > 0:
            bisect.insort(free, (room, row))
    return rows


def pack_examples(examples: list[Example], pack_len: int) -> list[dict]:
    """Packed rows as dataset records: input_ids, labels and position_ids, each a list of the row's length."""
    records = []
    for row in pack_rows([len(e.input_ids) for e in examples], pack_len):
        input_ids, labels, position_ids = [], [], []
        for index in row:
            example = examples[index]
            input_ids += example.input_ids
            # the first token of a conversation is never predicted from the one before it
            labels += [IGNORE_INDEX, *example.labels[1:]]
            position_ids += range(len(example.input_ids))
        records.append({"input_ids": input_ids, "labels": labels, "position_ids": position_ids})
    return records


def block_causal_mask(position_ids):
    """[B, 1, L, L] boolean: token i attends to token j <= i of the same segment (a segment starts where the position
    is 0). The idea of training.pretrain.tokens.packed_batch."""
    import torch

    segment = torch.cumsum(position_ids == 0, dim=1)  # [B, L]
    length = position_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=position_ids.device).tril()  # [L, L]
    return ((segment[:, :, None] == segment[:, None, :]) & causal)[:, None]


class PackedCollator:
    """Rows -> a batch: padded to the longest row, the block-diagonal mask, and the count of real tokens."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        length = max(len(r["input_ids"]) for r in rows)
        input_ids, labels, position_ids = [], [], []
        for r in rows:
            pad = length - len(r["input_ids"])
            input_ids.append(list(r["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(r["labels"]) + [IGNORE_INDEX] * pad)
            position_ids.append(list(r["position_ids"]) + list(range(pad)))
        position_ids = torch.tensor(position_ids, dtype=torch.long)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "position_ids": position_ids,
            "attention_mask": block_causal_mask(position_ids),
            REAL_TOKENS: torch.tensor(sum(len(r["input_ids"]) for r in rows), dtype=torch.long),
        }
