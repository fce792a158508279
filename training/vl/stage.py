"""One InfiR-VL training stage as a process of its own: spawned by the recipe runner on one machine, or started on
every GPU by torchrun (the runner does that when the recipe's `processes` is above 1):

    torchrun --nproc_per_node 8 -m training.vl.stage --out DIR --stage 2 --from-checkpoint DIR/stage2/checkpoint

It reads the recipe the run pinned (DIR/recipe.json), trains (FSDP2 across the processes, training.vl.train) and
writes DIR/<stage>/checkpoint (the full model gathered from the shards) and DIR/<stage>/train_summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infir_edge.files import atomic_write_text
from training.pretrain.errors import TrainingError


def train_stage_process(out: Path, index: int, start: str) -> dict:
    """Train stage `index` of the run in `out` from the checkpoint `start`; collective under torchrun."""
    import torch

    from infir_edge.models.vl import load_vl_checkpoint
    from training.pretrain.distributed import barrier, init_runtime, shutdown
    from training.vl.batches import Encoder
    from training.vl.recipe import vl_recipe_from_dict
    from training.vl.run import encoded_data
    from training.vl.train import train_stage

    recipe = vl_recipe_from_dict(json.loads((out / "recipe.json").read_text()), source=str(out / "recipe.json"))
    stage = recipe.stages[index]
    folder = out / stage.name
    summary_path = folder / "train_summary.json"
    runtime = init_runtime()
    try:
        if not (folder / "checkpoint").is_dir():
            torch.manual_seed(stage.seed)
            model, tokenizer = load_vl_checkpoint(start)
            encoder = Encoder(tokenizer, model.config, max_length=stage.max_length)
            encoded, too_long = encoded_data(out, stage, encoder)
            summary = train_stage(model, tokenizer, encoded, stage, folder / "train", runtime,
                                  dtype=recipe.model.train_dtype)
            summary["examples"], summary["too_long"] = len(encoded), too_long
            _save(model, tokenizer, start, folder / "checkpoint", runtime)
            if runtime.is_main:
                atomic_write_text(summary_path, json.dumps(summary, indent=1) + "\n")
        barrier(runtime)
        return json.loads(summary_path.read_text())
    finally:
        shutdown(runtime)


def _save(model, tokenizer, start: str, checkpoint: Path, runtime) -> None:
    """The trained model as a checkpoint; under FSDP2 every process hands its shards to rank 0, which writes them
    into an unsharded copy (collective)."""
    from infir_edge.models.vl import load_vl_checkpoint, save_vl_checkpoint

    if not runtime.distributed:
        save_vl_checkpoint(model, tokenizer, checkpoint, overwrite=True)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if runtime.is_main:
        plain, _ = load_vl_checkpoint(start)
        missing, unexpected = plain.load_state_dict(full, strict=False)  # FSDP's dict may omit the tied LM head
        if unexpected or set(missing) - {"lm_head.weight"}:  # else the start model would be saved as trained
            raise TrainingError(f"the gathered state dict does not fit the model: missing {sorted(missing)[:3]}, "
                                f"unexpected {sorted(unexpected)[:3]}")
        plain.tie_weights()
        save_vl_checkpoint(plain, tokenizer, checkpoint, overwrite=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.vl.stage", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--stage", required=True, type=int, help="0, 1 or 2")
    # not --start: torchrun would read it as an abbreviation of its own --start-method
    parser.add_argument("--from-checkpoint", dest="start", required=True, help="the checkpoint the stage starts from")
    args = parser.parse_args(argv)
    train_stage_process(args.out, args.stage, args.start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
