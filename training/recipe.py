"""The end-to-end recipe: data -> annealing -> synthesis -> SFT -> evaluation before/after -> export -> evaluation
of the bundle, with the ablations of the synthesis choices. YAML on disk (training/recipes/infir_*.yaml), an
`InfirRecipe` in memory; every key is checked against the dataclasses below and the steps' own settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from training.sft.errors import SFTError
from training.sft.synthesize import SynthesisSettings
from training.sft.train import SFTSettings
from training.typed_config import dataclass_from, read_yaml


@dataclass
class AblationSettings:
    enabled: bool = True
    # each arm: a training set built from this run's synthesis, trained with the same budget, scored on multi_step
    arms: list[str] = field(default_factory=lambda: ["rejection_evolved", "raw_evolved", "rejection_seeds_only"])
    max_steps: int = 60  # the same SFT budget for every arm
    eval_items: int = 100


@dataclass
class EvalSettings:
    items: int = 200  # per word-problem tier: the GGUF bundle, the model the targets judge
    # the models the bundle is compared with, the model before training and the trained checkpoint, on the first
    # `reference_items` of each tier (None: `items`): both decode on torch, in batches, which on 2 cores is still
    # slower than the bundle on llama.cpp, and the default model rambles to the token limit
    reference_items: int | None = None
    # the checkpoints' weights while evaluated: "auto" is bf16 where the CPU has bf16 units (~1.8x faster than fp32
    # there), fp32 where torch would emulate it (3.5x slower than fp32 on an AVX2 CPU)
    dtype: str = "auto"
    humaneval: bool = True  # the default model and the exported bundle, both through llama.cpp
    humaneval_limit: int | None = None
    threads: int | None = None

    @property
    def reference_count(self) -> int:
        return self.items if self.reference_items is None else self.reference_items


@dataclass
class ExportSettings:
    quant: str = "q8_0"  # the GGUF bundle in DIR/bundle
    also: list[str] = field(default_factory=list)  # more formats as "format:quant" (onnx:int8, executorch:8da4w)


@dataclass
class Targets:
    # accuracy of the GGUF bundle with the calculator, as users run it, on problems the recipe never trained on
    one_two_step: float = 0.80
    multi_step: float = 0.30
    humaneval_drop: float = 0.02  # at most this below the default model
    bundle_gap: float = 0.02  # the GGUF bundle against the checkpoint, both tiers


@dataclass
class InfirRecipe:
    pretrain: dict | None = None  # a training.pretrain recipe (annealing); None: SFT starts from `sft.model`
    synthesis: SynthesisSettings = field(default_factory=SynthesisSettings)
    sft: SFTSettings = field(default_factory=SFTSettings)
    ablation: AblationSettings = field(default_factory=AblationSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    targets: Targets = field(default_factory=Targets)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_recipe(path: str | Path) -> InfirRecipe:
    return recipe_from_dict(read_yaml(path, SFTError), source=str(path))


def recipe_from_dict(raw: dict, *, source: str = "recipe") -> InfirRecipe:
    if not isinstance(raw, dict):
        raise SFTError(f"{source}: expected a mapping at the top level")
    recipe = dataclass_from(InfirRecipe, raw, source, SFTError)
    if recipe.pretrain is not None:
        from training.pretrain.config import recipe_from_dict as pretrain_recipe

        pretrain_recipe(recipe.pretrain, source=f"{source}: pretrain")  # checked now, not an hour in
    _check_values(recipe, source)
    return recipe


def _check_values(recipe: InfirRecipe, source: str) -> None:
    """The values a typo would otherwise turn into another behaviour, or an error an hour into the run."""
    from training.sft.problems import TIERS

    synthesis = recipe.synthesis
    choices = {
        "synthesis.rejection.score_when": (synthesis.rejection.score_when, ("always", "choice")),
        "synthesis.rejection.prefer": (synthesis.rejection.prefer, ("shortest", "longest")),
        "synthesis.scorer.kind": (synthesis.scorer.kind, ("judge", "reward_model", "none")),
        "eval.dtype": (recipe.eval.dtype, ("auto", "float32", "bfloat16", "float16")),
        **{f"synthesis.seeds.math[{i}].tier": (m.tier, tuple(TIERS)) for i, m in enumerate(synthesis.seeds.math)},
    }
    for where, (value, allowed) in choices.items():
        if value not in allowed:
            raise SFTError(f"{source}: {where} must be one of {', '.join(allowed)}, not {value!r}")
    from training.eval.word_problems import DECONTAM_ITEMS

    for where, items in (("eval.items", recipe.eval.items), ("eval.reference_items", recipe.eval.reference_count),
                         ("ablation.eval_items", recipe.ablation.eval_items)):
        if not 1 <= items <= DECONTAM_ITEMS:  # beyond, test items would not be checked against the training data
            raise SFTError(f"{source}: {where} must be from 1 to {DECONTAM_ITEMS}, not {items}")
    if recipe.eval.reference_count > recipe.eval.items:  # the bundle is compared with the references on these
        raise SFTError(f"{source}: eval.reference_items ({recipe.eval.reference_items}) must not exceed eval.items "
                       f"({recipe.eval.items})")
    unknown = sorted(set(recipe.ablation.arms) - set(ARMS))
    if unknown:
        raise SFTError(f"{source}: ablation.arms: unknown {unknown} (known: {list(ARMS)})")
    try:
        recipe.sft.check()
    except SFTError as e:
        raise SFTError(f"{source}: sft: {e}") from None


# ablation arm -> (candidates: rejection-sampled or raw, instructions: with the evolved ones or seeds only)
ARMS = {
    "rejection_evolved": ("rejection", "evolved"),
    "raw_evolved": ("raw", "evolved"),
    "rejection_seeds_only": ("rejection", "seeds"),
    "raw_seeds_only": ("raw", "seeds"),
}
