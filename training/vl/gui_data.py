"""GUI examples for InfiR-VL from the simulated phone: grounding ("Tap "Save"." -> a click at its centre) and
oracle action trajectories, a held-out test split for each, and the grounding metric with its trivial baselines.

Coordinates are InfiR/ShowUI's: 0..1000 on both axes whatever the screen, integers, written as the agent's own
JSON action (`{"action": "click", "x": 512, "y": 87}`), so a model trained here answers in the format
`android_agent.actions.parse_action` executes. Element ids never appear: the model sees only pixels.

Splits:
- grounding, by screen: a screen is test-only if its (package, activity) is in `held_out_screens`: by default the
  whole Clock app (an unseen app), Contacts' details and Shop's cart (unseen screens of seen apps). The train
  split never renders them and the test split renders nothing else, so no test screenshot can occur in train.
- actions, by task: whole tasks are test-only (`test_tasks`: one per app, one multi-app): unseen instructions, on
  screens that train trajectories also pass through (the home screen, lists). Train trajectories skip their steps
  on held-out screens (`train_actions_skip_held_out_screens`), so that a model trained on both train splits has
  never seen a grounding test screen.
Every example depends only on (seed, split, its index), so generation is deterministic and can be sharded.
`meta["screen_size"]` is the phone's size in device pixels; the image is smaller only with `max_image_side`.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from PIL import Image

from android_agent.actions import Action, action_from_json, parse_action, resolve
from android_agent.errors import MalformedActionError
from android_agent.local_device import LocalPhoneDevice
from android_agent.observation import Element, Observation
from android_agent.phone.phone import Phone
from android_agent.tasks import TASKS, task_class
from android_agent.tasks.base import States, Task
from android_agent.tasks.plan import Plan
from android_agent.vl_prompt import VL_MAX_HISTORY, vl_prompt_text
from training.vl.examples import VLExample
from training.vl.gui_screens import (
    CLOCK,
    CONTACTS,
    SCREENS,
    SETTINGS,
    SHOP,
    ScreenKind,
    Target,
    make_screen,
    normalized_box,
    target_point,
    targets,
)

SPLITS = ("train", "test")
HELD_OUT_SCREENS = ((CLOCK, "*"), (CONTACTS, ".ContactDetails"), (SHOP, ".Cart"))
TEST_TASKS = ("dark_theme_and_do_not_disturb", "delete_contact", "find_meeting_time", "turn_off_alarm", "cart_total",
              "alarm_from_message")


@dataclass
class GuiDataConfig:
    # (width, height) of the phone, one drawn per screen or episode; more sizes move every control in 0..1000
    screen_sizes: tuple[tuple[int, int], ...] = ((1080, 2400),)
    max_image_side: int | None = None  # downscale screenshots to this (coordinates are normalized: unaffected)
    verbs: tuple[str, ...] = ("Tap", "Click", "Press")
    open_verbs: tuple[str, ...] = ("Open", "Tap", "Click")  # for what opens something: list rows, app icons
    dark_theme_p: float = 0.3
    targets_per_screen: int = 1  # more reuses each render (faster) at the cost of less varied screens
    # Relative chance of picking an app-bar control ("Navigate up" is on nearly every screen, always top left):
    # at 1 it is ~17% of all targets and a constant-point guess scores on it.
    app_bar_weight: float = 0.3
    held_out_screens: tuple[tuple[str, str], ...] = HELD_OUT_SCREENS  # (package, activity or "*")
    test_tasks: tuple[str, ...] = TEST_TASKS
    train_actions_skip_held_out_screens: bool = True
    max_history: int = VL_MAX_HISTORY  # previous actions shown in an action prompt (as the vl policy shows them)
    max_steps: int = 30  # per oracle episode


def split_of_screen(package: str, activity: str, config: GuiDataConfig) -> str:
    held_out = set(config.held_out_screens)
    return "test" if (package, "*") in held_out or (package, activity) in held_out else "train"


def screen_kinds(split: str, config: GuiDataConfig) -> list[ScreenKind]:
    _check_split(split)
    return [kind for kind in SCREENS if split_of_screen(kind.package, kind.activity, config) == split]


def task_names(split: str, config: GuiDataConfig) -> list[str]:
    _check_split(split)
    unknown = set(config.test_tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown test tasks: {sorted(unknown)}")
    return [name for name in TASKS if (name in config.test_tasks) == (split == "test")]


# -- grounding ---------------------------------------------------------------------------------------------------
def grounding_examples(n: int, *, seed: int, split: str, config: GuiDataConfig | None = None
                       ) -> Iterator[VLExample]:
    """`n` grounding examples: a random screen of the split, a control on it named by its label, the click."""
    config = config or GuiDataConfig()
    kinds = screen_kinds(split, config)
    produced = 0
    for index in itertools.count():
        if produced >= n:
            return
        rng = random.Random(f"gui-grounding:{split}:{seed}:{index}")
        kind = rng.choice(kinds)
        size = rng.choice(config.screen_sizes)
        phone = make_screen(kind, rng, size=size, dark_theme_p=config.dark_theme_p)
        chosen = pick_targets(targets(phone), min(config.targets_per_screen, n - produced), rng,
                              app_bar_weight=config.app_bar_weight)
        for target in chosen:
            yield grounding_example(phone, kind, target, rng, split=split, config=config)
            produced += 1


def pick_targets(found: list[Target], k: int, rng: random.Random, *, app_bar_weight: float) -> list[Target]:
    """Up to `k` distinct targets, app-bar controls `app_bar_weight` times as likely as the others."""
    found, chosen = list(found), []
    while found and len(chosen) < k:
        weights = [app_bar_weight if target.in_app_bar else 1.0 for target in found]
        if sum(weights) <= 0:
            break
        chosen.append(found.pop(rng.choices(range(len(found)), weights)[0]))
    return chosen


def grounding_example(phone: Phone, kind: ScreenKind, target: Target, rng: random.Random, *, split: str,
                      config: GuiDataConfig) -> VLExample:
    x, y = target_point(target.bounds, phone.size)
    verb = rng.choice(config.open_verbs if target.role == "item" else config.verbs)
    prompt = f'{verb} the "{target.label}" field.' if target.role == "field" else f'{verb} "{target.label}".'
    meta = {"box": normalized_box(target.bounds, phone.size), "label": target.label, "app": kind.package,
            "screen_size": list(phone.size), "split": split, "screen": kind.name, "activity": kind.activity,
            "role": target.role, "dark": phone.app_state(SETTINGS)["dark_theme"]}
    return VLExample(_scaled(phone.screenshot(), config), prompt, click_json(x, y), "grounding", meta)


def click_json(x: int, y: int) -> str:
    return json.dumps(Action("click", x=x, y=y).to_json())


# -- oracle action trajectories ----------------------------------------------------------------------------------
@dataclass
class OracleStep:
    observation: Observation  # the screen the action was decided on
    action: dict  # the action as the VL model writes it: points in 0..1000, no element ids
    element: Element | None = None  # what a click or long press lands on


@dataclass
class OracleEpisode:
    task: str
    seed: int
    instruction: str
    steps: list[OracleStep]
    success: bool


def oracle_episode(task: str, seed: int, config: GuiDataConfig | None = None) -> OracleEpisode:
    """Runs `task`'s oracle plan on a freshly seeded in-process phone, with every element-id action rewritten
    into what a pixel-only model does: a click at the element's centre, a `type` into an unfocused field as a
    click on it then a `type` without an element. Each rewritten action is what gets executed, so the episode's
    success proves the coordinates work."""
    config = config or GuiDataConfig()
    rng = random.Random(f"gui-episode:{task}:{seed}")
    size = rng.choice(config.screen_sizes)
    device = LocalPhoneDevice(Phone(*size, seed=rng.randrange(1 << 30)))
    settings = device.read_app_state(SETTINGS)
    device.write_app_state(SETTINGS, settings | {"dark_theme": rng.random() < config.dark_theme_p})
    chosen, before = _set_up(device, task, rng)
    plan, apps = Plan(chosen.plan(before)), device.apps()
    steps: list[OracleStep] = []
    answer = None

    def act(observation: Observation, action: Action, element: Element | None = None) -> None:
        steps.append(OracleStep(observation, action.to_json(), element))
        command = resolve(action, observation.elements, observation.size, apps)
        if element is not None and not _holds(element.bounds, (command.x, command.y)):
            raise RuntimeError(f"{task}: the click at {action.x},{action.y} misses {element}")
        device.execute(command)

    for _ in range(config.max_steps):
        observation = device.observe()
        action = action_from_json(plan.next_action(observation, None))
        element = observation.elements[action.element] if action.element is not None else None
        if action.kind == "done":
            steps.append(OracleStep(observation, action.to_json()))
            answer = action.answer
            break
        if action.kind == "type" and element is not None:
            if not element.focused:
                x, y = target_point(element.bounds, observation.size)
                act(observation, Action("click", x=x, y=y), element)
                observation = device.observe()
            act(observation, Action("type", text=action.text, clear=action.clear))
        elif action.kind in ("click", "long_press") and element is not None:
            x, y = target_point(element.bounds, observation.size)
            act(observation, Action(action.kind, x=x, y=y), element)
        else:
            act(observation, action)
    after = {package: device.read_app_state(package) for package in chosen.packages}
    success = answer is not None and chosen.check(before, after, answer)
    return OracleEpisode(task, seed, chosen.instruction, steps, success)


def action_examples(n: int, *, seed: int, split: str, config: GuiDataConfig | None = None) -> Iterator[VLExample]:
    """`n` steps of successful oracle episodes of the split's tasks: screenshot + instruction + recent actions ->
    the next action's JSON."""
    config = config or GuiDataConfig()
    names = task_names(split, config)
    produced, failures = 0, 0
    for index in itertools.count():
        if produced >= n:
            return
        rng = random.Random(f"gui-actions:{split}:{seed}:{index}")
        episode = oracle_episode(rng.choice(names), rng.randrange(1 << 30), config)
        if not episode.success:  # a failed plan would teach wrong actions
            failures += 1
            if failures > 20 + produced:
                raise RuntimeError(f"oracle episodes keep failing (last: {episode.task}, seed {episode.seed})")
            continue
        for number, step in enumerate(episode.steps):
            if produced >= n:
                break
            screen = (step.observation.package, step.observation.activity)
            if (split == "train" and config.train_actions_skip_held_out_screens
                    and split_of_screen(*screen, config) == "test"):
                continue
            history = [other.action for other in episode.steps[:number]]
            yield action_example(episode, number, history, split=split, config=config)
            produced += 1


