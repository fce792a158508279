"""From token bytes to text a stream may show: never a broken character, never part of a stop string."""

from __future__ import annotations

import codecs


class TextAssembler:
    """Collects the bytes of generated tokens and releases text that is safe to emit.

    A multi-byte character split over two tokens is held until it is complete (an incremental UTF-8
    decoder). Text that could be the beginning of a stop string is held until it either completes the
    stop string (then the generation ends there, the stop string itself never emitted) or cannot.
    """

    def __init__(self, stop: tuple[str, ...] = ()) -> None:
        self.stop = stop
        self.stopped = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def push(self, data: bytes) -> str:
        """Add one token's bytes; return the text that can be emitted now ('' while held back)."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(data)
        return self._release(final=False)

    def finish(self) -> str:
        """End of generation: flush whatever is held back (unless a stop string already ended it)."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(b"", final=True)
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        text = self._pending
        hits = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if hits:
            self.stopped = True
            self._pending = ""
            return text[: min(hits)]
        hold = 0 if final else self._longest_stop_prefix_suffix(text)
        self._pending = text[len(text) - hold :] if hold else ""
        return text[: len(text) - hold]

    def _longest_stop_prefix_suffix(self, text: str) -> int:
        """Length of the longest end of `text` that is the start of some stop string."""
        longest = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(text)), longest, -1):
                if text.endswith(s[:k]):
                    longest = k
                    break
        return longest
