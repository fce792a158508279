"""`python -m training run --recipe R --out DIR`: the whole InfiR recipe (see training/run_recipe.py).

    python -m training run --recipe training/recipes/infir_cpu.yaml --out DIR [--overwrite] [--stop-after STAGE]
    python -m training ablation --recipe R --out DIR     the ablation arms (DIR: the run's folder, or a new one)
    python -m training synthesize --recipe R --out DIR    the synthesis pipeline alone (DIR: its folder)

Rerunning the same command resumes: finished stages are skipped, the running one continues. Exit codes as the
`infir-edge` command's: 0 done, 2 a user error (one `error: ...` line), 1 a bug.
"""

from __future__ import annotations

import argparse
import sys

from infir_edge.cli import CliParser, run_command


def _run(args) -> int:
    from training.recipe import load_recipe
    from training.run_recipe import run_recipe

    report = run_recipe(load_recipe(args.recipe), args.out, overwrite=args.overwrite, stop_after=args.stop_after,
                        echo=lambda line: print(line, flush=True))
    if "targets" in report:
        for name, check in report["targets"].items():
            print(f"{name}: {check['value']} (target {check['target']}): {'met' if check['met'] else 'NOT met'}")
    return 0


def _ablation(args) -> int:
    from training.recipe import load_recipe
    from training.run_recipe import run_ablation

    run_ablation(load_recipe(args.recipe), args.out, overwrite=args.overwrite,
                 echo=lambda line: print(line, flush=True))
    print(f"ablation table: {args.out}/ablation/report.md")
    return 0


def _synthesize(args) -> int:
    from training.recipe import load_recipe
    from training.sft.synthesize import synthesize

    stats = synthesize(load_recipe(args.recipe).synthesis, args.out, echo=lambda line: print(line, flush=True))
    print(f"{stats['accepted']:,} accepted, {stats['sft_examples']:,} SFT conversations -> {args.out}/sft.jsonl")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from training.run_recipe import STAGES

    parser = CliParser(prog="python -m training", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="the whole recipe: data, annealing, synthesis, SFT, evaluation, export")
    p.add_argument("--recipe", required=True, help="training/recipes/infir_cpu.yaml or infir_paper.yaml")
    p.add_argument("--out", required=True, help="the run's folder (resumed when it holds the same recipe)")
    p.add_argument("--overwrite", action="store_true", help="start again in --out, discarding what is there")
    p.add_argument("--stop-after", choices=STAGES, help="stop after this stage (a later run continues)")
    p.set_defaults(func=_run)
    p = sub.add_parser("ablation", help="the synthesis ablations: the same SFT budget on training sets differing in "
                                        "one choice (outside the main run's hour; reuses its annealing and synthesis)")
    p.add_argument("--recipe", required=True)
    p.add_argument("--out", required=True, help="the run's folder (its annealing and synthesis reused) or a new one")
    p.add_argument("--overwrite", action="store_true", help="start again in --out, discarding what is there")
    p.set_defaults(func=_ablation)
    p = sub.add_parser("synthesize", help="the SFT data synthesis pipeline alone, from the recipe's synthesis section")
    p.add_argument("--recipe", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_synthesize)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
