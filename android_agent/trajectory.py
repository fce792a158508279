"""Every run recorded: one JSON line per step plus its screenshot, readable later as GUI training data.

A trajectory directory holds `trajectory.jsonl` (a header line, one line per step, an end line) and `screens/`.
Each line is flushed as it is written, so a run that crashes keeps its steps: the end line is then missing, and
`read_trajectory` says so by returning no end. `to_training_examples` turns the executed steps into (instruction,
screenshot, screen text, history, target action) examples, the shape a vision-language SFT stage consumes.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from android_agent.actions import Action, Command
from android_agent.errors import AgentError
from android_agent.observation import PASSWORD_MASK, Element, Observation, describe_elements
from android_agent.safety import GateDecision
from infir_edge.files import atomic_write_bytes

TRAJECTORY_FILE = "trajectory.jsonl"
SCREENS_DIR = "screens"
JPEG_QUALITY = 85
_FLAGS = ("clickable", "long_clickable", "editable", "checkable", "checked", "scrollable", "focused", "password",
          "selected")  # `enabled` is stored inverted, as "disabled": almost every element is enabled


def action_record(action: Action, command: Command | None = None) -> dict:
    """The `action` of a step line: the canonical JSON (normalized coordinates) and, once resolved, the pixels."""
    record = action.to_json()
    if command is not None:
        record["resolved"] = {k: v for k, v in asdict(command).items() if v is not None and v is not False}
    return record


class TrajectoryWriter:
    """Writes one run; use as a context manager. The header is written with the first step (it needs the screen
    size) or at the latest when the writer closes."""

    def __init__(self, out_dir: Path, *, task: str, instruction: str, meta: dict | None = None,
                 overwrite: bool = False) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise AgentError(f"{self.out_dir} is not a directory")
        if self.out_dir.exists() and any(self.out_dir.iterdir()):
            if not overwrite:
                raise AgentError(f"{self.out_dir} is not empty (pass overwrite=True to replace its trajectory)")
            # only what a trajectory consists of: anything else the user keeps there is not ours to delete
            (self.out_dir / TRAJECTORY_FILE).unlink(missing_ok=True)
            shutil.rmtree(self.out_dir / SCREENS_DIR, ignore_errors=True)
        self._header = {"type": "header", "task": task, "instruction": instruction, "meta": meta or {},
                        "screen_size": None, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        try:
            (self.out_dir / SCREENS_DIR).mkdir(parents=True, exist_ok=True)
            self._file = open(self.out_dir / TRAJECTORY_FILE, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)
        except OSError as e:
            raise AgentError(f"cannot write a trajectory to {self.out_dir}: {e.strerror or e}") from None
        self._header_written = False
        self._finished = False

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def step(self, index: int, observation: Observation, *, action: dict | None, raw_output: str | None,
             rejected: str | None, gate: GateDecision | None, timings: dict[str, float]) -> None:
        """One step: what was on the screen, what the policy said, what became of it, and how long each part took.

        `action` is normally `action_record(action, command)`; None when the output could not be parsed.
        """
        if self._finished or self._file.closed:
            raise AgentError("the trajectory is finished; no more steps can be written")
        if self._header["screen_size"] is None:
            self._header["screen_size"] = list(observation.size)
        screenshot = None
        if observation.screenshot is not None:
            screenshot = f"{SCREENS_DIR}/step_{index:03d}.jpg"
            atomic_write_bytes(self.out_dir / screenshot, _jpeg(observation.screenshot))
        self._write({
            "type": "step",
            "step": index,
            "package": observation.package,
            "activity": observation.activity,
            "screen_size": list(observation.size),
            "elements": [element_record(e) for e in observation.elements],
            "action": action,
            "raw_output": raw_output,
            "rejected": rejected,
            "gate": _gate_record(gate),
            "timings": {k: round(v, 2) for k, v in (observation.timings | timings).items()},
            "screenshot": screenshot,
        })

    def finish(self, *, success: bool, answer: str | None, steps: int, reason: str,
               extra: dict | None = None) -> None:
        """The end line; the trajectory is complete and the file is closed."""
        if self._finished:
            raise AgentError("the trajectory is already finished")
        self._write({"type": "end", "success": success, "answer": answer, "steps": steps, "reason": reason,
                     "extra": extra or {}})
        self._finished = True
        self.close()

    def close(self) -> None:
        """Close the file; without `finish` first, the trajectory reads as cut short."""
        if self._file.closed:
            return
        if not self._header_written:
            self._write_line(self._header)
        self._file.close()

    def _write(self, record: dict) -> None:
        if not self._header_written:
            self._write_line(self._header)
            self._header_written = True
        self._write_line(record)

    def _write_line(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self._file.flush()  # a crash keeps every step written so far


def element_record(element: Element) -> dict:
    """An element as a compact dict: empty strings and false flags left out, a password's text masked."""
    record: dict = {"id": element.id, "class": element.class_name, "bounds": list(element.bounds)}
    text = PASSWORD_MASK if element.password and element.text else element.text
    for key, value in (("text", text), ("desc", element.description), ("rid", element.resource_id),
                       ("package", element.package)):
        if value:
            record[key] = value
    flags = [name for name in _FLAGS if getattr(element, name)] + ([] if element.enabled else ["disabled"])
    if flags:
        record["flags"] = flags
    return record


