"""`python -m training.agent --recipe training/recipes/agent_cpu.yaml --out DIR`: train the GUI agent's text policy.

Demonstrations from the simulated phone (training seeds >= 1000), SFT of the default model, a GGUF bundle in
DIR/bundle/, then `infir-agent bench` with it on the evaluation seed; DIR/report.json and report.md. Rerunning the
same command resumes. Exit codes as the `infir-edge` command's: 0 done, 2 a user error (one `error: ...` line).
"""

from __future__ import annotations

import sys

from infir_edge.cli import CliParser, run_command


def _run(args) -> int:
    from training.agent.recipe import load_agent_recipe
    from training.agent.run import run_agent_recipe

    report = run_agent_recipe(load_agent_recipe(args.recipe), args.out, overwrite=args.overwrite,
                              stop_after=args.stop_after, echo=lambda line: print(line, flush=True))
    for name, check in report.get("targets", {}).items():
        print(f"{name}: {check['value']} (target {check['target']}): {'met' if check['met'] else 'NOT met'}")
    return 0


def build_parser():
    from training.agent.run import STAGES

    parser = CliParser(prog="python -m training.agent", description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True, help="an agent recipe YAML (training/recipes/agent_cpu.yaml)")
    parser.add_argument("--out", required=True, help="the run's folder (a rerun resumes it)")
    parser.add_argument("--overwrite", action="store_true", help="start again in a folder that holds a run")
    parser.add_argument("--stop-after", choices=STAGES, help="stop after this stage")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(_run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
