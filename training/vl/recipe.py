"""The InfiR-VL recipe: the model, its data, the three stages with their freeze plans, evaluation, export and the
target. YAML on disk (training/recipes/vl_*.yaml), a `VLRecipe` in memory; every key is checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from infir_edge.errors import InfirEdgeError
from training.pretrain.errors import TrainingError
from training.typed_config import dataclass_from, read_yaml
from training.vl.train import PARTS, StageSettings

DATA_SETS = ("text_render", "grounding", "actions", "captions")


@dataclass
class ModelSettings:
    preset: str = "tiny-vl"  # the tower's shape (infir_edge.models.vl.VL_PRESETS) when `vision` is not given
    shape: dict = field(default_factory=dict)  # VisionShape fields that change the preset's (a custom tower)
    text: str = "default"  # the LM: "default" (SmolLM2-135M), a GGUF or a checkpoint directory
    vision: str | None = None  # a SigLIP checkpoint directory (paper scale); None: a random-init tower
    train_dtype: str = "bfloat16"  # autocast while training (fp32 master weights)
    eval_dtype: str = "float32"
    seed: int = 0


@dataclass
class DataSettings:
    text_render: int = 2000  # training examples rendered (before the similarity filter)
    grounding: int = 3000  # GUI grounding examples from the simulated phone
    actions: int = 600  # oracle trajectory steps
    captions: str | None = None  # paper scale: an examples folder (training.vl.examples) of captions/QA
    test_text_render: int = 100  # held-out sets (disjoint sources, screens and tasks)
    test_grounding: int = 300
    test_actions: int = 100
    render: dict = field(default_factory=dict)  # TextRenderConfig fields (fonts, sizes, noise) for text rendering
    similarity_scorer: str = "rendered"  # "rendered" (CPU scale) or a CLIP/SigLIP checkpoint directory
    similarity_threshold: float = 0.5  # the paper's threshold
    seed: int = 0


@dataclass
class EvalSettings:
    grounding_items: int = 300
    transcription_items: int = 100
    batch_size: int = 16
    max_new_tokens: int = 24
    bundle_items: int = 100  # grounding items re-scored through the exported bundle (one at a time)


@dataclass
class ExportSettings:
    formats: list[str] = field(default_factory=lambda: ["gguf:q8_0"])  # "format:quant"; the first is DIR/bundle


@dataclass
class Targets:
    grounding_gain: float = 0.20  # final grounding accuracy over the best trivial baseline


@dataclass
class VLRecipe:
    model: ModelSettings = field(default_factory=ModelSettings)
    data: DataSettings = field(default_factory=DataSettings)
    stages: list[StageSettings] = field(default_factory=list)
    eval: EvalSettings = field(default_factory=EvalSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    targets: Targets = field(default_factory=Targets)
    processes: int = 1  # training processes (GPUs) per stage: above 1, each stage runs under torchrun with FSDP2

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def text_render_config(data: DataSettings):
    """The text renderer's settings: its defaults, changed by the recipe's `data.render` (lists read as tuples)."""
    from training.vl.text_render import TextRenderConfig

    return TextRenderConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.render.items()})


def tower_shape(model: ModelSettings):
    """The random-init tower's `VisionShape`: the preset's, changed by `model.shape`."""
    from infir_edge.models.vl import vision_shape

    return dataclasses.replace(vision_shape(model.preset), **model.shape)


def load_vl_recipe(path: str | Path) -> VLRecipe:
    return vl_recipe_from_dict(read_yaml(path, TrainingError), source=str(path))


def vl_recipe_from_dict(raw: dict, *, source: str = "recipe") -> VLRecipe:
    recipe = dataclass_from(VLRecipe, raw, source, TrainingError)
    _check(recipe, source)
    return recipe


def _check(recipe: VLRecipe, source: str) -> None:
    """What a typo would otherwise turn into an error an hour into the run."""
    if [s.name for s in recipe.stages] != ["stage1", "stage2", "stage3"]:
        raise TrainingError(f"{source}: stages must be stage1, stage2, stage3 in order (the paper's three stages)")
    for stage in recipe.stages:
        where = f"{source}: stages.{stage.name}"
        unknown = sorted(set(stage.train) - set(PARTS))
        if unknown or not stage.train:
            raise TrainingError(f"{where}.train: choose from {list(PARTS)}, got {stage.train}")
        for name in stage.data:
            if name.split(":")[0] not in DATA_SETS:
                raise TrainingError(f"{where}.data: unknown data set {name!r} (known: {list(DATA_SETS)}, "
                                    "optionally 'set:kind')")
        if stage.steps < 1 or stage.batch_size < 1:
            raise TrainingError(f"{where}: steps and batch_size must be at least 1")
    uses_captions = any(name.startswith("captions") for s in recipe.stages for name in s.data)
    if uses_captions and not recipe.data.captions:
        raise TrainingError(f"{source}: a stage draws from 'captions' but data.captions names no folder")

    from infir_edge.export import exporter_module

    for spec in recipe.export.formats:
        fmt, _, quant = spec.partition(":")
        if fmt not in ("gguf", "onnx", "executorch"):
            raise TrainingError(f"{source}: export.formats: {spec!r} is not gguf|onnx|executorch:quant")
        quants = exporter_module(fmt).QUANTS
        if quant not in quants:
            raise TrainingError(f"{source}: export.formats: {spec!r}: the {fmt} quant must be one of "
                                f"{', '.join(quants)}")
    try:
        tower_shape(recipe.model)
    except (TypeError, InfirEdgeError) as e:
        raise TrainingError(f"{source}: model.preset/shape: {e}") from None
    try:
        text_render_config(recipe.data)
    except (TypeError, ValueError) as e:
        raise TrainingError(f"{source}: data.render: {e}") from None
    if recipe.processes < 1:
        raise TrainingError(f"{source}: processes must be at least 1")
    if recipe.model.train_dtype not in ("float32", "bfloat16"):
        raise TrainingError(f"{source}: model.train_dtype must be float32 or bfloat16")
