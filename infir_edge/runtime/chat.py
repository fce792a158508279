"""Chat messages to a prompt, through the model's own Jinja chat template.

Every backend renders with this one function, so the same messages give the same prompt text (and, with
matching tokenizers, the same token ids) on llama.cpp, torch, onnxruntime and ExecuTorch. The template
runs in Jinja's sandbox with the helpers Hugging Face templates expect.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from infir_edge.errors import InvalidRequestError, ModelFormatError

Message = dict  # {"role": str, "content": str | [{"type": "text", "text": str} | {"type": "image", "image": ...}]}
# Where an image stands in the rendered prompt text; each backend that takes images puts the image's embeddings there
# (LLaVA's convention, and the special token InfiR-VL's tokenizer carries).
IMAGE_PLACEHOLDER = "<image>"


def validate_messages(messages) -> list[Message]:
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InvalidRequestError("messages must be a non-empty list of {'role', 'content'} dicts")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequestError(f"message {i} must be a dict with a string 'role'")
        if not isinstance(message.get("content"), str):
            raise InvalidRequestError(f"message {i} ('{message['role']}') must have string 'content'")
    return list(messages)


def split_images(messages) -> tuple[list[Message], list]:
    """Messages whose content may be a list of text and image parts -> (messages with string content, the images
    in prompt order). Each image part becomes IMAGE_PLACEHOLDER and a newline in the text, as LLaVA prompts have it."""
    if not isinstance(messages, (list, tuple)):
        return messages, []
    flat, images = [], []
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, (list, tuple)):
            flat.append(message)
            continue
        text = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                text.append(part["text"])
            elif kind == "image" and part.get("image") is not None:
                images.append(part["image"])
                text.append(IMAGE_PLACEHOLDER + "\n")
            else:
                raise InvalidRequestError(
                    f"message {i}: a content part must be {{'type': 'text', 'text': str}} or "
                    f"{{'type': 'image', 'image': PIL.Image | path}}, got {part!r:.80}")
        flat.append({**message, "content": "".join(text)})
    return flat, images


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
