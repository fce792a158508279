"""`python -m training.pretrain`: continued pretraining, then annealing, into one output folder.

    python -m training.pretrain --recipe training/recipes/pretrain_cpu.yaml --out DIR [--max-steps N] [--overwrite]
    torchrun --nproc_per_node 8 -m training.pretrain --recipe training/recipes/pretrain_paper.yaml --out DIR

Rerunning the same command resumes from the last checkpoint. Exit codes as the `infir-edge` command's: 0 done (or
stopped by --max-steps), 2 a user error (one `error: ...` line), 1 a bug.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from infir_edge.cli import CliParser, run_command

# what --overwrite discards; base/, data/ and tokens/ are keyed by what they hold and reused
RUN_OUTPUTS = ("checkpoints", "final", "run.json", "metrics.jsonl", "loss.png", "summary.json")


def _train(args) -> int:
    import os

    from training.pretrain.config import load_recipe
    from training.pretrain.errors import TrainingError
    from training.pretrain.trainer import run_pretraining

    recipe = load_recipe(args.recipe)
    if args.max_steps is not None and args.max_steps < 1:
        raise TrainingError(f"--max-steps must be at least 1, not {args.max_steps}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out} is a file, not a folder")
    if args.overwrite and int(os.environ.get("RANK", "0")) == 0:
        for name in RUN_OUTPUTS:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    run_pretraining(recipe, out, max_steps=args.max_steps, echo=lambda line: print(line, flush=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="python -m training.pretrain", description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", required=True, help="a pretraining recipe (training/recipes/pretrain_cpu.yaml)")
    parser.add_argument("--out", required=True, help="the run's folder: checkpoints, metrics, final/ (resumed)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (rerun to continue)")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the run in --out (its checkpoints, metrics and final model) and start over")
    parser.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)
