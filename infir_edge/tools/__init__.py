"""Tools a model calls from inside its own text, run by the Engine's decoding loop on every backend.

A tool watches the text generated so far. When that text ends in a call (the calculator's `<<3*5=`), the engine
runs the tool and appends its answer (`15>>`) to the context as forced tokens, never sampled, and decoding goes
on from there. `GenerationConfig(tools=("calculator",))` turns a tool on; with no tools nothing changes.
"""

from __future__ import annotations

import codecs
from dataclasses import asdict, dataclass
from typing import Protocol

from infir_edge.errors import InvalidRequestError


@dataclass(frozen=True)
class ToolCall:
    """One call a generation made: what the model wrote, what the tool answered, and the text inserted."""

    tool: str
    expression: str
    result: str
    inserted: str  # the forced text: the result and whatever closes the call

    def as_dict(self) -> dict:
        return asdict(self)


class Tool(Protocol):
    name: str

    def call(self, text: str) -> ToolCall | None:
        """The call `text` ends in, run; None when it ends in none."""


class CallWatcher:
    """The text generated since the last call, and the tools that look at it after every token."""

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


def tool_names() -> tuple[str, ...]:
    return tuple(_BUILDERS)


def build_tools(names: tuple[str, ...]) -> tuple[Tool, ...]:
    """The tools named in a GenerationConfig."""
    unknown = [n for n in names if n not in _BUILDERS]
    if unknown:
        raise InvalidRequestError(f"unknown tool(s): {', '.join(unknown)} (available: {', '.join(_BUILDERS)})")
    return tuple(_BUILDERS[n]() for n in names)


def _calculator() -> Tool:
    from infir_edge.tools.calculator import Calculator

    return Calculator()


_BUILDERS = {"calculator": _calculator}
