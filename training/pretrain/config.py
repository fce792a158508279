"""A pretraining recipe: the model to start from, the data and its mixtures, the two stages of the warmup-stable-decay
schedule, the optimizer, checkpoints. YAML on disk (training/recipes/pretrain_*.yaml), a `PretrainRecipe` in memory;
every key is checked (training/typed_config.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from training.data.executors import EXECUTORS, ExecutorSettings
from training.pretrain.errors import TrainingError
from training.typed_config import dataclass_from, no_unknown_keys, read_yaml

STAGES = ("pretrain", "anneal")  # the stable phase, then the decay phase (InfiR: ~900B tokens, then ~40B)


@dataclass
class ModelSettings:
    # 'default' (the embedded SmolLM2-135M-Instruct, converted to a checkpoint under --out), a checkpoint directory,
    # or a preset of infir_edge.models.infir (infir-1b, tiny) built random-init
    source: str = "default"
    tokenizer: str | None = None  # a checkpoint directory whose tokenizer a preset uses (default: the embedded one's)
    seed: int = 0  # random init of a preset


@dataclass
class BuiltinData:
    """When the data folder is missing: run the data pipeline on the built-in corpora (infir_edge.corpora) first."""

    recipe: str = "training/recipes/data_cpu.yaml"
    stages: list[str] = field(default_factory=lambda: ["filter", "dedup", "decontam"])
    wiki: int = 800  # Wikipedia summaries (web)
    code: int = 200  # standard-library source documents (code)
    math: int = 600  # synthetic worked math (math)
    seed: int = 0


@dataclass
class DataSettings:
    kept: str = "data/kept"  # the data pipeline's kept/ folder; relative paths are under --out
    build_if_missing: BuiltinData | None = field(default_factory=BuiltinData)  # null: a missing folder is an error
    seq_len: int = 128  # tokens per packed training sequence
    document_separator: str | None = None  # appended to every document (default: the tokenizer's EOS token)
    tokenize_tasks: int = 2  # datatrove tasks writing token files per source (fixed once tokenized)
    # where tokenization runs (datatrove's local, Slurm or Ray executor, training/data/executors.py) and how many
    # tasks at once (`workers`)
    tokenize_executor: ExecutorSettings = field(default_factory=ExecutorSettings)


@dataclass
class Source:
    name: str
    weight: float  # share of the stage's sequences
    domain: str | None = None  # keep only documents whose metadata.domain is this (web | code | math ...)
    path: str | None = None  # a folder of datatrove JSONL documents (default: data.kept)


@dataclass
class Stage:
    tokens: int  # training tokens in this stage
    mixture: list[Source]


@dataclass
class OptimSettings:
    lr: float = 3e-4  # the peak (stable-phase) learning rate
    min_lr_ratio: float = 0.1  # the annealing phase decays to lr * min_lr_ratio
    warmup_steps: int = 0
    decay: str = "1-sqrt"  # linear | cosine | 1-sqrt (Hägele et al. 2024 found 1-sqrt best for WSD cooldowns)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0


@dataclass
class BatchSettings:
    micro_batch: int = 4  # sequences per forward/backward on one process
    global_batch: int = 8  # sequences per optimizer step, over all processes: micro_batch x accumulation x world


@dataclass
class TrainSettings:
    precision: str = "auto"  # auto: bf16 autocast on GPU, fp32 on CPU | bf16 | fp32
    threads: int | None = None  # CPU threads per process (default: physical cores / local processes)
    checkpoint_every: int = 10  # optimizer steps between checkpoints
    keep_checkpoints: int = 2
    log_every: int = 1
    seed: int = 0


@dataclass
class PretrainRecipe:
    model: ModelSettings
    data: DataSettings
    stages: dict[str, Stage]  # pretrain, anneal (in this order; either may be left out)
    optim: OptimSettings
    batch: BatchSettings
    train: TrainSettings

    def stage_steps(self, name: str) -> int:
        return math.ceil(self.stages[name].tokens / (self.batch.global_batch * self.data.seq_len))


def load_recipe(path: str | Path) -> PretrainRecipe:
    return recipe_from_dict(read_yaml(path, TrainingError), source=str(path))


def recipe_from_dict(raw: dict, *, source: str = "recipe") -> PretrainRecipe:
    no_unknown_keys(raw, {"model", "data", "stages", "optim", "batch", "train"}, source, TrainingError)

    def builtin(value, where):
        return None if value is None else dataclass_from(BuiltinData, value, where, TrainingError)

    def executor(value, where):
        settings = dataclass_from(ExecutorSettings, value, where, TrainingError)
        if settings.kind not in EXECUTORS:
            raise TrainingError(f"{where}.kind {settings.kind!r}: one of {', '.join(EXECUTORS)}")
        return settings

    recipe = PretrainRecipe(
        model=dataclass_from(ModelSettings, raw.get("model"), f"{source}: model", TrainingError),
        data=dataclass_from(DataSettings, raw.get("data"), f"{source}: data", TrainingError, build_if_missing=builtin,
                            tokenize_executor=executor),
        stages=_stages(raw.get("stages"), f"{source}: stages"),
        optim=dataclass_from(OptimSettings, raw.get("optim"), f"{source}: optim", TrainingError),
        batch=dataclass_from(BatchSettings, raw.get("batch"), f"{source}: batch", TrainingError),
        train=dataclass_from(TrainSettings, raw.get("train"), f"{source}: train", TrainingError),
    )
    _check(recipe, source)
    return recipe


def _stages(raw, where: str) -> dict[str, Stage]:
    if not isinstance(raw, dict) or not raw:
        raise TrainingError(f"{where}: expected a mapping with {' and/or '.join(STAGES)}")
    no_unknown_keys(raw, set(STAGES), where, TrainingError)

    def mixture(value, at):
        if not isinstance(value, list) or not value:
            raise TrainingError(f"{at}: expected a non-empty list of sources")
        return [dataclass_from(Source, item, f"{at}[{i}]", TrainingError) for i, item in enumerate(value)]

    return {name: dataclass_from(Stage, raw[name], f"{where}.{name}", TrainingError, mixture=mixture)
            for name in STAGES if name in raw}


def _check(recipe: PretrainRecipe, source: str) -> None:
    def fail(message: str):
        raise TrainingError(f"{source}: {message}")

    if recipe.data.seq_len < 2:
        fail(f"data.seq_len must be at least 2, got {recipe.data.seq_len}")
    if recipe.batch.micro_batch < 1 or recipe.batch.global_batch % recipe.batch.micro_batch:
        fail(f"batch.global_batch ({recipe.batch.global_batch}) must be a multiple of batch.micro_batch "
             f"({recipe.batch.micro_batch})")
    if recipe.optim.decay not in ("linear", "cosine", "1-sqrt"):
        fail(f"optim.decay must be linear, cosine or 1-sqrt, got {recipe.optim.decay!r}")
    if recipe.train.precision not in ("auto", "bf16", "fp32"):
        fail(f"train.precision must be auto, bf16 or fp32, got {recipe.train.precision!r}")
    if recipe.train.checkpoint_every < 1 or recipe.train.keep_checkpoints < 1:
        fail("train.checkpoint_every and train.keep_checkpoints must be at least 1")
    for name, stage in recipe.stages.items():
        if stage.tokens < 1:
            fail(f"stages.{name}.tokens must be positive")
        names = [s.name for s in stage.mixture]
        if len(set(names)) < len(names):
            fail(f"stages.{name}.mixture names a source twice: {names}")
        if any(s.weight <= 0 for s in stage.mixture):
            fail(f"stages.{name}.mixture: every weight must be positive")
    if "pretrain" in recipe.stages and recipe.optim.warmup_steps > recipe.stage_steps("pretrain"):
        fail(f"optim.warmup_steps ({recipe.optim.warmup_steps}) is longer than the pretrain phase "
             f"({recipe.stage_steps('pretrain')} steps)")
