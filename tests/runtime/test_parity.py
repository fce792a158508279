"""The torch backend on the converted default and llama.cpp on the GGUF compute the same model.

Measured on this project's machines: identical token ids on every string below; teacher-forced top-1
agreement 0.95-1.0 per prompt (llama.cpp quantizes activations to 8 bits inside its Q4_1 matmuls, so
exactly 1.0 is not expected); the threshold is 0.9 overall.
"""

from __future__ import annotations

import numpy as np
import pytest

TOKENIZER_STRINGS = [
    "The capital of France is Paris.",
    "1234567890 3.14159 -42 1,000,000 2024-11-25",
    "spaces:  two   three    four\ttab\nnewline\n\nblank",
    "ünïcödé café naïve 日本語 한국어 Ελληνικά emoji 🙂🚀",
    "def add(a, b):\n    return a + b  # sum\n",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text after end<|im_end|>",
    "",
]
PARITY_PROMPTS = [
    "The capital of France is Paris, and the capital of Germany is Berlin. Both cities",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "Question: Tom has 3 apples and buys 5 more. How many apples does he have? Answer: Tom has",
    "The mitochondria is the powerhouse of the cell. It produces energy in the form of",
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\nWaves",
    "In 1969, Neil Armstrong became the first person to walk on the Moon. The mission was",
]
TOP1_THRESHOLD = 0.9


@pytest.mark.parametrize("text", TOKENIZER_STRINGS)
def test_tokenizers_agree(llama_engine, torch_engine, text):
    assert llama_engine.tokenize(text) == torch_engine.tokenize(text)


def test_end_of_generation_tokens_agree(llama_engine, torch_engine):
    assert llama_engine.eog_token_ids == torch_engine.eog_token_ids


def test_chat_prompts_agree(llama_engine, torch_engine):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
    assert llama_engine.prompt_ids(messages) == torch_engine.prompt_ids(messages)


def test_teacher_forced_top1_agreement(llama_engine, torch_engine):
    agreements = []
    for prompt in PARITY_PROMPTS:
        ids = llama_engine.tokenize(prompt)
        reference = torch_engine.teacher_forced_logits(ids).argmax(axis=-1)
        candidate = llama_engine.teacher_forced_logits(ids).argmax(axis=-1)
        agreements.append(float(np.mean(reference == candidate)))
    overall = float(np.mean(agreements))
    print(f"teacher-forced top-1 agreement per prompt: {[round(a, 3) for a in agreements]}, mean {overall:.3f}")
    assert overall >= TOP1_THRESHOLD, agreements


def test_greedy_continuations_start_alike(llama_engine, torch_engine):
    """Greedy strings may part once a near-tie flips; they should not part at once."""
    shared = []
    for prompt in PARITY_PROMPTS:
        a = llama_engine.generate(prompt, max_new_tokens=32).token_ids
        b = torch_engine.generate(prompt, max_new_tokens=32).token_ids
        shared.append(next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))))
    print(f"greedy tokens shared before the continuations part (of 32): {shared}")
    assert np.mean(shared) >= 8, shared
