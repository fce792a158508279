"""The data of one generation: the settings that go in and the result that comes out."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from infir_edge.errors import InvalidRequestError
from infir_edge.runtime.structured import parse_schema
from infir_edge.tools import ToolCall, tool_names

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings, with the same meaning on every backend (the SDK samples, not the runtime).

    Logits are processed in Hugging Face's order: repetition penalty, temperature, top-k, top-p, min-p.
    `temperature == 0` is greedy decoding and ignores the sampling filters.
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1.0: off
    min_p: float = 0.0  # 0.0: off
    repetition_penalty: float = 1.0  # 1.0: off; CTRL-style, on every token of prompt and output
    seed: int | None = None
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False  # generate all max_new_tokens (benchmarks); end-of-generation tokens come out as text
    # tools the decoding loop runs when the text calls them (infir_edge.tools); their answers are forced tokens,
    # which do not count against max_new_tokens
    tools: tuple[str, ...] = ()
    # structured output (infir_edge.runtime.structured), at most one: the text a generation that ends on its own
    # produces is a JSON document valid against the schema / a full match of the regex / a sentence of the Lark
    # grammar
    json_schema: dict | bool | None = None
    regex: str | None = None
    grammar: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop", _strings(self.stop, "stop"))
        object.__setattr__(self, "tools", _strings(self.tools, "tools"))
        if self.json_schema is not None:
            object.__setattr__(self, "json_schema", parse_schema(self.json_schema))
        constraints = [n for n in ("json_schema", "regex", "grammar") if getattr(self, n) is not None]
        checks = [
            (_integer(self.max_new_tokens) and self.max_new_tokens >= 1, "max_new_tokens must be an integer >= 1"),
            (_finite(self.temperature) and self.temperature >= 0, "temperature must be >= 0"),
            (_integer(self.top_k) and self.top_k >= 0, "top_k must be an integer >= 0"),
            (_finite(self.top_p) and 0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (_finite(self.min_p) and 0 <= self.min_p < 1, "min_p must be in [0, 1)"),
            (_finite(self.repetition_penalty) and self.repetition_penalty > 0, "repetition_penalty must be > 0"),
            (self.seed is None or (_integer(self.seed) and self.seed >= 0), "seed must be an integer >= 0 or None"),
            (all(isinstance(s, str) and s for s in self.stop), "stop strings must be non-empty strings"),
            (isinstance(self.ignore_eos, bool), "ignore_eos must be true or false"),
            (all(t in tool_names() for t in self.tools),
             f"tools must be among {', '.join(tool_names())}, got {', '.join(map(str, self.tools))}"),
            (len(constraints) <= 1,
             f"json_schema, regex and grammar exclude each other, got {' and '.join(constraints)}"),
            (all(isinstance(getattr(self, n), str) and getattr(self, n) for n in constraints if n != "json_schema"),
             "regex and grammar must be non-empty strings"),
            # a tool's answer is forced text the constraint never saw; an ignored EOS would run past the document
            (not (constraints and (self.tools or self.ignore_eos)),
             "structured output cannot be combined with tools or ignore_eos"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidRequestError(f"invalid generation config: {message}")

    def replace(self, **overrides) -> GenerationConfig:
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InvalidRequestError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **overrides)


def _strings(value, name: str) -> tuple:
    """A string or a list of them as a tuple (None: empty)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise InvalidRequestError(f"invalid generation config: {name} must be a string or a list, not {value!r}")


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class Timings:
    """Wall-clock figures of one generation; rates are tokens per second."""

    prompt_tokens: int = 0
    cached_tokens: int = 0  # of the prompt, kept in the KV cache from the previous request: not evaluated again
    generated_tokens: int = 0  # sampled
    forced_tokens: int = 0  # tools' answers, evaluated but never sampled
    prefill_s: float = 0.0  # evaluating the prompt
    ttft_s: float = 0.0  # request start to the first sampled token
    decode_s: float = 0.0  # first sampled token to the last
    total_s: float = 0.0

    @property
    def prefill_tokens_per_s(self) -> float:
        # the tokens the prefill evaluated: counting cached ones would report a speed no kernel reached
        evaluated = self.prompt_tokens - self.cached_tokens
        return evaluated / self.prefill_s if self.prefill_s > 0 else 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        # the first token is paid for by the prefill; each later one, sampled or forced, by one decode step
        steps = self.generated_tokens + self.forced_tokens - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "decode_tokens_per_s": self.decode_tokens_per_s,
        }


@dataclass
class Generation:
    text: str
    token_ids: list[int] = field(default_factory=list)
    finish_reason: FinishReason = "length"
    timings: Timings = field(default_factory=Timings)
    tool_calls: list[ToolCall] = field(default_factory=list)
