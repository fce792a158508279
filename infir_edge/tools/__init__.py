"""Tools a model calls from inside its own text, run by the Engine's decoding loop on every backend.

A tool watches the text generated so far. When that text ends in a call (the calculator's `<<3*5=`), the engine
runs the tool and appends its answer (`15>>`) to the context as forced tokens, never sampled, and decoding goes
on from there. `GenerationConfig(tools=("calculator",))` turns a tool on; with no tools nothing changes.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

from infir_edge.errors import InvalidRequestError
from infir_edge.tools.calculator import Calculator
from infir_edge.tools.call import Tool, ToolCall

__all__ = ["CallWatcher", "Tool", "ToolCall", "ToolRunner", "build_tools", "tool_names"]


class CallWatcher:
    """The end of the generated text (WINDOW characters), and the tools that look at it after every token."""

    WINDOW = 256  # characters kept: longer than any call a tool answers

    def __init__(self, tools: tuple[Tool, ...]) -> None:
        self.tools = tools
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""

    def push(self, data: bytes, *, forced: bool = False) -> ToolCall | None:
        """Add one token's bytes; the call the text now ends in, run (None if none). A forced token (a tool's answer)
        only joins the text, so that a chain goes on from a result: `2 * 3 = 6 + 4 =` calls `6 + 4`."""
        self._text = (self._text + self._decoder.decode(data))[-self.WINDOW:]
        if forced:
            return None
        return next((call for call in (tool.call(self._text) for tool in self.tools) if call is not None), None)


class ToolRunner:
    """One sequence's tools, for a decoding loop: after each sampled token, the call it completed and the token ids
    that answer it, to be appended as forced tokens (the Engine's loop, and each row of a batched one)."""

    def __init__(self, names: tuple[str, ...], tokenize: Callable[[str], list[int]],
                 token_bytes: Callable[[int], bytes]) -> None:
        self.watcher = CallWatcher(build_tools(names))
        self.tokenize, self.token_bytes = tokenize, token_bytes

    def after(self, token: int) -> tuple[ToolCall | None, list[int]]:
        call = self.watcher.push(self.token_bytes(token))
        if call is None:
            return None, []
        forced = self.tokenize(call.inserted)
        for answer in forced:
            self.watcher.push(self.token_bytes(answer), forced=True)
        return call, forced


def tool_names() -> tuple[str, ...]:
    return tuple(_BUILDERS)


def build_tools(names: tuple[str, ...]) -> tuple[Tool, ...]:
    """The tools named in a GenerationConfig."""
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise InvalidRequestError(f"unknown tool(s): {', '.join(unknown)} (available: {', '.join(_BUILDERS)})")
    return tuple(_BUILDERS[n]() for n in names)


_BUILDERS: dict[str, Callable[[], Tool]] = {"calculator": Calculator}
