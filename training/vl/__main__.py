"""`python -m training.vl --recipe training/recipes/vl_cpu.yaml --out DIR`: the three InfiR-VL stages end to end.

Rerunning the same command resumes (finished stages are skipped, a training stage continues from its checkpoint).
Exit codes as the `infir-edge` command's: 0 done, 2 a user error (one `error: ...` line), 1 a bug.
"""

from __future__ import annotations

import sys

from infir_edge.cli import CliParser, run_command


def _run(args) -> int:
    from training.vl.recipe import load_vl_recipe
    from training.vl.run import run_vl_recipe

    report = run_vl_recipe(load_vl_recipe(args.recipe), args.out, overwrite=args.overwrite,
                           stop_after=args.stop_after, echo=lambda line: print(line, flush=True))
    if "grounding_accuracy" in report:
        print(f"grounding_accuracy {report['grounding_accuracy']:.3f}, baseline_accuracy "
              f"{report['baseline_accuracy']:.3f}: {'met' if report['target_met'] else 'NOT met'}")
    return 0


def build_parser():
    from training.vl.run import STAGES

    parser = CliParser(prog="python -m training.vl", description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True, help="a VL recipe YAML (training/recipes/vl_cpu.yaml)")
    parser.add_argument("--out", required=True, help="the run's folder (a rerun resumes it)")
    parser.add_argument("--overwrite", action="store_true", help="start again in a folder that holds a run")
    parser.add_argument("--stop-after", choices=STAGES, help="stop after this stage")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(_run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
