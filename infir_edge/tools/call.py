"""What a tool is and what one call of it leaves behind: the floor under the tools and the decoding loops."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol


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
