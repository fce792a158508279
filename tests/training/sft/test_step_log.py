"""The synthesis step logs (`training.sft.records.StepLog`) and `run_step` over them: one JSON line per finished
input, a line cut short by a crash dropped on reopen, and a rerun that redoes only what is not logged."""

from __future__ import annotations

import json
import threading
import time

from training.sft.records import StepLog
from training.sft.synthesize import run_step


def entry_line(input_id: str, kept: list[dict], dropped: list[dict] | None = None) -> str:
    return json.dumps({"input": input_id, "kept": kept, "dropped": dropped or []}) + "\n"


class CountingStep:
    """A step that keeps each record with a mark and drops the ids ending in 'x'; counts its calls per id."""

    name = "counting"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: dict[str, int] = {}
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self, record: dict) -> tuple[list[dict], list[dict]]:
        with self._lock:
            self.calls[record["id"]] = self.calls.get(record["id"], 0) + 1
        time.sleep(self.delay_s)
        if record["id"].endswith("x"):
            return [], [{**record, "reason": "ends in x"}]
        return [{**record, "seen": True}], []


def test_appended_entries_read_back_after_reopening(tmp_path):
    log = StepLog(tmp_path / "step.jsonl")
    log.append("a", [{"id": "a/1"}, {"id": "a/0"}])
    log.append("b", [], [{"id": "b", "reason": "no"}])
    reopened = StepLog(tmp_path / "step.jsonl")
    assert reopened.done() == {"a", "b"}
    assert reopened.kept() == [{"id": "a/0"}, {"id": "a/1"}]
    assert reopened.dropped() == [{"id": "b", "reason": "no"}]
    assert [e["input"] for e in reopened] == ["a", "b"]


def test_a_line_cut_short_by_a_crash_is_dropped_and_the_file_truncated(tmp_path):
    path = tmp_path / "step.jsonl"
    complete = entry_line("a", [{"id": "a"}]) + entry_line("b", [{"id": "b"}])
    half = entry_line("c", [{"id": "c", "text": "long " * 20}])[:37]  # the crash came mid-write
    path.write_text(complete + half)
    log = StepLog(path)
    assert log.done() == {"a", "b"}  # c is redone
    assert path.read_text() == complete
    log.append("c", [{"id": "c"}])  # the redone input lands on a line of its own
    assert StepLog(path).done() == {"a", "b", "c"}
    assert all(json.loads(line)["input"] for line in path.read_text().splitlines())


def test_a_log_holding_only_a_cut_line_reopens_empty(tmp_path):
    path = tmp_path / "step.jsonl"
    path.write_text(entry_line("a", [{"id": "a"}])[:10])
    assert StepLog(path).done() == set()
    assert path.read_bytes() == b""


def test_kept_is_sorted_by_id_whatever_the_order_of_appends(tmp_path):
    log = StepLog(tmp_path / "step.jsonl")
    for input_id in ("c", "a", "d", "b"):
        log.append(input_id, [{"id": f"{input_id}/1"}, {"id": f"{input_id}/0"}], [{"id": f"{input_id}/x"}])
    expected = [f"{i}/{k}" for i in "abcd" for k in "01"]
    assert [r["id"] for r in log.kept()] == expected
    assert [r["id"] for r in StepLog(tmp_path / "step.jsonl").kept()] == expected
    assert [r["id"] for r in log.dropped()] == [f"{i}/x" for i in "abcd"]


def test_run_step_skips_the_inputs_already_logged(tmp_path):
    inputs = [{"id": f"r{i}"} for i in range(6)]
    first = CountingStep()
    run_step(first, inputs[:4], StepLog(tmp_path / "step.jsonl"), progress=False)
    second = CountingStep()
    log = run_step(second, inputs, StepLog(tmp_path / "step.jsonl"), progress=False)
    assert second.calls == {"r4": 1, "r5": 1}
    assert [r["id"] for r in log.kept()] == [f"r{i}" for i in range(6)]


def test_run_step_with_two_workers_logs_every_input_once(tmp_path):
    inputs = [{"id": f"r{i:02d}" + ("x" if i % 3 == 0 else "")} for i in range(12)]
    step = CountingStep(delay_s=0.005)  # the calls overlap
    run_step(step, inputs, StepLog(tmp_path / "step.jsonl"), workers=2, progress=False)
    lines = [json.loads(line) for line in (tmp_path / "step.jsonl").read_text().splitlines()]
    assert sorted(e["input"] for e in lines) == sorted(r["id"] for r in inputs)
    assert set(step.calls.values()) == {1}
    reopened = StepLog(tmp_path / "step.jsonl")
    assert len(reopened.kept()) == 8 and len(reopened.dropped()) == 4
