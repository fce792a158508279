"""Conversations through the chat template: generation markers added and stripped, the assistant mask, the data
file's checks, too-long conversations dropped."""

from __future__ import annotations

import json

import pytest

from training.sft.chat_template import (
    has_generation_markers,
    read_conversations,
    strip_generation_markers,
    tokenize_conversations,
    with_generation_markers,
)
from training.sft.errors import SFTError
from training.sft.packing import IGNORE_INDEX

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 12 + 30?"},
    {"role": "assistant", "content": "Step 1: 12 + 30 = 42.\nThe answer is 42."},
    {"role": "user", "content": "And 2 + 2?"},
    {"role": "assistant", "content": "4"},
]


@pytest.fixture(scope="module")
def tokenizer(tiny_checkpoint):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_checkpoint)


def test_markers_round_trip_to_the_same_rendering(tokenizer):
    original = tokenizer.chat_template
    marked = with_generation_markers(original)
    assert has_generation_markers(marked) and not has_generation_markers(original)
    assert with_generation_markers(marked) == marked  # already marked: left as it is
    stripped = strip_generation_markers(marked)
    assert not has_generation_markers(stripped)
    for messages in (CONVERSATION, CONVERSATION[1:3]):
        expected = tokenizer.apply_chat_template(messages, tokenize=False)
        assert tokenizer.apply_chat_template(messages, tokenize=False, chat_template=stripped) == expected
        assert tokenizer.apply_chat_template(messages, tokenize=False, chat_template=marked) == expected


def test_a_template_it_cannot_mark_is_refused():
    with pytest.raises(SFTError, match="generation"):
        with_generation_markers("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}")


def test_the_assistant_mask_is_each_answer_and_its_end_token(tokenizer):
    examples, dropped = tokenize_conversations(tokenizer, [CONVERSATION], with_generation_markers(
        tokenizer.chat_template), max_seq_len=512)
    assert dropped == 0
    labels = examples[0].labels
    runs, current = [], []
    for token in [*labels, IGNORE_INDEX]:
        if token != IGNORE_INDEX:
            current.append(token)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    assert runs == [CONVERSATION[2]["content"] + "<|im_end|>", CONVERSATION[4]["content"] + "<|im_end|>"]


def test_too_long_conversations_are_dropped_and_counted(tokenizer):
    short = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    long = [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]
    examples, dropped = tokenize_conversations(tokenizer, [short, long, short], with_generation_markers(
        tokenizer.chat_template), max_seq_len=64)
    assert dropped == 1 and len(examples) == 2
    assert all(len(e.input_ids) <= 64 for e in examples)


@pytest.mark.parametrize(("lines", "message"), [
    (['{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}', "{oops"],
     r":2: not a JSON line"),
    (['{"messages": [{"role": "user", "content": "hi"}]}'], r":1: the conversation has no assistant turn"),
    (['{"messages": [{"role": "robot", "content": "hi"}]}'], r":1: each message needs a role"),
    (['{"text": "no messages"}'], r":1: expected"),
])
def test_malformed_data_names_the_line(tmp_path, lines, message):
    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SFTError, match=message):
        read_conversations(path)


def test_a_missing_data_file_is_a_user_error(tmp_path):
    with pytest.raises(SFTError, match="no such file"):
        read_conversations(tmp_path / "nowhere.jsonl")


def test_other_keys_and_blank_lines_are_ignored(tmp_path):
    path = tmp_path / "chats.jsonl"
    record = {"id": 7, "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    path.write_text(json.dumps(record) + "\n\n")
    assert read_conversations(path) == [record["messages"]]
