"""Greedy replies to many prompts: batched on the torch backend, one by one on the others.

Evaluation is most of the CPU recipe's wall time, and on the torch backend one sequence at a time leaves the CPU idle
between small matmuls: 48 prompts decoded together run ~385 tokens/s in bf16 against ~20 one at a time (135M, 2
cores, measured). Other backends (llama.cpp, onnxruntime, ExecuTorch) go through `Engine.generate` as a user's
requests would. Both paths take the same prompt text and cut the reply at the same stop strings, so their figures
compare; greedy decoding makes the cut equal to stopping there.
"""

from __future__ import annotations

from collections.abc import Sequence


def greedy_replies(engine, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str] = (),
                   batch_size: int = 32, progress: bool = False, desc: str = "generate") -> list[str]:
    """The greedy continuation of each prompt (at most `max_new_tokens`, cut before the first stop string)."""
    if engine.info().backend == "torch" and batch_size > 1:
        replies = _torch_batched(engine, prompts, max_new_tokens, stop, batch_size, progress, desc)
    else:
        replies = _one_by_one(engine, prompts, max_new_tokens, stop, progress, desc)
    return [_cut(reply, stop) for reply in replies]


def _cut(text: str, stop: Sequence[str]) -> str:
    ends = [text.find(s) for s in stop if s in text]
    return text[: min(ends)] if ends else text


def _one_by_one(engine, prompts, max_new_tokens, stop, progress, desc) -> list[str]:
    from tqdm import tqdm

    replies = []
    for prompt in tqdm(prompts, desc=desc, unit="prompt", disable=not progress):
        room = engine.n_ctx - len(engine.prompt_ids(prompt))
        replies.append(engine.generate(prompt, max_new_tokens=max(1, min(max_new_tokens, room)), temperature=0.0,
                                       stop=list(stop)).text)
    return replies


def _torch_batched(engine, prompts, max_new_tokens, stop, batch_size, progress, desc) -> list[str]:
    import torch
    from tqdm import tqdm

    ids = [engine.prompt_ids(p) for p in prompts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: little padding
    replies: list[str] = [""] * len(ids)
    eos = sorted(engine.eog_token_ids)
    pad = eos[0]
    bar = tqdm(total=len(ids), desc=desc, unit="prompt", disable=not progress)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        room = engine.n_ctx - width
        input_ids = torch.tensor([[pad] * (width - len(ids[i])) + ids[i] for i in chunk])  # [B, T] left-padded
        mask = torch.tensor([[0] * (width - len(ids[i])) + [1] * len(ids[i]) for i in chunk])  # [B, T]
        with torch.inference_mode():
            out = engine.model.generate(
                input_ids=input_ids, attention_mask=mask, max_new_tokens=max(1, min(max_new_tokens, room)),
                do_sample=False, temperature=None, top_p=None, top_k=None, eos_token_id=eos, pad_token_id=pad,
                stop_strings=list(stop) or None, tokenizer=engine.tokenizer if stop else None,
            )  # [B, T + new]
        for row, i in enumerate(chunk):
            new = out[row, width:].tolist()
            ended = next((k for k, token in enumerate(new) if token in engine.eog_token_ids), len(new))
            replies[i] = engine.detokenize(new[:ended])
        bar.update(len(chunk))
    bar.close()
    return replies
