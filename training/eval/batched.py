"""Greedy replies to many prompts: batched on the torch backend, one by one on the others.

Evaluation is most of the CPU recipe's wall time, and on the torch backend one sequence at a time leaves the CPU idle
between small matmuls: 48 prompts decoded together run ~385 tokens/s in bf16 against ~20 one at a time (135M, 2
cores, measured). Other backends (llama.cpp, onnxruntime, ExecuTorch) go through `Engine.generate` as a user's
requests would. Both paths take the same prompt text and cut the reply at the same stop strings, so their figures
compare; greedy decoding makes the cut equal to stopping there.

With `tools` both paths answer the calls as the Engine's decoding loop does (infir_edge.tools): batched, a logits
processor forces each row's answer token by token, and only sampled tokens count against `max_new_tokens`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

FORCED_ROOM = 96  # tokens of tools' answers a batched reply may hold beyond max_new_tokens


@dataclass(frozen=True)
class Reply:
    text: str
    tool_calls: tuple = ()


def greedy_replies(engine, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str] = (),
                   batch_size: int = 32, progress: bool = False, desc: str = "generate",
                   tools: tuple[str, ...] = ()) -> list[Reply]:
    """The greedy continuation of each prompt (at most `max_new_tokens` sampled, cut before the first stop string)
    and the tool calls it made."""
    if engine.info().backend == "torch" and batch_size > 1:
        replies = _torch_batched(engine, prompts, max_new_tokens, stop, batch_size, progress, desc, tools)
    else:
        replies = _one_by_one(engine, prompts, max_new_tokens, stop, progress, desc, tools)
    return [Reply(_cut(reply.text, stop), tuple(reply.tool_calls)) for reply in replies]


def _cut(text: str, stop: Sequence[str]) -> str:
    ends = [text.find(s) for s in stop if s in text]
    return text[: min(ends)] if ends else text


def _one_by_one(engine, prompts, max_new_tokens, stop, progress, desc, tools) -> list[Reply]:
    from tqdm import tqdm

    replies = []
    for prompt in tqdm(prompts, desc=desc, unit="prompt", disable=not progress):
        room = engine.n_ctx - len(engine.prompt_ids(prompt))
        result = engine.generate(prompt, max_new_tokens=max(1, min(max_new_tokens, room)), temperature=0.0,
                                 stop=list(stop), tools=tools)
        replies.append(Reply(result.text, tuple(result.tool_calls)))
    return replies


class ToolForcing:
    """Hugging Face `generate`'s logits processor and stopping criterion for tools in a batch: each row has its
    infir_edge.tools.ToolRunner (the Engine's loop uses the same), an answer is forced token by token (every other
    logit -inf), and a row is done when it has sampled `max_new_tokens`, however many tokens were forced."""

    def __init__(self, engine, tools: tuple[str, ...], rows: int, prompt_width: int, max_new_tokens: int) -> None:
        from infir_edge.tools import ToolRunner

        self.width, self.max_new_tokens, self.eog = prompt_width, max_new_tokens, engine.eog_token_ids
        tokenize = partial(engine.tokenize, add_special=False)
        self.runners = [ToolRunner(tools, tokenize, engine.token_bytes) for _ in range(rows)]
        self.queues: list[deque] = [deque() for _ in range(rows)]
        self.forced = [False] * rows  # whether the row's last token was forced
        self.sampled = [0] * rows
        self.calls: list[list] = [[] for _ in range(rows)]

    def __call__(self, input_ids, scores):  # [B, T], [B, V]
        if input_ids.shape[1] > self.width:  # the token each row just took
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if self.forced[row] or token in self.eog:
                    continue
                call, forced = self.runners[row].after(token)
                if call is not None:
                    self.calls[row].append(call)
                    self.queues[row].extend(forced)
        for row, queue in enumerate(self.queues):
            self.forced[row] = bool(queue)
            if queue:
                token = queue.popleft()
                scores[row] = float("-inf")
                scores[row, token] = 0.0
            else:
                self.sampled[row] += 1
        return scores

    def done(self, input_ids, scores, **kwargs):
        import torch

        return torch.tensor([n >= self.max_new_tokens for n in self.sampled], device=input_ids.device)


def _torch_batched(engine, prompts, max_new_tokens, stop, batch_size, progress, desc, tools) -> list[Reply]:
    import torch
    from tqdm import tqdm
    from transformers import LogitsProcessorList, StoppingCriteriaList

    ids = [engine.prompt_ids(p) for p in prompts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths together: little padding
    replies: list[Reply] = [Reply("")] * len(ids)
    eos = sorted(engine.eog_token_ids)
    pad = eos[0]
    bar = tqdm(total=len(ids), desc=desc, unit="prompt", disable=not progress)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        room = engine.n_ctx - width
        input_ids = torch.tensor([[pad] * (width - len(ids[i])) + ids[i] for i in chunk])  # [B, T] left-padded
        mask = torch.tensor([[0] * (width - len(ids[i])) + [1] * len(ids[i]) for i in chunk])  # [B, T]
        forcing = ToolForcing(engine, tools, len(chunk), width, max_new_tokens) if tools else None
        with torch.inference_mode():
            out = engine.model.generate(
                input_ids=input_ids, attention_mask=mask,
                max_new_tokens=max(1, min(max_new_tokens + (FORCED_ROOM if tools else 0), room)),
                do_sample=False, temperature=None, top_p=None, top_k=None, eos_token_id=eos, pad_token_id=pad,
                stop_strings=list(stop) or None, tokenizer=engine.tokenizer if stop else None,
                logits_processor=LogitsProcessorList([forcing]) if tools else None,
                stopping_criteria=StoppingCriteriaList([forcing.done]) if tools else None,
            )  # [B, T + new]
        for row, i in enumerate(chunk):
            new = out[row, width:].tolist()
            ended = next((k for k, token in enumerate(new) if token in engine.eog_token_ids), len(new))
            replies[i] = Reply(engine.detokenize(new[:ended]), tuple(forcing.calls[row]) if tools else ())
        bar.update(len(chunk))
    bar.close()
    return replies
