"""Chat messages to a prompt, through the model's own Jinja chat template.

Every backend renders with this one function, so the same messages give the same prompt text (and, with
matching tokenizers, the same token ids) on llama.cpp, torch, onnxruntime and ExecuTorch. The template
runs in Jinja's sandbox with the helpers Hugging Face templates expect.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from infir_edge.errors import InvalidRequestError, ModelFormatError

Message = dict  # {"role": str, "content": str}


def validate_messages(messages) -> list[Message]:
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InvalidRequestError("messages must be a non-empty list of {'role', 'content'} dicts")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequestError(f"message {i} must be a dict with a string 'role'")
        if not isinstance(message.get("content"), str):
            raise InvalidRequestError(f"message {i} ('{message['role']}') must have string 'content'")
    return list(messages)


@lru_cache(maxsize=8)
def _compile(template: str):
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    try:
        return env.from_string(template)
    except TemplateError as e:
        raise ModelFormatError(f"the model's chat template does not compile: {e}") from None


def render_chat(
    template: str | None,
    messages,
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Render `messages` with the chat `template`; the result still holds the special tokens as text."""
    from jinja2 import TemplateError

    if not template:
        raise InvalidRequestError("this model has no chat template: pass a plain prompt string instead")
    messages = validate_messages(messages)
    try:
        return _compile(template).render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    except TemplateError as e:
        raise InvalidRequestError(f"the chat template refused these messages: {e}") from None
    except Exception as e:  # a broken template (say, a damaged file) fails with any Python error
        raise ModelFormatError(f"the model's chat template failed: {type(e).__name__}: {e}") from None
