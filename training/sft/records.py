"""The synthesis pipeline's files: one JSON line per input record a step has finished, appended as it finishes.

A step's log line is `{"input": id, "kept": [records], "dropped": [records]}`: everything one input produced, in one
line, so a crash loses at most the line being written (cut short, it is ignored and that input is redone) and never
an accepted record that was already reported. Rerunning a step skips the inputs its log already holds. Dropped
records stay in the log with their reason: the report counts them and the ablations train on them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from training.sft.errors import SFTError


def read_jsonl(path: str | Path) -> list[dict]:
    """Every record of a JSONL file; a malformed line is an SFTError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise SFTError(f"{path} does not exist")
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SFTError(f"{path}:{number}: not a JSON line ({e.msg})") from None
    return records


def write_jsonl(path: str | Path, records: Iterable[dict]) -> Path:
    """All records at once, atomically (a reader never sees half a file)."""
    from infir_edge.files import atomic_write_text

    atomic_write_text(Path(path), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return Path(path)


class StepLog:
    """The append-only log of one step (`<step>.jsonl`); thread-safe, each line flushed and fsynced."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._entries = self._read_complete_lines()

    def _read_complete_lines(self) -> list[dict]:
        if not self.path.is_file():
            return []
        raw = self.path.read_bytes()
        complete, _, tail = raw.rpartition(b"\n")
        if tail:  # a line cut short by a crash: drop it, its input is redone
            with open(self.path, "r+b") as f:
                f.truncate(len(complete) + 1 if complete else 0)
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def done(self) -> set[str]:
        return {entry["input"] for entry in self._entries}

    def append(self, input_id: str, kept: list[dict], dropped: list[dict] | None = None) -> None:
        entry = {"input": input_id, "kept": kept, "dropped": dropped or []}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            self._entries.append(entry)

    def kept(self) -> list[dict]:
        """The kept records, sorted by id: the order of completion (threads) does not leak into the next step."""
        return sorted((r for e in self._entries for r in e["kept"]), key=lambda r: r["id"])

    def dropped(self) -> list[dict]:
        return sorted((r for e in self._entries for r in e["dropped"]), key=lambda r: r["id"])

    def __iter__(self) -> Iterator[dict]:
        return iter(self._entries)