def action_example(episode: OracleEpisode, number: int, history: list[dict], *, split: str,
                   config: GuiDataConfig) -> VLExample:
    step = episode.steps[number]
    observation = step.observation
    meta = {"task": episode.task, "episode_seed": episode.seed, "step": number, "app": observation.package,
            "activity": observation.activity, "screen_size": list(observation.size), "split": split}
    if step.element is not None:
        meta |= {"box": normalized_box(step.element.bounds, observation.size),
                 "label": step.element.text or step.element.description}
    prompt = vl_prompt_text(episode.instruction, history, max_history=config.max_history)  # the vl policy's own
    target = json.dumps(step.action, ensure_ascii=False)
    return VLExample(_scaled(observation.screenshot, config), prompt, target, "action", meta)


def _set_up(device: LocalPhoneDevice, name: str, rng: random.Random) -> tuple[Task, States]:
    """The task sampled from the phone's own seeded contents (more varied than the benchmark's fixed phone), from
    the default phone's as the runner does when a task needs something only those have (a "Grocery list" note)."""
    cls = task_class(name)
    states = {package: device.read_app_state(package) for package in cls.packages}
    task_seed = rng.random()
    try:
        chosen = cls(cls.sample(random.Random(task_seed), states))
    except (StopIteration, LookupError, ValueError):
        default = Phone(seed=0)
        states = {package: default.app_state(package) for package in cls.packages}
        chosen = cls(cls.sample(random.Random(task_seed), states))
    for package, state in {**states, **chosen.prepare(states)}.items():
        device.write_app_state(package, state)
    device.phone.press_key("home")  # every task starts from the home screen
    return chosen, {package: device.read_app_state(package) for package in cls.packages}


