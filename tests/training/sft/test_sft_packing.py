"""Packing: rows within pack_len holding every conversation once, and no leak between the conversations of a row."""

from __future__ import annotations

import random

import pytest

from training.sft.packing import IGNORE_INDEX, REAL_TOKENS, Example, PackedCollator, pack_examples, pack_rows


def _examples(lengths: list[int], seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    examples = []
    for n in lengths:
        ids = [rng.randrange(10, 5000) for _ in range(n)]
        labels = [IGNORE_INDEX] * (n // 2) + ids[n // 2:]  # the second half is the "assistant" part
        examples.append(Example(ids, labels))
    return examples


def test_rows_fit_and_hold_every_conversation_once():
    rng = random.Random(1)
    lengths = [rng.randint(1, 300) for _ in range(500)] + [300, 300]
    rows = pack_rows(lengths, 300)
    assert all(sum(lengths[i] for i in row) <= 300 for row in rows)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    assert len(rows) <= sum(lengths) / 300 * 1.05 + 1  # nearly full rows

    examples = _examples([5, 7, 3])
    records = pack_examples(examples, 16)
    assert [r["position_ids"] for r in records] == [[*range(7), *range(5), *range(3)]]
    starts = [i for i, p in enumerate(records[0]["position_ids"]) if p == 0]
    assert all(records[0]["labels"][i] == IGNORE_INDEX for i in starts)  # nothing predicted across a boundary


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32, attn_implementation="sdpa").eval()


def test_a_packed_conversation_has_the_logits_it_has_alone(model):
    import torch

    examples = _examples([40, 25, 31, 12])
    records = pack_examples(examples, 100)  # two rows: 40 + 31 + 25 (+ padding), 12 + ...
    batch = PackedCollator(pad_token_id=2)(records)
    assert int(batch[REAL_TOKENS]) == 40 + 25 + 31 + 12
    with torch.no_grad():
        packed = model(**{k: v for k, v in batch.items() if k in ("input_ids", "position_ids", "attention_mask")},
                       use_cache=False).logits
        for row, record in enumerate(records):
            start = 0
            for length in _segment_lengths(record["position_ids"]):
                alone = model(input_ids=torch.tensor([record["input_ids"][start:start + length]])).logits[0]
                torch.testing.assert_close(packed[row, start:start + length], alone, atol=1e-4, rtol=0)
                start += length
        assert not torch.isnan(packed).any()  # padding attends to itself: no fully masked query row


def test_position_ids_alone_leak_once_a_cache_exists(model):
    """Why the collator builds the mask itself: transformers 4.57 infers it from restarting position_ids only when no
    cache object is made, and a forward with use_cache=True (the config's default) attends across conversations."""
    import torch

    first, second = _examples([30, 20])
    ids = torch.tensor([first.input_ids + second.input_ids])
    positions = torch.tensor([[*range(30), *range(20)]])
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([second.input_ids])).logits[0]
        no_cache = model(input_ids=ids, position_ids=positions, use_cache=False).logits[0, 30:]
        cache = model(input_ids=ids, position_ids=positions, use_cache=True).logits[0, 30:]
    assert (no_cache - alone).abs().max() < 1e-4
    assert (cache - alone).abs().max() > 1e-2


def _segment_lengths(position_ids: list[int]) -> list[int]:
    starts = [i for i, p in enumerate(position_ids) if p == 0] + [len(position_ids)]
    return [b - a for a, b in zip(starts, starts[1:], strict=False)]
