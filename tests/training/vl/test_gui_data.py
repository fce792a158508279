"""GUI grounding and action examples: determinism, targets that match the screen, disjoint splits, metrics."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from lxml import etree
from PIL import Image

from android_agent.actions import parse_action, resolve
from android_agent.observation import element_at, parse_hierarchy
from training.vl.examples import VLExample
from training.vl.gui_data import (
    GuiDataConfig,
    action_examples,
    grounding_accuracy,
    grounding_example,
    grounding_examples,
    oracle_episode,
    parse_point,
    point_in_box,
    screen_kinds,
    split_of_screen,
    trivial_baselines,
)
from training.vl.gui_screens import SCREENS, make_screen, targets

CONFIG = GuiDataConfig()


def digest(image: Image.Image) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def grounding() -> dict[str, list[VLExample]]:
    return {split: list(grounding_examples(16, seed=3, split=split)) for split in ("train", "test")}


@pytest.fixture(scope="module")
def screens() -> list[tuple]:
    """A random variant of every screen kind: (phone, target, example) for each of its targets."""
    found = []
    for index, kind in enumerate(SCREENS):
        rng = random.Random(index)
        phone = make_screen(kind, rng, size=CONFIG.screen_sizes[0], dark_theme_p=0.5)
        for target in targets(phone):
            found.append((phone, target, grounding_example(phone, kind, target, rng, split="train", config=CONFIG)))
    return found


def test_generation_is_deterministic():
    first = list(grounding_examples(3, seed=7, split="test"))
    again = list(grounding_examples(3, seed=7, split="test"))
    assert [(e.prompt, e.target, e.meta, digest(e.image)) for e in first] == \
           [(e.prompt, e.target, e.meta, digest(e.image)) for e in again]
    steps = [(e.prompt, e.target, e.meta) for e in action_examples(6, seed=7, split="train")]
    assert steps == [(e.prompt, e.target, e.meta) for e in action_examples(6, seed=7, split="train")]
    assert [e.target for e in grounding_examples(3, seed=8, split="test")] != [e.target for e in first]


def test_target_point_lies_inside_its_box(grounding):
    for example in grounding["train"] + grounding["test"]:
        assert json.loads(example.target).keys() == {"action", "x", "y"}
        point = parse_point(example.target)
        assert all(isinstance(v, int) for v in point)
        assert point_in_box(point, example.meta["box"]), example.meta
        assert example.meta["screen_size"] == list(example.image.size)


def test_box_matches_a_clickable_element_drawn_on_the_screenshot(screens):
    for phone, target, example in screens:
        width, height = phone.size
        x0, y0, x1, y1 = example.meta["box"]
        pixels = (round(x0 / 1000 * (width - 1)), round(y0 / 1000 * (height - 1)),
                  round(x1 / 1000 * (width - 1)) + 1, round(y1 / 1000 * (height - 1)) + 1)
        assert all(abs(a - b) <= 2 for a, b in zip(pixels, target.bounds, strict=True)), (pixels, target)
        elements = parse_hierarchy(phone.hierarchy_xml())
        assert any(e.bounds == target.bounds and e.clickable for e in elements), target
        crop = example.image.crop(target.bounds)
        assert len(crop.getcolors(1 << 20)) > 1, f"nothing drawn at {target}"  # a control, not blank background


def test_label_appears_nowhere_else_on_the_screen(screens):
    for phone, target, example in screens:
        label = example.meta["label"].casefold()
        assert f'"{example.meta["label"]}"' in example.prompt
        root = etree.fromstring(phone.hierarchy_xml().encode())
        for node in root.iter("node"):
            if label in (node.get("text", "").strip().casefold(), node.get("content-desc", "").strip().casefold()):
                bounds = tuple(int(v) for v in node.get("bounds").replace("][", ",").strip("[]").split(","))
                inside = (target.bounds[0] <= bounds[0] and target.bounds[1] <= bounds[1]
                          and bounds[2] <= target.bounds[2] and bounds[3] <= target.bounds[3])
                assert inside, f"{label!r} also at {bounds}, outside {target.bounds}"


def test_downscaled_images_keep_the_same_targets():
    small = list(grounding_examples(2, seed=4, split="train", config=GuiDataConfig(max_image_side=600)))
    full = list(grounding_examples(2, seed=4, split="train"))
    assert [max(e.image.size) for e in small] == [600, 600]
    assert [(e.prompt, e.target, e.meta) for e in small] == [(e.prompt, e.target, e.meta) for e in full]


def test_train_and_test_share_no_screenshot(grounding):
    train_actions = list(action_examples(40, seed=3, split="train"))
    train = {digest(e.image) for e in grounding["train"] + train_actions}
    assert not train & {digest(e.image) for e in grounding["test"]}
    assert all(split_of_screen(e.meta["app"], e.meta["activity"], CONFIG) == "train"
               for e in grounding["train"] + train_actions)
    assert all(split_of_screen(e.meta["app"], e.meta["activity"], CONFIG) == "test" for e in grounding["test"])
    assert {k.name for k in screen_kinds("train", CONFIG)}.isdisjoint(k.name for k in screen_kinds("test", CONFIG))


def test_action_tasks_are_split():
    train = {e.meta["task"] for e in action_examples(30, seed=0, split="train")}
    test = {e.meta["task"] for e in action_examples(30, seed=0, split="test")}
    assert test <= set(CONFIG.test_tasks) and train.isdisjoint(CONFIG.test_tasks)


@pytest.mark.parametrize("task", ["add_contact", "contact_phone_lookup", "delete_note"])
def test_trajectory_clicks_land_on_clickable_elements(task):
    episode = oracle_episode(task, seed=5)
    assert episode.success and episode.steps[-1].action["action"] == "done"
    for step in episode.steps:
        action = parse_action(json.dumps(step.action))
        assert action.element is None  # the VL model never needs element ids
        if action.kind in ("click", "long_press"):
            observation = step.observation
            command = resolve(action, observation.elements, observation.size, {})
            hit = element_at(observation.elements, (command.x, command.y))
            assert hit is not None and (hit.clickable or hit.long_clickable), (step.action, hit)


def test_action_examples_show_the_recent_history_and_parse():
    examples = list(action_examples(12, seed=1, split="train", config=GuiDataConfig(max_history=2)))
    assert max(e.meta["step"] for e in examples) > 2
    for example in examples:
        assert example.kind == "action" and example.prompt.endswith("\nNext action:")
        parse_action(example.target)
        numbered = [line.split(".")[0] for line in example.prompt.splitlines() if line[:1].isdigit()]
        assert numbered == [str(i) for i in range(1, min(example.meta["step"], 2) + 1)]
        if "box" in example.meta:
            assert point_in_box(parse_point(example.target), example.meta["box"])


def _example(target: str = "", box: list[int] | None = None) -> VLExample:
    return VLExample(Image.new("RGB", (2, 2)), "Tap.", target, "grounding", {"box": box} if box else {})


def test_trivial_baselines_on_a_hand_made_set():
    train = [_example('{"action": "click", "x": 110, "y": 120}')] * 3 + [_example("(900, 900)")]
    test = [_example(box=[100, 100, 150, 150]), _example(box=[120, 120, 130, 130]),
            _example(box=[450, 450, 550, 550]), _example(box=[0, 900, 1000, 1000])]
    result = trivial_baselines(train, test)
    assert result["train_mode"] == {"point": [125, 125], "accuracy": 0.5}
    assert result["screen_center"] == {"point": [500, 500], "accuracy": 0.25}
    assert result["best"] == {"name": "train_mode", "point": [125, 125], "accuracy": 0.5}


def test_grounding_accuracy():
    examples = [_example(box=[0, 0, 100, 100]), _example(box=[500, 500, 600, 600]), _example(box=[0, 0, 10, 10])]
    predictions = ['{"action": "click", "x": 100, "y": 0}', "I'd tap (550, 599)", "no idea"]
    assert grounding_accuracy(predictions, examples) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        grounding_accuracy(predictions[:2], examples)


@pytest.mark.parametrize(("text", "point"), [
    ('{"action": "click", "x": 12, "y": 980}', (12, 980)),
    ('```json\n{"action": "long_press", "x": 12.6, "y": 3}\n```', (13, 3)),
    ("The button is at (250, 300).", (250, 300)),
    ('{"action": "tap", "x": 5, "y": 6}', (5, 6)),  # not a valid action, but its point is readable
    ('{"y": 6, "x": 5}', (5, 6)),
    ("", None),
    ("no idea", None),
    ('{"action": "click", "element": 3}', None),
    ('{"action": "scroll", "direction": "down"}', None),
    ("(1200, 5)", None),
    ('{"action": "click", "x": -3, "y": 5}', None),
])
def test_parse_point(text, point):
    assert parse_point(text) == point


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split"):
        next(grounding_examples(1, seed=0, split="validation"))
