"""The Engine: one API over every backend.

A backend answers four questions (how to tokenize, what bytes a token stands for, the logits after a
prompt, the logits after one more token); everything a user sees is built here once: chat templates,
sampling, streaming without broken characters, stop strings, context checks, timings, reasoning.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from infir_edge.errors import ContextOverflowError, InvalidRequestError
from infir_edge.runtime.chat import render_chat
from infir_edge.runtime.generation import Generation, GenerationConfig, Timings
from infir_edge.runtime.sampling import Sampler
from infir_edge.runtime.text import TextAssembler


@dataclass(frozen=True)
class EngineInfo:
    backend: str
    path: str
    format: str  # gguf | checkpoint | onnx | pte
    quantization: str
    architecture: str
    n_params: int
    n_ctx: int
    n_ctx_train: int
    n_vocab: int
    threads: int

    def as_dict(self) -> dict:
        return asdict(self)


class Engine(ABC):
    """A loaded model. Use `infir_edge.load(...)` to make one; use it as a context manager to free it."""

    backend_name: str = ""

    # Set by every backend's __init__.
    n_ctx: int
    n_vocab: int
    eog_token_ids: frozenset[int]  # end-of-generation tokens (EOS, end-of-turn)
    chat_template: str | None
    bos_token: str
    eos_token: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock_owner: int | None = None
        self.closed = False

    # ---- what each backend implements -------------------------------------------------------------
    @abstractmethod
    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        """Token ids of `text`; special tokens written in the text (`<|im_start|>`) become their ids."""

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token stands for (special tokens as their text)."""

    @abstractmethod
    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        """Evaluate a whole prompt from an empty (or reusable) cache; return the last position's logits `[V]`."""

    @abstractmethod
    def _decode(self, token_id: int) -> np.ndarray:
        """Append one token to the cache; return its logits `[V]`."""

    @abstractmethod
    def info(self) -> EngineInfo: ...

    @abstractmethod
    def _free(self) -> None:
        """Release the runtime's model and context."""

    # ---- the shared API ---------------------------------------------------------------------------
    def detokenize(self, token_ids) -> str:
        return b"".join(self.token_bytes(int(t)) for t in token_ids).decode("utf-8", errors="replace")

    def apply_chat_template(self, messages, *, add_generation_prompt: bool = True) -> str:
        """The prompt text the model's chat template makes of `messages`."""
        return render_chat(
            self.chat_template,
            messages,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            add_generation_prompt=add_generation_prompt,
        )

    def prompt_ids(self, prompt) -> list[int]:
        """Token ids for a prompt string or a list of chat messages."""
        if isinstance(prompt, str):
            text = prompt
        elif isinstance(prompt, (list, tuple)):
            text = self.apply_chat_template(prompt)
        else:
            raise InvalidRequestError(f"prompt must be a string or a list of messages, not {type(prompt).__name__}")
        ids = self.tokenize(text)
        if not ids:
            raise InvalidRequestError("the prompt is empty")
        return ids

    def stream(self, prompt, config: GenerationConfig | None = None, **overrides) -> TextStream:
        """Generate, yielding text pieces as they are decoded; `.result` holds the `Generation` at the end."""
        config = config or GenerationConfig()
        if overrides:
            config = config.replace(**overrides)
        self._check_open()
        ids = self.prompt_ids(prompt)
        if len(ids) + config.max_new_tokens > self.n_ctx:
            raise ContextOverflowError(len(ids), config.max_new_tokens, self.n_ctx)
        return TextStream(self, ids, config)

    def generate(self, prompt, config: GenerationConfig | None = None, **overrides) -> Generation:
        stream = self.stream(prompt, config, **overrides)
        for _ in stream:
            pass
        return stream.result

    def teacher_forced_logits(self, token_ids: list[int]) -> np.ndarray:
        """Next-token logits at every position of `token_ids`, `[T, V]`: what parity checks compare."""
        self._check_open()
        token_ids = [int(t) for t in token_ids]
        if not token_ids or not all(0 <= t < self.n_vocab for t in token_ids):
            raise InvalidRequestError(f"token_ids must be a non-empty list of ids in [0, {self.n_vocab})")
        if len(token_ids) > self.n_ctx:
            raise ContextOverflowError(len(token_ids), 0, self.n_ctx)
        self._acquire()
        try:
            return self._teacher_forced(token_ids)
        finally:
            self._release()

    def _teacher_forced(self, token_ids: list[int]) -> np.ndarray:
        # one token at a time through the KV cache; a backend with a batched forward can do better
        rows = [np.array(self._prefill(token_ids[:1]), dtype=np.float32)]
        rows += [np.array(self._decode(t), dtype=np.float32) for t in token_ids[1:]]
        return np.stack(rows)  # [T, V]

    def reason(self, question: str, **options):
        """Answer `question` step by step; see `infir_edge.reasoning.reason` for the options."""
        from infir_edge.reasoning import reason

        return reason(self, question, **options)

    def close(self) -> None:
        """Free the model's memory; the engine refuses further requests."""
        if not self.closed:
            self.closed = True
            self._free()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- the decoding loop --------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise InvalidRequestError("this engine is closed; load the model again")

    def _acquire(self) -> None:
        # One KV cache, one generation at a time: other threads wait their turn, while a second stream
        # opened in the same thread before the first one ended is refused instead of deadlocking.
        if self._lock_owner == threading.get_ident():
            raise InvalidRequestError("a generation is still streaming on this engine: finish or close() it first")
        self._lock.acquire()
        self._lock_owner = threading.get_ident()

    def _release(self) -> None:
        self._lock_owner = None
        self._lock.release()

    def _run(self, prompt_ids: list[int], config: GenerationConfig, out: Generation) -> Iterator[str]:
        self._acquire()
        pieces: list[str] = []
        start = time.perf_counter()
        try:
            for piece in self._decode_loop(prompt_ids, config, out):
                pieces.append(piece)
                yield piece
        finally:  # also when the consumer closes the stream early
            out.text = "".join(pieces)
            out.timings.total_s = time.perf_counter() - start
            self._release()

    def _decode_loop(self, prompt_ids: list[int], config: GenerationConfig, out: Generation) -> Iterator[str]:
        timings = out.timings
        timings.prompt_tokens = len(prompt_ids)
        sampler = Sampler(config, self.n_vocab)
        sampler.observe(prompt_ids)
        assembler = TextAssembler(config.stop)

        start = time.perf_counter()
        logits = self._prefill(prompt_ids)
        timings.prefill_s = time.perf_counter() - start
        first = last = start
        for step in range(config.max_new_tokens):
            token = sampler(logits)
            last = time.perf_counter()
            if step == 0:
                first = last
                timings.ttft_s = last - start
            timings.decode_s = last - first
            timings.generated_tokens += 1
            if token in self.eog_token_ids:
                out.finish_reason = "stop"
                break
            out.token_ids.append(token)
            sampler.observe((token,))
            piece = assembler.push(self.token_bytes(token))
            if piece:
                yield piece
            if assembler.stopped:
                out.finish_reason = "stop"
                break
            if step + 1 < config.max_new_tokens:
                logits = self._decode(token)
        tail = assembler.finish()
        if tail:
            yield tail


class TextStream:
    """An iterator of text pieces; after it is exhausted, `result` is the complete `Generation`."""

    def __init__(self, engine: Engine, prompt_ids: list[int], config: GenerationConfig) -> None:
        self.result = Generation(text="", finish_reason="length", timings=Timings())
        self._pieces = engine._run(prompt_ids, config, self.result)

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop generating early and free the engine for the next request."""
        self._pieces.close()
