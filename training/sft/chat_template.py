"""Conversations into training tokens through the model's chat template, with TRL-style `{% generation %}` markers.

`tokenizer.apply_chat_template(..., return_assistant_tokens_mask=True)` marks as assistant tokens exactly what a
template renders between `{% generation %}` and `{% endgeneration %}`. Stock ChatML templates (SmolLM2, Qwen) render
each message in one expression, `'<|im_start|>' + role + '\\n' + content + '<|im_end|>' + '\\n'`; for assistant
messages this module splits it so that the content and its `<|im_end|>` are marked (the model learns to stop) while
the role header and the newline after `<|im_end|>` (never generated: decoding stops at `<|im_end|>`) are not.

The marked template is a training-time artefact: the generation tag is not plain Jinja, and llama.cpp and other
runtimes reject it, so every template written into a checkpoint goes through `strip_generation_markers`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from training.sft.errors import SFTError
from training.sft.packing import IGNORE_INDEX, Example

ROLES = ("system", "user", "assistant")

_GENERATION_TAG = re.compile(r"\{%-?\s*(?:end)?generation\s*-?%\}")
_ROLE = r"message(?:\[\s*['\"]role['\"]\s*\]|\.role)"
_CONTENT = r"message(?:\[\s*['\"]content['\"]\s*\]|\.content)"
_NEWLINE = r"(?:'(?:\n|\\n)'|\"(?:\n|\\n)\")"  # a newline string literal: a real newline or the \n escape
_IM_END = r"(?:'<\|im_end\|>'|\"<\|im_end\|>\")"
_IM_END_NEWLINE = r"(?:'<\|im_end\|>(?:\n|\\n)'|\"<\|im_end\|>(?:\n|\\n)\")"
# {{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }} and its spellings
_CHATML_MESSAGE = re.compile(
    r"\{\{(?P<open>-?)\s*(?:'<\|im_start\|>'|\"<\|im_start\|>\")\s*\+\s*" + _ROLE + r"\s*\+\s*" + _NEWLINE
    + r"\s*\+\s*" + _CONTENT + r"\s*\+\s*(?:" + _IM_END + r"\s*\+\s*" + _NEWLINE + "|" + _IM_END_NEWLINE + r")"
    + r"\s*(?P<close>-?)\}\}"
)
_MARKED_MESSAGE = (
    "{{{{{open} '<|im_start|>' + message['role'] + '\\n' }}}}"
    "{{% if message['role'] == 'assistant' %}}"
    "{{% generation %}}{{{{ message['content'] + '<|im_end|>' }}}}{{% endgeneration %}}"
    "{{% else %}}{{{{ message['content'] + '<|im_end|>' }}}}{{% endif %}}"
    "{{{{ '\\n' {close}}}}}"
)
# renders of the original and the marked template must agree on these (the marked one with the tags ignored)
_PROBES = (
    [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "5"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!\nHow can I help?"}, {"role": "user", "content": "Bye"},
     {"role": "assistant", "content": "Bye."}],
)


def has_generation_markers(template: str) -> bool:
    return bool(_GENERATION_TAG.search(template))


def strip_generation_markers(template: str) -> str:
    """`template` without `{% generation %}` / `{% endgeneration %}` tags: the same text, plain Jinja."""
    return _GENERATION_TAG.sub("", template)


def with_generation_markers(template: str) -> str:
    """A ChatML `template` with each assistant message's content and `<|im_end|>` inside generation markers (a
    template that already has markers is returned as it is). SFTError for a template this cannot mark, or whose
    marked form would render a conversation differently."""
    if has_generation_markers(template):
        return template
    marked, count = _CHATML_MESSAGE.subn(
        lambda m: _MARKED_MESSAGE.format(open=m.group("open"), close=m.group("close")), template)
    if not count:
        raise SFTError("the tokenizer's chat template is not a ChatML template this can mark for assistant-only "
                       "loss (no `'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'` "
                       "expression); give the model a template with {% generation %} markers")
    for messages in _PROBES:
        if _render(marked, messages) != _render(template, messages):
            raise SFTError("marking the chat template for assistant-only loss would change what it renders; "
                           "give the model a template with {% generation %} markers")
    return marked


def _render(template: str, messages: list[dict]) -> str:
    """The template's text for `messages`, as transformers renders it (its Jinja settings; tags ignored)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(strip_generation_markers(template)).render(
            messages=messages, add_generation_prompt=False, bos_token="", eos_token="")
    except Exception as e:  # jinja2's template and runtime errors have no useful common base
        raise SFTError(f"the chat template does not render a probe conversation: {e}") from None


def read_conversations(path: str | Path) -> list[list[dict]]:
    """The `messages` of each line of a JSONL file (other keys ignored); SFTError, naming the line, for a line that is
    not JSON, not a conversation, or has no assistant turn (nothing to train on)."""
    path = Path(path)
    if not path.is_file():
        raise SFTError(f"--data {path}: no such file")
    conversations = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except ValueError as e:
                raise SFTError(f"{where}: not a JSON line ({e})") from None
            messages = record.get("messages") if isinstance(record, dict) else None
            if not isinstance(messages, list) or not messages:
                raise SFTError(f"{where}: expected {{\"messages\": [{{\"role\": ..., \"content\": ...}}, ...]}}")
            for message in messages:
                if not (isinstance(message, dict) and message.get("role") in ROLES
                        and isinstance(message.get("content"), str)):
                    raise SFTError(f"{where}: each message needs a role ({', '.join(ROLES)}) and a string content, "
                                   f"got {json.dumps(message)[:120]}")
            if not any(m["role"] == "assistant" for m in messages):
                raise SFTError(f"{where}: the conversation has no assistant turn (nothing to train on)")
            conversations.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not conversations:
        raise SFTError(f"--data {path}: no conversations")
    return conversations


def tokenize_conversations(tokenizer, conversations: list[list[dict]], marked_template: str,
                           max_seq_len: int) -> tuple[list[Example], int]:
    """Token ids and labels (the assistant tokens, each assistant `<|im_end|>` included) of each conversation, and
    how many were dropped for being longer than `max_seq_len` tokens (dropped, not truncated: a cut conversation
    would teach the model to stop mid-answer or not at all)."""
    examples, dropped = [], 0
    for messages in conversations:
        encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                                return_assistant_tokens_mask=True, chat_template=marked_template)
        input_ids, mask = list(encoded["input_ids"]), list(encoded["assistant_masks"])
        if len(input_ids) > max_seq_len:
            dropped += 1
            continue
        if not any(mask):  # an assistant turn of empty content leaves only <|im_end|>; none at all is a template bug
            raise SFTError("the marked chat template gave no assistant tokens for a conversation with an assistant "
                           "turn; give the model a template with {% generation %} markers")
        examples.append(Example(input_ids, [t if m else IGNORE_INDEX for t, m in zip(input_ids, mask, strict=True)]))
    return examples, dropped