def _scaled(image: Image.Image, config: GuiDataConfig) -> Image.Image:
    """The screenshot, shrunk so that its longer side is at most `max_image_side`: a model's processor shrinks it
    anyway, and a full 1080x2400 RGB image is 7.8 MB in memory. BOX (area averaging) is the fastest filter that
    keeps thin text strokes."""
    limit = config.max_image_side
    if limit is None or max(image.size) <= limit:
        return image
    scale = limit / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.BOX)


def _holds(bounds: tuple[int, int, int, int], point: tuple[int | None, int | None]) -> bool:
    x, y = point
    return x is not None and y is not None and bounds[0] <= x < bounds[2] and bounds[1] <= y < bounds[3]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)}")


# -- grounding metric and baselines ------------------------------------------------------------------------------
_NUMBER = r"(-?\d+(?:\.\d+)?)"
_JSON_X, _JSON_Y = (re.compile(rf'"{key}"\s*:\s*{_NUMBER}') for key in ("x", "y"))
_PAIR = re.compile(rf"\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)")


def parse_point(text: str) -> tuple[int, int] | None:
    """The point of a model's reply in 0..1000: a click/long-press JSON action (strictly valid, else any `"x": ..,
    "y": ..` pair), or a "(x, y)" pair; None if there is none or it lies outside 0..1000."""
    try:
        action = parse_action(text)
        if action.kind in ("click", "long_press") and action.x is not None:
            return round(action.x), round(action.y)
    except MalformedActionError:
        pass
    x_match, y_match = _JSON_X.search(text), _JSON_Y.search(text)
    if x_match and y_match:
        x, y = float(x_match.group(1)), float(y_match.group(1))
    elif match := _PAIR.search(text):
        x, y = float(match.group(1)), float(match.group(2))
    else:
        return None
    return (round(x), round(y)) if 0 <= x <= 1000 and 0 <= y <= 1000 else None


