"""The model training starts from: the embedded default (converted to a checkpoint once), a checkpoint directory, or
a preset of the InfiR family built random-init (infir_edge.models.infir) with a tokenizer from a checkpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infir_edge.models.infir import PRESETS
from training.pretrain.config import ModelSettings
from training.pretrain.errors import TrainingError


@dataclass(frozen=True)
class BaseModel:
    checkpoint: Path | None  # the weights to continue from (None: a random-init preset)
    tokenizer_dir: Path  # tokenizer.json, its config and chat template
    preset: str | None = None


def prepare_base(settings: ModelSettings, out: Path, echo) -> BaseModel:
    """Resolve `settings.source` to files, converting the embedded default into `out/base` the first time.
    Run on one process (it may write)."""
    source = settings.source
    if source in PRESETS:
        tokenizer = settings.tokenizer or "default"
        return BaseModel(None, _checkpoint_dir(tokenizer, out, echo), preset=source)
    return BaseModel(_checkpoint_dir(source, out, echo), _checkpoint_dir(settings.tokenizer or source, out, echo))


def default_checkpoint(out: Path, echo) -> Path:
    """The embedded default model as a checkpoint in `out/base`, converted once (pretraining, SFT and the recipe)."""
    base = out / "base"
    if not (base / "config.json").is_file():
        from infir_edge.models.convert import gguf_to_checkpoint

        echo(f"converting the embedded default model to a checkpoint in {base}")
        gguf_to_checkpoint("default", base, overwrite=True)  # atomic: a killed conversion leaves nothing
    return base


def _checkpoint_dir(source: str, out: Path, echo) -> Path:
    if source == "default":
        return default_checkpoint(out, echo)
    path = Path(source).expanduser()
    if not (path / "config.json").is_file():
        presets = ", ".join(PRESETS)
        raise TrainingError(f"model.source {source!r}: not 'default', a preset ({presets}) or a checkpoint "
                            "directory with a config.json")
    if not (path / "tokenizer.json").is_file():
        raise TrainingError(f"{path}: no tokenizer.json (training tokenizes with it)")
    return path


def load_tokenizer(base: BaseModel):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base.tokenizer_dir))


def build_model(base: BaseModel, tokenizer, *, seed: int):
    """The model in fp32 on the CPU, with sdpa attention (the block-diagonal packing mask needs it)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    if base.checkpoint is not None:
        try:
            model = AutoModelForCausalLM.from_pretrained(str(base.checkpoint), dtype=torch.float32,
                                                         attn_implementation="sdpa")
        except Exception as e:  # safetensors, config and I/O errors have no common base
            raise TrainingError(f"{base.checkpoint}: transformers could not load the model: {e}") from None
    else:
        from infir_edge.models.infir import preset_config

        config = preset_config(base.preset, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                               eos_token_id=tokenizer.eos_token_id)
        torch.manual_seed(seed)
        model = LlamaForCausalLM._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    if model.config.vocab_size < len(tokenizer):
        raise TrainingError(f"the tokenizer has {len(tokenizer)} tokens, the model's vocabulary only "
                            f"{model.config.vocab_size}")
    return model


def provenance(base: BaseModel) -> dict:
    """What `DIR/final/infir_edge_source.json` records: the base, and llama.cpp's pre-tokenizer name for export."""
    record = {"trained_by": "training.pretrain", "base": str(base.checkpoint) if base.checkpoint else base.preset}
    source_file = base.tokenizer_dir / "infir_edge_source.json"
    if source_file.is_file():
        record["tokenizer_pre"] = json.loads(source_file.read_text()).get("tokenizer_pre")
    return record
