"""The request bodies of `infir-edge serve`, as the pydantic models FastAPI validates them with.

Types are strict (`"0.7"` is not a temperature, `1.5` is not a token count). Unknown fields (`user`,
`metadata`, newer API additions) are ignored, so clients written against other servers keep working; fields
this server cannot honour are accepted at their neutral value and refused otherwise (`unsupported()`), so a
client never gets an answer computed differently from what it asked for.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

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


class JsonSchemaFormat(_Strict):
    name: str
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")  # `schema` would shadow a BaseModel method
    strict: bool | None = None  # enforced token by token either way: strict=false gets no looser answer

    @field_validator("schema_")
    @classmethod
    def _supported(cls, schema: dict[str, Any]) -> dict[str, Any]:
        # Checked here, without the model's vocabulary (~0.1 ms), so that a schema the grammar engine rejects is a
        # 400 naming this field before the request waits for its turn; the engine checks again when it compiles.
        import llguidance

        from infir_edge.errors import InvalidRequestError
        from infir_edge.runtime.structured import grammar_of

        try:
            error = llguidance.LLMatcher.validate_grammar(grammar_of(schema), None)
        except InvalidRequestError as e:
            error = str(e)
        if error and not error.startswith("WARNING"):
            raise PydanticCustomError("unsupported_schema", "this JSON schema is not supported: {error}",
                                      {"error": error})
        return schema


class ResponseFormat(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise PydanticCustomError("missing", "a response_format of type 'json_schema' needs a 'json_schema' "
                                                 "object with a 'name' and a 'schema'")
        return self


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
    response_format: ResponseFormat | None = None  # on /v1/completions too, as vLLM offers it
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

    def output_schema(self) -> dict[str, Any] | None:
        """The JSON schema response_format asks the reply to satisfy (GenerationConfig.json_schema), None for
        free text."""
        kind = self.response_format.type if self.response_format is not None else "text"
        if kind == "json_object":
            return {"type": "object"}  # OpenAI's JSON mode: any JSON object
        return self.response_format.json_schema.schema_ if kind == "json_schema" else None

    def _refusals(self) -> list[tuple[str, bool, str]]:
        return []


class ChatCompletionRequest(_GenerationRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None  # OpenAI's newer name for max_tokens; wins when both are set
    logprobs: bool | None = None
    tools: list[Any] | None = None

    def _refusals(self) -> list[tuple[str, bool, str]]:
        return [
            ("logprobs", bool(self.logprobs), "logprobs is not supported"),
            ("tools", bool(self.tools), "tools are not supported by this model"),
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
