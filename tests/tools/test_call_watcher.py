"""The watcher the decoding loop feeds token by token: a call is found where the text ends in one, and a chain goes on
from a forced result."""

from __future__ import annotations

from infir_edge.tools import CallWatcher, build_tools


def feed(watcher: CallWatcher, text: str, *, forced: bool = False) -> list:
    return [call for call in (watcher.push(ch.encode(), forced=forced) for ch in text) if call is not None]


def test_a_call_is_found_when_the_text_reaches_it():
    watcher = CallWatcher(build_tools(("calculator",)))
    calls = feed(watcher, "So 12 * 23 =")
    assert [(c.expression, c.inserted) for c in calls] == [("12 * 23", " 276")]


def test_a_chain_goes_on_from_a_forced_result():
    watcher = CallWatcher(build_tools(("calculator",)))
    feed(watcher, "2 * 3 =")
    assert feed(watcher, " 6", forced=True) == []
    assert [c.expression for c in feed(watcher, " + 4 =")] == ["6 + 4"]


def test_forced_text_never_calls():
    watcher = CallWatcher(build_tools(("calculator",)))
    assert feed(watcher, "1 + 1 =", forced=True) == []


def test_a_character_split_over_tokens_is_decoded_whole():
    watcher = CallWatcher(build_tools(("calculator",)))
    data = "3 × 4 =".encode()
    calls = [watcher.push(data[i:i + 1]) for i in range(len(data))]
    assert [c.result for c in calls if c is not None] == ["12"]
