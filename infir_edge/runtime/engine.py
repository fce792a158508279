"""The Engine: one API over every backend.

A backend answers four questions (how to tokenize, what bytes a token stands for, the logits after a
prompt, the logits after one more token); everything a user sees is built here once: chat templates,
sampling, streaming without broken characters, stop strings, context checks, timings, reasoning.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from infir_edge.errors import ContextOverflowError, InvalidRequestError
from infir_edge.runtime.chat import IMAGE_PLACEHOLDER, render_chat, split_images
from infir_edge.runtime.generation import Generation, GenerationConfig, Timings
from infir_edge.runtime.sampling import Sampler
from infir_edge.runtime.structured import OutputConstraint, constraint_for
from infir_edge.runtime.text import TextAssembler
from infir_edge.tools import ToolRunner


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
    prefix_cache: bool = False  # a request reuses the KV cache of the prompt prefix it shares with the previous one

    def as_dict(self) -> dict:
        return asdict(self)


class Engine(ABC):
    """A loaded model. Use `infir_edge.load(...)` to make one; use it as a context manager to free it."""

    backend_name: str = ""
    # A backend that takes images sets these and implements `_prefill_images` and `_image_embeddings`.
    supports_images: bool = False
    image_tokens: int = 0  # context positions one image takes
    image_token_id: int = -1  # the prompt token each image replaces
    # A backend with a prefix cache (llama.cpp) sets this in `_prefill`: prompt tokens kept from the last request.
    last_prefill_reused: int = 0

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
    def _tokenize(self, text: str, add_special: bool) -> list[int]:
        """Token ids of `text`; special tokens written in the text (`<|im_start|>`) become their ids."""

    @abstractmethod
    def _token_bytes(self, token_id: int) -> bytes:
        """The bytes of one token id in [0, n_vocab) (special tokens as their text)."""

    @abstractmethod
    def _prefill(self, token_ids: list[int]) -> np.ndarray:
        """Evaluate a whole prompt from an empty cache; return the last position's logits `[V]`."""

    @abstractmethod
    def _decode(self, token_id: int) -> np.ndarray:
        """Append one token to the cache; return its logits `[V]`."""

    def _special_token_ids(self) -> frozenset[int]:
        """Tokens that stand for control markers, never for text (structured output keeps them out of the text)."""
        return self.eog_token_ids

    def _prefill_images(self, prompt: str, images: list) -> np.ndarray:
        """Evaluate a prompt whose text marks each image with IMAGE_PLACEHOLDER (the images are PIL RGB, in
        order) from an empty cache; return the last position's logits `[V]`."""
        raise NotImplementedError

    def _image_embeddings(self, image) -> np.ndarray:
        """What the vision encoder and projector make of one image: `[image_tokens, D]`."""
        raise NotImplementedError

    def _spliced_prompt(self, prompt: str, images: list, embed, encode) -> list:
        """For backends that feed the LM embeddings: the prompt's pieces in order, `embed(ids) -> [T, D]` for each
        run of text tokens and `encode(k) -> [image_tokens, D]` in place of the `<image>` token of the k-th image."""
        ids = self._tokenize(prompt, True)
        marks = [i for i, token in enumerate(ids) if token == self.image_token_id]
        if len(marks) != len(images):
            raise InvalidRequestError(f"the prompt has {len(marks)} image tokens for {len(images)} images")
        pieces, start = [], 0
        for k, at in enumerate(marks):
            if at > start:
                pieces.append(embed(ids[start:at]))
            pieces.append(encode(k))
            start = at + 1
        if start < len(ids):
            pieces.append(embed(ids[start:]))
        return pieces

    @abstractmethod
    def info(self) -> EngineInfo: ...

    @abstractmethod
    def _free(self) -> None:
        """Release the runtime's model and context."""

    # ---- the shared API ---------------------------------------------------------------------------
    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        """Token ids of `text`; special tokens written in it (`<|im_start|>`) become their ids, and the
        model's BOS is added if the model asks for one and `add_special`."""
        if not isinstance(text, str):
            raise InvalidRequestError(f"text must be a string, not {type(text).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError("the text is not valid Unicode (it holds lone surrogates)") from None
        with self._exclusive():
            return self._tokenize(text, add_special)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token stands for (special tokens as their text)."""
        token_id = self._token_id(token_id)
        with self._exclusive():
            return self._token_bytes(token_id)

    def detokenize(self, token_ids) -> str:
        return b"".join(self.token_bytes(t) for t in token_ids).decode("utf-8", errors="replace")

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
        """Token ids for a prompt string, a list of chat messages or a list of token ids (used as they are)."""
        if isinstance(prompt, str):
            text = prompt
        elif isinstance(prompt, (list, tuple)) and prompt and isinstance(prompt[0], (int, np.integer)):
            return [self._token_id(t) for t in prompt]
        elif isinstance(prompt, (list, tuple)):
            text = self.apply_chat_template(prompt)
        else:
            raise InvalidRequestError(
                f"prompt must be a string, a list of messages or a list of token ids, not {type(prompt).__name__}"
            )
        ids = self.tokenize(text)
        if not ids:
            raise InvalidRequestError("the prompt is empty")
        return ids

    def image_embeddings(self, image) -> np.ndarray:
        """The image's embeddings as the LM receives them, `[image_tokens, D]` (what export verification compares)."""
        from infir_edge.models.images import load_image

        self._require_images(1)
        image = load_image(image)
        with self._exclusive():
            return np.asarray(self._image_embeddings(image), dtype=np.float32)

    def _require_images(self, count: int) -> None:
        if count and not self.supports_images:
            raise InvalidRequestError(
                f"this model takes no images ({self.backend_name} backend); load an InfiR-VL model or bundle")

    def _prompt_text(self, prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        if isinstance(prompt, (list, tuple)) and prompt and isinstance(prompt[0], dict):
            return self.apply_chat_template(prompt)
        return ""  # token ids are used as they are

    def stream(self, prompt, config: GenerationConfig | Mapping | None = None, **overrides) -> TextStream:
        """Generate, yielding text pieces as they are decoded; `.result` holds the `Generation` at the end.

        Messages may carry images (`{"type": "image", "image": PIL.Image | path}` parts) on a model that takes them."""
        if isinstance(config, Mapping):
            config = GenerationConfig().replace(**config)
        elif config is None:
            config = GenerationConfig()
        elif not isinstance(config, GenerationConfig):
            raise InvalidRequestError(f"config must be a GenerationConfig or a dict, not {type(config).__name__}")
        if overrides:
            config = config.replace(**overrides)
        self._check_open()
        prompt, images = split_images(prompt)
        if not images:
            if self.supports_images and IMAGE_PLACEHOLDER in self._prompt_text(prompt):
                # a bare placeholder would be run as the image token's own embedding row: silent garbage
                raise InvalidRequestError(f"the prompt holds {IMAGE_PLACEHOLDER} but no image was given: pass images "
                                          "as {'type': 'image', 'image': ...} message parts")
            ids = self.prompt_ids(prompt)
            if len(ids) + config.max_new_tokens > self.n_ctx:
                raise ContextOverflowError(len(ids), config.max_new_tokens, self.n_ctx)
            return TextStream(self, ids, config, constraint=self._constraint(config))
        from infir_edge.models.images import load_image

        self._require_images(len(images))
        text = self.apply_chat_template(prompt)
        ids = self.tokenize(text)
        marked = text.count(IMAGE_PLACEHOLDER)
        if marked != len(images):  # a placeholder typed into a text part would pair text with the wrong image
            raise InvalidRequestError(f"the prompt marks {marked} images but {len(images)} were given "
                                      f"(do not write {IMAGE_PLACEHOLDER} in text parts)")
        length = len(ids) + len(images) * (self.image_tokens - 1)
        if length + config.max_new_tokens > self.n_ctx:
            raise ContextOverflowError(length, config.max_new_tokens, self.n_ctx)
        return TextStream(self, ids, config, images=(text, [load_image(i) for i in images]),
                          constraint=self._constraint(config))

    def _constraint(self, config: GenerationConfig) -> OutputConstraint | None:
        # compiled here, before the stream starts, so that a schema the grammar engine rejects is an error of
        # the call that passed it
        if config.json_schema is None and config.regex is None and config.grammar is None:
            return None
        with self._exclusive():
            return constraint_for(self, config)

    def generate(self, prompt, config: GenerationConfig | Mapping | None = None, **overrides) -> Generation:
        stream = self.stream(prompt, config, **overrides)
        for _ in stream:
            pass
        return stream.result

    def teacher_forced_logits(self, token_ids) -> np.ndarray:
        """Next-token logits at every position of `token_ids`, `[T, V]`: what parity checks compare."""
        self._check_open()
        token_ids = [self._token_id(t) for t in token_ids]
        if not token_ids:
            raise InvalidRequestError("token_ids is empty")
        if len(token_ids) > self.n_ctx:
            raise ContextOverflowError(len(token_ids), 0, self.n_ctx)
        self._acquire()
        try:
            self._check_open()
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
        """Free the model's memory; the engine refuses further requests.

        A generation running in another thread finishes first; a stream of this thread that is still
        open is ended (its next step raises)."""
        if self.closed:
            return
        own_stream = self._lock_owner == threading.get_ident()
        if not own_stream:
            self._lock.acquire()
        try:
            if not self.closed:
                self.closed = True
                self._free()
        finally:
            if not own_stream:
                self._lock.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- the decoding loop --------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise InvalidRequestError("this engine is closed; load the model again")

    def _token_id(self, token_id) -> int:
        if isinstance(token_id, bool) or not isinstance(token_id, (int, np.integer)):
            raise InvalidRequestError(f"a token id must be an integer, not {type(token_id).__name__}")
        if not 0 <= token_id < self.n_vocab:
            raise InvalidRequestError(f"token id {token_id} is outside the vocabulary [0, {self.n_vocab})")
        return int(token_id)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Run a short call on the runtime with nothing else running on it, and never after close()."""
        if self._lock_owner == threading.get_ident():  # inside this thread's own open stream
            self._check_open()
            yield
            return
        self._acquire()
        try:
            self._check_open()
            yield
        finally:
            self._release()

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

    def _run(self, prompt_ids: list[int], config: GenerationConfig, out: Generation, images=None,
             constraint: OutputConstraint | None = None) -> Iterator[str]:
        self._acquire()
        pieces: list[str] = []
        start = time.perf_counter()
        try:
            for piece in self._decode_loop(prompt_ids, config, out, images, constraint):
                pieces.append(piece)
                yield piece
        finally:  # also when the consumer closes the stream early
            out.text = "".join(pieces)
            out.timings.total_s = time.perf_counter() - start
            self._release()

    def _decode_loop(self, prompt_ids: list[int], config: GenerationConfig, out: Generation,
                     images: tuple[str, list] | None = None,
                     constraint: OutputConstraint | None = None) -> Iterator[str]:
        # Timings count the engine's own work only: the time a consumer spends between pieces is not decode.
        clock = time.perf_counter
        timings = out.timings
        timings.prompt_tokens = len(prompt_ids) + (len(images[1]) * (self.image_tokens - 1) if images else 0)
        sampler = Sampler(config, self.n_vocab)
        sampler.observe(prompt_ids)
        assembler = TextAssembler(config.stop)

        tools = ToolRunner(config.tools, lambda text: self._tokenize(text, False), self._token_bytes) \
            if config.tools else None

        self._check_open()
        start = clock()
        logits = self._prefill_images(*images) if images else self._prefill(prompt_ids)
        timings.prefill_s = clock() - start
        timings.cached_tokens = 0 if images else self.last_prefill_reused
        cached = timings.prompt_tokens  # positions in the KV cache
        for step in range(config.max_new_tokens):
            began = clock()
            token = sampler(constraint.mask(logits) if constraint is not None else logits)
            timings.generated_tokens += 1
            finished = token in self.eog_token_ids and not config.ignore_eos
            piece, forced = "", []
            if not finished:
                out.token_ids.append(token)
                sampler.observe((token,))
                piece = assembler.push(self._token_bytes(token))
                finished = assembler.stopped
                if constraint is not None:
                    constraint.advance(token)
                    finished = finished or constraint.complete
                call, forced = tools.after(token) if tools is not None and not finished else (None, [])
                if call is not None:
                    if cached + 1 + len(forced) > self.n_ctx:  # the answer does not fit the context: the end
                        out.finish_reason = "length"
                        if piece:
                            yield piece
                        break
                    out.tool_calls.append(call)
                    out.token_ids.extend(forced)
                    sampler.observe(forced)
                    timings.forced_tokens += len(forced)
                    piece += "".join(assembler.push(self._token_bytes(t)) for t in forced)
                    finished = assembler.stopped
            if step == 0:
                timings.ttft_s = clock() - start
            else:
                timings.decode_s += clock() - began
            if piece:
                yield piece
                self._check_open()  # close() may have run while the consumer held the piece
            if finished:
                out.finish_reason = "stop"
                break
            if step + 1 < config.max_new_tokens:
                pending = [token, *forced]
                if cached + len(pending) > self.n_ctx:  # only forced tokens can fill it before max_new_tokens
                    out.finish_reason = "length"
                    break
                began = clock()
                for t in pending:
                    logits = self._decode(t)
                cached += len(pending)
                timings.decode_s += clock() - began
        tail = assembler.finish()
        if tail:
            yield tail


class TextStream:
    """An iterator of text pieces; after it is exhausted, `result` is the complete `Generation`."""

    def __init__(self, engine: Engine, prompt_ids: list[int], config: GenerationConfig,
                 images: tuple[str, list] | None = None, constraint: OutputConstraint | None = None) -> None:
        self.result = Generation(text="", finish_reason="length", timings=Timings())
        self._pieces = engine._run(prompt_ids, config, self.result, images, constraint)

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop generating early and free the engine for the next request."""
        self._pieces.close()
