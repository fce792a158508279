"""A data recipe: which stages run, how many tasks and workers, on which executor, and each stage's thresholds.

YAML on disk (training/recipes/data_*.yaml), a `DataRecipe` in memory. Every key is checked: an unknown key or a
value of the wrong type is a `DataError` naming it, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from training.data.errors import DataError
from training.data.executors import EXECUTORS, ExecutorSettings
from training.typed_config import checked, dataclass_from, no_unknown_keys, read_yaml

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
    return recipe_from_dict(read_yaml(path, DataError), source=str(path))


def recipe_from_dict(raw: dict, *, source: str = "recipe") -> DataRecipe:
    if not isinstance(raw, dict):
        raise DataError(f"{source}: expected a mapping at the top level")
    top = {"stages", "tasks", "workers", "executor", *STAGES}
    no_unknown_keys(raw, top, source, DataError)
    stages = checked(raw.get("stages", list(STAGES)), list[str], f"{source}: stages", DataError)
    for name in stages:
        if name not in STAGES:
            raise DataError(f"{source}: unknown stage {name!r} in stages: choose from {', '.join(STAGES)}")
    tasks = checked(raw.get("tasks", 2), int, f"{source}: tasks", DataError)
    workers = checked(raw.get("workers", 2), int, f"{source}: workers", DataError)
    if tasks < 1 or workers == 0:
        raise DataError(f"{source}: tasks must be >= 1 and workers >= 1 (or -1 = all), got {tasks} and {workers}")
    executor = dataclass_from(ExecutorSettings, {"workers": workers, **(raw.get("executor") or {})},
                              f"{source}: executor", DataError)
    if executor.kind not in EXECUTORS:
        raise DataError(f"{source}: executor.kind {executor.kind!r}: one of {', '.join(EXECUTORS)}")
    configs = {name: dataclass_from(stage_classes(name)[1], raw.get(name) or {}, f"{source}: {name}", DataError)
               for name in STAGES}
    return DataRecipe(stages=stages, tasks=tasks, workers=workers, executor=executor, **configs)
