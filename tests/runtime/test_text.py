"""TextAssembler never emits a broken character or a part of a stop string."""

from __future__ import annotations

from infir_edge.runtime.text import TextAssembler


def _feed(assembler: TextAssembler, chunks: list[bytes]) -> list[str]:
    out = [assembler.push(c) for c in chunks]
    out.append(assembler.finish())
    return out


def test_multibyte_character_split_over_tokens():
    data = "é日".encode()
    pieces = _feed(TextAssembler(), [data[:1], data[1:3], data[3:]])
    assert "".join(pieces) == "é日"
    assert all("\ufffd" not in p for p in pieces)


def test_stop_string_across_tokens_is_not_emitted():
    assembler = TextAssembler(stop=("STOP",))
    pieces = _feed(assembler, [b"abc S", b"TO", b"P and more"])
    assert "".join(pieces) == "abc "
    assert assembler.stopped


def test_partial_stop_prefix_is_released_when_it_diverges():
    pieces = _feed(TextAssembler(stop=("STOP",)), [b"abc ST", b"ART"])
    assert pieces[0] == "abc "
    assert "".join(pieces) == "abc START"


def test_held_prefix_is_flushed_at_the_end():
    assert "".join(_feed(TextAssembler(stop=("\n\n",)), [b"line\n"])) == "line\n"


def test_earliest_of_several_stop_strings_wins():
    assembler = TextAssembler(stop=("world", "lo w"))
    assert "".join(_feed(assembler, [b"hello world"])) == "hel"


def test_invalid_bytes_become_replacement_characters():
    assert "".join(_feed(TextAssembler(), [b"a\xffb"])) == "a\ufffdb"
