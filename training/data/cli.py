"""`python -m training.data`: run the pipeline over a corpus, or build the planted test corpus.

    python -m training.data run --recipe training/recipes/data_cpu.yaml --input PATH --out DIR
        [--stages filter,recall,dedup,quality,decontam] [--workers N] [--executor local|slurm|ray] [--overwrite]
    python -m training.data corpus --out FILE [--good N] [--seed S]

Exit codes as the `infir-edge` command's: 0 done, 2 a user error (one `error: ...` line), 1 a bug.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from infir_edge.cli import CliParser, run_command
from training.data.executors import EXECUTORS


def _run(args) -> int:
    from training.data.errors import DataError
    from training.data.pipeline import run_pipeline
    from training.data.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages else None
    if args.stages is not None and not stages:
        raise DataError("--stages names no stage")
    if args.workers is not None and args.workers < 1:
        raise DataError(f"--workers must be at least 1, not {args.workers}")
    executor = dataclasses.replace(recipe.executor, kind=args.executor or recipe.executor.kind,
                                   workers=args.workers or recipe.executor.workers)
    recipe = dataclasses.replace(recipe, executor=executor)
    run_pipeline(recipe, args.input, args.out, stages=stages, overwrite=args.overwrite,
                 echo=lambda line: print(line, flush=True))
    return 0


def _corpus(args) -> int:
    from training.data.corpus import build_mixed_corpus

    print(json.dumps(build_mixed_corpus(args.out, good=args.good, seed=args.seed), indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="python -m training.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=CliParser)
    run = commands.add_parser("run", help="filter, recall, deduplicate, score and decontaminate a corpus")
    run.add_argument("--recipe", required=True, help="a data recipe YAML (training/recipes/data_cpu.yaml)")
    run.add_argument("--input", required=True, help=".jsonl, .jsonl.gz or .parquet file, or a folder of them")
    run.add_argument("--out", required=True, help="output folder (kept/, removed/, stats.json, report.md)")
    run.add_argument("--stages", help="comma-separated subset, run in the given order (default: the recipe's)")
    run.add_argument("--workers", type=int, help="tasks at once (default: the recipe's)")
    run.add_argument("--executor", choices=EXECUTORS, help="default: the recipe's")
    run.add_argument("--overwrite", action="store_true", help="discard a previous run in --out and start over")
    run.set_defaults(func=_run)
    corpus = commands.add_parser("corpus", help="a mixed corpus with planted junk, duplicates and contamination")
    corpus.add_argument("--out", required=True, help="the .jsonl.gz file to write")
    corpus.add_argument("--good", type=int, default=600, help="clean documents (default: 600)")
    corpus.add_argument("--seed", type=int, default=0)
    corpus.set_defaults(func=_corpus)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)