def element_from_record(record: dict) -> Element:
    flags = set(record.get("flags", ()))
    x1, y1, x2, y2 = record["bounds"]
    return Element(id=record["id"], class_name=record.get("class", ""), resource_id=record.get("rid", ""),
                   text=record.get("text", ""), description=record.get("desc", ""), bounds=(x1, y1, x2, y2),
                   package=record.get("package", ""), enabled="disabled" not in flags,
                   **{name: name in flags for name in _FLAGS})


def read_trajectory(path: Path) -> tuple[dict, list[dict], dict | None]:
    """(header, steps, end) of a trajectory file or directory; end is None when the run was cut short.

    A last line cut mid-write (the process died) is dropped; a damaged line elsewhere is an error.
    """
    path = Path(path)
    if path.is_dir():
        path = path / TRAJECTORY_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise AgentError(f"cannot read trajectory {path}: {e.strerror or e}") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise AgentError(f"{path}:{number} is not a JSON line") from None
    if not records or records[0].get("type") != "header":
        raise AgentError(f"{path} is not a trajectory (no header line)")
    steps = [r for r in records[1:] if r.get("type") == "step"]
    ends = [r for r in records[1:] if r.get("type") == "end"]
    return records[0], steps, ends[-1] if ends else None


def to_training_examples(path: Path) -> Iterator[dict]:
    """One example per executed step (parsed, not rejected, not stopped by the gate), in order: the instruction,
    the screenshot's path, the screen as element text, the actions executed before it, and the action itself."""
    path = Path(path)
    directory = path if path.is_dir() else path.parent
    header, steps, _ = read_trajectory(path)
    history: list[dict] = []
    for step in steps:
        action = step.get("action")
        gate = step.get("gate")
        if action is None or step.get("rejected") or (gate is not None and not gate["approved"]):
            continue
        target = {k: v for k, v in action.items() if k != "resolved"}
        elements = [element_from_record(r) for r in step["elements"]]
        size = tuple(step["screen_size"])
        yield {
            "instruction": header["instruction"],
            "task": header["task"],
            "step": step["step"],
            "screenshot": str(directory / step["screenshot"]) if step.get("screenshot") else None,
            "screen_size": list(size),
            "package": step["package"],
            "elements": describe_elements(elements, size),
            "history": list(history),
            "action": target,
        }
        history.append(target)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # JPEG has no alpha or palette: screenshots arrive as RGBA PNGs from some devices
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _gate_record(decision: GateDecision | None) -> dict | None:
    if decision is None:
        return None
    request = decision.request
    return {"category": request.category, "reason": request.reason, "target": request.target,
            "task_asks": request.task_asks, "approved": decision.approved, "decided_by": decision.decided_by}