def point_in_box(point: tuple[int, int], box: list[int] | tuple[int, ...]) -> bool:
    """Inclusive on every side: `box` holds the first and the last pixel row and column of the element."""
    x, y = point
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def grounding_accuracy(predictions: list[str], examples: list[VLExample]) -> float:
    """The fraction of replies whose point falls inside the example's `meta["box"]` (unreadable ones miss)."""
    if len(predictions) != len(examples):
        raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
    if not examples:
        raise ValueError("no examples to score")
    hits = 0
    for prediction, example in zip(predictions, examples, strict=True):
        point = parse_point(prediction)
        hits += point is not None and point_in_box(point, example.meta["box"])
    return hits / len(examples)


def trivial_baselines(train: Iterable[VLExample], test: list[VLExample], *, cell: int = 50) -> dict:
    """Accuracy on `test` of always answering one point: the screen centre, or the centre of the `cell`-sized grid
    cell where most train targets lie. What a grounding model must beat to have learnt anything from the pixels.
    `train` is read once and only for its targets: a lazy `read_examples` never holds its images at once."""
    points = [point for point in (parse_point(example.target) for example in train) if point is not None]
    scored = [example for example in test if "box" in example.meta]
    if not points or not scored:
        raise ValueError("the baselines need train targets with a point and test examples with a box")
    counts = Counter((x // cell, y // cell) for x, y in points)
    (column, line), _ = max(sorted(counts.items()), key=lambda item: item[1])  # ties: the first cell, determinism
    mode = (min(column * cell + cell // 2, 1000), min(line * cell + cell // 2, 1000))

    def accuracy(point: tuple[int, int]) -> float:
        return sum(point_in_box(point, example.meta["box"]) for example in scored) / len(scored)

    results = {"screen_center": {"point": [500, 500], "accuracy": accuracy((500, 500))},
               "train_mode": {"point": list(mode), "accuracy": accuracy(mode)}}
    best = max(results, key=lambda name: results[name]["accuracy"])
    return results | {"best": {"name": best, **results[best]}}
