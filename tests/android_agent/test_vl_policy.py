"""The `vl` policy: its prompt format, the screenshot reaching a VL engine, and `infir-agent bench --policy vl`."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from tiny_models import write_tiny_gguf

from android_agent.cli import main
from android_agent.errors import AgentError
from android_agent.observation import Element, Observation
from android_agent.policy import PolicyContext, Turn
from android_agent.vl_policy import VLPolicy
from android_agent.vl_prompt import vl_messages, vl_prompt_text

CLICKS = [{"action": "click", "x": i, "y": 100} for i in range(6)]


def _observation(**overrides) -> Observation:
    save = Element(id=0, class_name="Button", resource_id="", text="Save", description="", bounds=(0, 0, 100, 50),
                   clickable=True)
    fields = {"xml": "", "elements": [save], "size": (1000, 2000), "package": "com.example", "activity": ".Main",
              "screenshot": Image.new("RGB", (100, 200), "white")}
    return Observation(**(fields | overrides))


class SpyEngine:
    """The real engine, recording the messages each `generate` got."""

    def __init__(self, engine) -> None:
        self.engine, self.calls = engine, []
        self.supports_images = engine.supports_images

    def generate(self, messages, **options):
        self.calls.append(messages)
        return self.engine.generate(messages, **options)


@pytest.fixture(scope="module")
def vl_engine(tiny_vl_checkpoint):
    import infir_edge

    with infir_edge.load(tiny_vl_checkpoint) as engine:
        yield engine


def test_the_prompt_is_the_task_the_recent_actions_and_next_action():
    assert vl_prompt_text("Turn on Wi-Fi", CLICKS[:2]) == (
        'Task: Turn on Wi-Fi\nPrevious actions:\n1. {"action": "click", "x": 0, "y": 100}\n'
        '2. {"action": "click", "x": 1, "y": 100}\nNext action:')
    assert vl_prompt_text("Turn on Wi-Fi", []) == "Task: Turn on Wi-Fi\nNext action:"


def test_the_prompt_keeps_only_the_last_max_history_actions():
    text = vl_prompt_text("t", CLICKS, max_history=4)
    shown = [json.loads(line.split(". ", 1)[1]) for line in text.splitlines() if line[0].isdigit()]
    assert shown == CLICKS[-4:]


def test_the_prompt_shows_the_element_list_only_when_given():
    text = vl_prompt_text("t", CLICKS[:1], '[0] Button "Save" click (50,12)')
    assert text.endswith('Screen:\n[0] Button "Save" click (50,12)\nNext action:')
    assert "Screen:" not in vl_prompt_text("t", CLICKS[:1])


def test_the_policys_turn_is_the_text_training_uses():
    from infir_edge.runtime.chat import split_images
    from training.vl.batches import user_turn

    image = Image.new("RGB", (4, 4))
    messages, images = split_images(vl_messages(image, 'Tap "Save".'))
    assert messages == user_turn('Tap "Save".') and images == [image]


def test_vl_policy_sends_the_screenshot_and_returns_the_models_text(vl_engine):
    spy = SpyEngine(vl_engine)
    observation = _observation()
    context = PolicyContext("Save the note", ["Notes"], history=[Turn(CLICKS[0], "done"), Turn(None, "rejected: x")])
    reply = VLPolicy(spy, max_new_tokens=8).decide(context, observation)
    assert isinstance(reply, str)
    (messages,) = spy.calls
    image, text = messages[-1]["content"]
    assert image["image"] is observation.screenshot
    assert text["text"] == vl_prompt_text("Save the note", [CLICKS[0]])


def test_a_retry_shows_the_model_why_its_last_reply_was_rejected(vl_engine):
    spy = SpyEngine(vl_engine)
    VLPolicy(spy, max_new_tokens=4).decide(PolicyContext("t", [], feedback="not JSON"), _observation())
    assert spy.calls[0][-1]["content"][1]["text"].endswith("\nRejected: not JSON\nNext action:")


def test_vl_policy_with_elements_appends_the_element_list(vl_engine):
    spy = SpyEngine(vl_engine)
    VLPolicy(spy, max_new_tokens=4, with_elements=True).decide(PolicyContext("t", []), _observation())
    assert '[0] Button "Save"' in spy.calls[0][-1]["content"][1]["text"]


def test_vl_policy_refuses_an_engine_that_takes_no_images():
    class TextOnly:
        supports_images = False
        backend_name = "llamacpp"

    with pytest.raises(AgentError, match="vision-language"):
        VLPolicy(TextOnly())


def test_bench_with_the_vl_policy_runs_every_task_to_its_end(tmp_path, tiny_vl_checkpoint):
    out = tmp_path / "vl"
    assert main(["bench", "--policy", "vl", "--model", str(tiny_vl_checkpoint), "--tasks", "toggle_setting,cart_total",
                 "--max-steps", "1", "--max-retries", "0", "--out", str(out)]) == 0  # the random model's garbage
    results = json.loads((out / "results.json").read_text())  # is rejected, the step budget spent
    assert results["tasks_run"] == 2 and results["crashes"] == 0 and results["policy"] == "vl"
    assert all(row["steps"] == 1 and row["reason"] for row in results["tasks"])


def test_bench_with_the_vl_policy_and_a_text_only_model_exits_2(tmp_path, capsys):
    model = write_tiny_gguf(tmp_path / "tiny.gguf")
    assert main(["bench", "--policy", "vl", "--model", str(model), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the vl policy needs a vision-language model")
    assert not (tmp_path / "out").exists()
