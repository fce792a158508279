"""The request bodies of `infir-edge serve`, as the pydantic models FastAPI validates them with.

Types are strict (`"0.7"` is not a temperature, `1.5` is not a token count). Unknown fields (`user`,
`metadata`, newer API additions) are ignored, so clients written against other servers keep working; fields
this server cannot honour are accepted at their neutral value and refused otherwise (`unsupported()`), so a
client never gets an answer computed differently from what it asked for.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_USE_REPETITION_PENALTY = "is not supported: use repetition_penalty (1.0 = off) instead"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)


class StreamOptions(_Strict):
    include_usage: bool = False


class ContentPart(_Strict):
    model_config = ConfigDict(strict=True, extra="allow")  # image_url, input_audio ...: refused by type
    type: str
    text: str | None = None


class ChatMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant"]  # developer: OpenAI's newer name for system
    content: str | list[ContentPart]


class _GenerationRequest(_Strict):
    model: str
    max_tokens: int | None = None
    temperature: float | None = None  # absent: the SDK's default, greedy (not OpenAI's 1.0)
    top_p: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    # beyond OpenAI: the SDK's other sampling settings (repetition_penalty stands in for the two penalties)
    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None

    def unsupported(self) -> tuple[str, str] | None:
        """(param, message) for the first field set to something this server does not do, else None."""
        refusals = [
            ("n", self.n != 1, "only n=1 is supported"),
            ("frequency_penalty", bool(self.frequency_penalty), f"frequency_penalty {_USE_REPETITION_PENALTY}"),
            ("presence_penalty", bool(self.presence_penalty), f"presence_penalty {_USE_REPETITION_PENALTY}"),
            ("logit_bias", bool(self.logit_bias), "logit_bias is not supported"),
            *self._refusals(),
        ]
        return next(((param, message) for param, refused, message in refusals if refused), None)

    def _refusals(self) -> list[tuple[str, bool, str]]:
        return []


class ChatCompletionRequest(_GenerationRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None  # OpenAI's newer name for max_tokens; wins when both are set
    logprobs: bool | None = None
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None

    def _refusals(self) -> list[tuple[str, bool, str]]:
        plain_text = self.response_format is None or self.response_format.get("type") == "text"
        return [
            ("logprobs", bool(self.logprobs), "logprobs is not supported"),
            ("tools", bool(self.tools), "tools are not supported by this model"),
            ("response_format", not plain_text, "only response_format type 'text' is supported"),
        ]


class CompletionRequest(_GenerationRequest):
    # one prompt: a string or token ids, alone or as the only item of a list
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = 16  # OpenAI's default for completions
    echo: bool = False
    logprobs: int | None = None
    suffix: str | None = None
    best_of: int | None = None

    def _refusals(self) -> list[tuple[str, bool, str]]:
        prompts = self._prompts()
        return [
            ("prompt", len(prompts) != 1, "only one prompt per request is supported"),
            ("prompt", not prompts[0], "the prompt is empty"),
            ("echo", self.echo, "echo is not supported"),
            ("logprobs", self.logprobs is not None, "logprobs is not supported"),
            ("suffix", self.suffix is not None, "suffix is not supported"),
            ("best_of", self.best_of not in (None, 1), "only best_of=1 is supported"),
        ]

    def single_prompt(self) -> str | list[int]:
        return self._prompts()[0]

    def _prompts(self) -> list:
        if isinstance(self.prompt, list) and self.prompt and isinstance(self.prompt[0], (str, list)):
            return self.prompt
        return [self.prompt]
