"""Trajectories: written line by line, readable after a crash, and convertible into training examples."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from android_agent.actions import Action, Command
from android_agent.errors import AgentError
from android_agent.observation import Element, Observation
from android_agent.safety import GateDecision, GateRequest
from android_agent.trajectory import (
    TrajectoryWriter,
    action_record,
    element_from_record,
    element_record,
    read_trajectory,
    to_training_examples,
)

SIZE = (108, 240)
SAVE = Element(0, "Button", "com.infir.notes:id/save", "Save", "", (0, 200, 108, 240), clickable=True)
PASSWORD = Element(1, "EditText", "", "secret", "", (0, 0, 108, 40), editable=True, password=True, focused=True)


def observation(screenshot: bool = True) -> Observation:
    image = Image.new("RGBA", SIZE, (30, 120, 200, 255)) if screenshot else None
    return Observation(xml="<hierarchy/>", elements=[SAVE, PASSWORD], size=SIZE, package="com.infir.notes",
                       activity=".Main", screenshot=image, timings={"hierarchy_ms": 12.345})


def write_run(out, *, finish: bool = True) -> None:
    denied = GateDecision(GateRequest(Action("click", element=0), "delete", "tapping it would delete", "Button",
                                      "t"), approved=False, decided_by="deny_all")
    with TrajectoryWriter(out, task="notes.save", instruction="Save the note", meta={"policy": "oracle"}) as writer:
        writer.step(0, observation(), action=action_record(Action("click", element=0), Command("tap", x=54, y=220)),
                    raw_output='{"action": "click", "element": 0}', rejected=None, gate=None,
                    timings={"policy_ms": 3.0})
        writer.step(1, observation(), action=None, raw_output="click save", rejected="no JSON object found",
                    gate=None, timings={})
        writer.step(2, observation(False), action=action_record(Action("click", element=0)), raw_output="",
                    rejected=None, gate=denied, timings={})
        writer.step(3, observation(), action=action_record(Action("done", answer="ok"), Command("done", answer="ok")),
                    raw_output="", rejected=None, gate=None, timings={})
        if finish:
            writer.finish(success=True, answer="ok", steps=4, reason="done")


def test_header_steps_and_end_are_read_back(tmp_path):
    write_run(tmp_path / "run")
    header, steps, end = read_trajectory(tmp_path / "run")
    assert (header["task"], header["instruction"], header["screen_size"]) == ("notes.save", "Save the note", [108, 240])
    assert [s["step"] for s in steps] == [0, 1, 2, 3]
    assert end["success"] and end["answer"] == "ok" and end["steps"] == 4


def test_step_records_action_pixels_gate_and_timings(tmp_path):
    write_run(tmp_path / "run")
    _, steps, _ = read_trajectory(tmp_path / "run" / "trajectory.jsonl")
    assert steps[0]["action"] == {"action": "click", "element": 0, "resolved": {"kind": "tap", "x": 54, "y": 220}}
    assert steps[0]["timings"] == {"hierarchy_ms": 12.35, "policy_ms": 3.0}
    assert steps[1]["rejected"] == "no JSON object found"
    assert steps[2]["gate"] == {"category": "delete", "reason": "tapping it would delete", "target": "Button",
                                "task_asks": False, "approved": False, "decided_by": "deny_all"}


def test_screenshots_are_jpegs_named_by_step(tmp_path):
    write_run(tmp_path / "run")
    _, steps, _ = read_trajectory(tmp_path / "run")
    assert [s["screenshot"] for s in steps] == ["screens/step_000.jpg", "screens/step_001.jpg", None,
                                                "screens/step_003.jpg"]
    with Image.open(tmp_path / "run" / "screens" / "step_000.jpg") as image:
        assert (image.format, image.size) == ("JPEG", SIZE)


def test_password_text_is_masked_in_the_element_list(tmp_path):
    write_run(tmp_path / "run")
    assert "secret" not in (tmp_path / "run" / "trajectory.jsonl").read_text()


def test_element_records_round_trip_except_password_text():
    disabled = Element(2, "View", "", "", "", (1, 2, 3, 4), enabled=False)
    for element in (SAVE, disabled):
        assert element_from_record(json.loads(json.dumps(element_record(element)))) == element
    restored = element_from_record(element_record(PASSWORD))
    assert restored.text == "***" and restored.password and restored.focused


def test_a_run_cut_short_keeps_its_steps_and_has_no_end(tmp_path):
    write_run(tmp_path / "run", finish=False)
    with (tmp_path / "run" / "trajectory.jsonl").open("a") as f:
        f.write('{"type": "step", "step": 4, "elem')  # the process died mid-line
    header, steps, end = read_trajectory(tmp_path / "run")
    assert len(steps) == 4 and end is None


def test_lines_are_on_disk_before_the_writer_closes(tmp_path):
    writer = TrajectoryWriter(tmp_path / "run", task="t", instruction="i")
    writer.step(0, observation(False), action=None, raw_output=None, rejected="x", gate=None, timings={})
    assert len((tmp_path / "run" / "trajectory.jsonl").read_text().splitlines()) == 2
    writer.close()


def test_a_run_without_steps_still_has_a_header(tmp_path):
    with TrajectoryWriter(tmp_path / "run", task="t", instruction="i"):
        pass
    header, steps, end = read_trajectory(tmp_path / "run")
    assert header["screen_size"] is None and steps == [] and end is None


def test_existing_non_empty_directory_is_refused_without_overwrite(tmp_path):
    write_run(tmp_path / "run")
    with pytest.raises(AgentError, match="not empty"):
        TrajectoryWriter(tmp_path / "run", task="t", instruction="i")


def test_overwrite_replaces_the_trajectory_and_keeps_other_files(tmp_path):
    write_run(tmp_path / "run")
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with TrajectoryWriter(tmp_path / "run", task="again", instruction="i", overwrite=True):
        pass
    assert read_trajectory(tmp_path / "run")[0]["task"] == "again"
    assert not list((tmp_path / "run" / "screens").iterdir())
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_a_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "run").write_text("x")
    with pytest.raises(AgentError, match="not a directory"):
        TrajectoryWriter(tmp_path / "run", task="t", instruction="i")


def test_no_steps_after_finish(tmp_path):
    writer = TrajectoryWriter(tmp_path / "run", task="t", instruction="i")
    writer.finish(success=False, answer=None, steps=0, reason="gave up")
    with pytest.raises(AgentError, match="finished"):
        writer.step(0, observation(False), action=None, raw_output=None, rejected=None, gate=None, timings={})


def test_damaged_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"type": "header", "task": "t"}\nnot json\n{"type": "end"}\n')
    with pytest.raises(AgentError, match="not a JSON line"):
        read_trajectory(path)


def test_file_without_header_is_not_a_trajectory(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"type": "step"}\n')
    with pytest.raises(AgentError, match="no header"):
        read_trajectory(path)


def test_training_examples_cover_executed_steps_with_history(tmp_path):
    write_run(tmp_path / "run")
    examples = list(to_training_examples(tmp_path / "run"))
    assert [e["step"] for e in examples] == [0, 3]  # step 1 was rejected, step 2 denied by the gate
    assert examples[1]["history"] == [{"action": "click", "element": 0}]
    assert examples[1]["action"] == {"action": "done", "answer": "ok"}
    assert examples[0]["instruction"] == "Save the note"
    assert examples[0]["screenshot"] == str(tmp_path / "run" / "screens" / "step_000.jpg")
    assert examples[0]["elements"].splitlines()[0] == '[0] Button "Save" click (505,921)'
