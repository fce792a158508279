"""The agent recipe: which demonstrations, how the text policy is fine-tuned, exported and benchmarked.

Every key is checked (training.typed_config): a typo fails at load time, not an hour into the run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from training.pretrain.errors import TrainingError
from training.sft.train import SFTSettings
from training.typed_config import dataclass_from, read_yaml

FIRST_TRAINING_SEED = 1000  # seeds below are the benchmark's: no demonstration is ever recorded from them


@dataclass
class DemonstrationSettings:
    seeds: int = 10  # episodes per training task, seeds FIRST_TRAINING_SEED, FIRST_TRAINING_SEED + 1, ...
    first_seed: int = FIRST_TRAINING_SEED
    rejected: float = 0.06  # per step: the chance that it starts with each deviation (training.agent.demonstrations)
    wrong_screen: float = 0.08
    gate_refusal: float = 0.04
    max_steps: int = 30


@dataclass
class BenchSettings:
    seed: int = 0  # an evaluation seed (< FIRST_TRAINING_SEED)
    max_steps: int = 20
    threads: int | None = None
    tasks: list[str] = field(default_factory=list)  # empty: all 28


@dataclass
class AgentRecipe:
    heldout_tasks: list[str] = field(default_factory=list)  # never in the demonstrations; reported apart
    demonstrations: DemonstrationSettings = field(default_factory=DemonstrationSettings)
    sft: SFTSettings = field(default_factory=SFTSettings)
    quant: str = "q8_0"  # the GGUF bundle's quantization
    bench: BenchSettings = field(default_factory=BenchSettings)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def training_tasks(self) -> list[str]:
        from android_agent.tasks import TASKS

        return [name for name in TASKS if name not in self.heldout_tasks]


def load_agent_recipe(path: str | Path) -> AgentRecipe:
    return agent_recipe_from_dict(read_yaml(path, TrainingError), source=str(path))


def agent_recipe_from_dict(raw: dict, *, source: str = "recipe") -> AgentRecipe:
    from android_agent.tasks import TASKS

    recipe = dataclass_from(AgentRecipe, raw, source, TrainingError)
    for key, names in (("heldout_tasks", recipe.heldout_tasks), ("bench.tasks", recipe.bench.tasks)):
        unknown = sorted(set(names) - set(TASKS))
        if unknown:
            raise TrainingError(f"{source}: {key}: unknown tasks {unknown} (known: {', '.join(TASKS)})")
    d = recipe.demonstrations
    if d.first_seed < FIRST_TRAINING_SEED:
        raise TrainingError(f"{source}: demonstrations.first_seed must be >= {FIRST_TRAINING_SEED}: lower seeds are "
                            "the benchmark's")
    if recipe.bench.seed >= FIRST_TRAINING_SEED:
        raise TrainingError(f"{source}: bench.seed must be below {FIRST_TRAINING_SEED} (an evaluation seed)")
    if d.seeds < 1 or d.max_steps < 1 or recipe.bench.max_steps < 1:
        raise TrainingError(f"{source}: demonstrations.seeds, max_steps and bench.max_steps must be at least 1")
    rates = (d.rejected, d.wrong_screen, d.gate_refusal)
    if min(rates) < 0 or sum(rates) >= 1:
        raise TrainingError(f"{source}: the deviation rates must be >= 0 and sum below 1, got {rates}")
    recipe.sft.check()
    return recipe
