"""A data recipe: which stages run, how many tasks and workers, on which executor, and each stage's thresholds.

YAML on disk (training/recipes/data_*.yaml), a `DataRecipe` in memory. Every key is checked: an unknown key or a
value of the wrong type is a `DataError` naming it, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.data.errors import DataError
from training.data.executors import EXECUTORS, ExecutorSettings

if TYPE_CHECKING:
    from training.data.stages.decontam import DecontamConfig
    from training.data.stages.dedup import DedupConfig
    from training.data.stages.heuristic import HeuristicConfig
    from training.data.stages.quality import QualityConfig
    from training.data.stages.recall import RecallConfig

# stage name -> (module, stage class, config class), in the InfiR order
STAGES: dict[str, tuple[str, str, str]] = {
    "filter": ("training.data.stages.heuristic", "HeuristicStage", "HeuristicConfig"),
    "recall": ("training.data.stages.recall", "RecallStage", "RecallConfig"),
    "dedup": ("training.data.stages.dedup", "DedupStage", "DedupConfig"),
    "quality": ("training.data.stages.quality", "QualityStage", "QualityConfig"),
    "decontam": ("training.data.stages.decontam", "DecontamStage", "DecontamConfig"),
}


def stage_classes(name: str) -> tuple[type, type]:
    """(stage class, config class) of a stage, imported on demand (each pulls in its own heavy dependencies)."""
    if name not in STAGES:
        raise DataError(f"unknown stage {name!r}: choose from {', '.join(STAGES)}")
    module, stage, config = STAGES[name]
    loaded = importlib.import_module(module)
    return getattr(loaded, stage), getattr(loaded, config)


@dataclass
class DataRecipe:
    stages: list[str]
    tasks: int  # datatrove tasks per document-reading executor; fixed for a run (resuming relies on it)
    workers: int  # tasks at once
    executor: ExecutorSettings
    filter: HeuristicConfig
    recall: RecallConfig
    dedup: DedupConfig
    quality: QualityConfig
    decontam: DecontamConfig

    def stage_config(self, name: str):
        return getattr(self, name)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_recipe(path: str | Path) -> DataRecipe:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataError(f"recipe {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise DataError(f"recipe {path} is not valid YAML: {e}") from None
    return recipe_from_dict(raw, source=str(path))


def recipe_from_dict(raw: dict, *, source: str = "recipe") -> DataRecipe:
    if not isinstance(raw, dict):
        raise DataError(f"{source}: expected a mapping at the top level")
    top = {"stages", "tasks", "workers", "executor", *STAGES}
    _no_unknown_keys(raw, top, source)
    stages = _checked(raw.get("stages", list(STAGES)), list[str], f"{source}: stages")
    for name in stages:
        if name not in STAGES:
            raise DataError(f"{source}: unknown stage {name!r} in stages: choose from {', '.join(STAGES)}")
    tasks = _checked(raw.get("tasks", 2), int, f"{source}: tasks")
    workers = _checked(raw.get("workers", 2), int, f"{source}: workers")
    if tasks < 1 or workers == 0:
        raise DataError(f"{source}: tasks must be >= 1 and workers >= 1 (or -1 = all), got {tasks} and {workers}")
    executor = _dataclass_from(ExecutorSettings, {"workers": workers, **(raw.get("executor") or {})},
                               f"{source}: executor")
    if executor.kind not in EXECUTORS:
        raise DataError(f"{source}: executor.kind {executor.kind!r}: one of {', '.join(EXECUTORS)}")
    configs = {name: _dataclass_from(stage_classes(name)[1], raw.get(name) or {}, f"{source}: {name}")
               for name in STAGES}
    return DataRecipe(stages=stages, tasks=tasks, workers=workers, executor=executor, **configs)


def _no_unknown_keys(raw: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DataError(f"{where}: unknown keys {unknown} (known: {sorted(known)})")


def _dataclass_from(cls: type, raw: dict, where: str):
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown_keys(raw, set(fields), where)
    hints = typing.get_type_hints(cls)
    return cls(**{key: _checked(value, hints[key], f"{where}.{key}") for key, value in raw.items()})


def _checked(value, hint, where: str):
    """`value` if it fits the type hint (ints pass as floats; a list passes as a tuple), else a DataError."""
    if _fits(value, hint):
        return tuple(value) if typing.get_origin(hint) is tuple else value
    raise DataError(f"{where}: expected {_name(hint)}, got {value!r}")


def _fits(value, hint) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args, strict=True))
        return not args or all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and (not args or all(_fits(v, args[1]) for v in value.values()))
    if hint is dict:
        return isinstance(value, dict)
    if hint is list:
        return isinstance(value, list)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
