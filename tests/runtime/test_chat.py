"""Chat templates render through the sandboxed Jinja renderer every backend shares."""

from __future__ import annotations

import pytest

from infir_edge.errors import InvalidRequestError
from infir_edge.runtime.chat import render_chat

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def test_chatml_with_generation_prompt():
    text = render_chat(CHATML, [{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_no_template_is_a_clear_error():
    with pytest.raises(InvalidRequestError, match="no chat template"):
        render_chat(None, [{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("messages", [[], "hi", [{"content": "x"}], [{"role": "user", "content": 3}]])
def test_malformed_messages_are_refused(messages):
    with pytest.raises(InvalidRequestError):
        render_chat(CHATML, messages)


def test_template_raise_exception_becomes_an_sdk_error():
    template = "{{ raise_exception('only user messages') }}"
    with pytest.raises(InvalidRequestError, match="only user messages"):
        render_chat(template, [{"role": "user", "content": "hi"}])


def test_template_cannot_reach_python_internals():
    template = "{{ messages.__class__.__mro__ }}"
    with pytest.raises(InvalidRequestError):
        render_chat(template, [{"role": "user", "content": "hi"}])


def test_a_template_that_fails_in_python_is_a_model_format_error():
    from infir_edge.errors import ModelFormatError

    template = "{{ messages[0]['content'] * messages[0]['content'] }}"  # str * str: a TypeError inside Jinja
    with pytest.raises(ModelFormatError, match="chat template failed"):
        render_chat(template, [{"role": "user", "content": "hi"}])
