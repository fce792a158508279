"""`python -m training.eval`: HumanEval pass@1, arithmetic accuracy and perplexity of one model.

    python -m training.eval --model M --suites humaneval,math,ppl,word_problems [--limit N] [--dtype bfloat16] --out DIR
        [--backend B] [--threads T] [--n-ctx N] [--overwrite]

M: 'default' (the embedded SmolLM2-135M-Instruct), a checkpoint directory, a .gguf file or a bundle directory.
Writes DIR/results.json, DIR/report.md and DIR/<suite>.jsonl, then prints the figures.
Exit codes as the `infir-edge` command's: 0 done, 2 a user error (one `error: ...` line), 1 a bug.
"""

from __future__ import annotations

import argparse

from infir_edge.cli import CliParser, run_command
from infir_edge.runtime.loader import BACKENDS
from training.eval.runner import SUITES


def _evaluate(args) -> int:
    from training.eval.runner import evaluate, summary_table

    results = evaluate(args.model, suites=args.suites, limit=args.limit, out=args.out, backend=args.backend,
                       threads=args.threads, n_ctx=args.n_ctx, dtype=args.dtype, overwrite=args.overwrite)
    print(summary_table(results), end="")
    print(f"wrote {args.out}/results.json, report.md and {', '.join(f'{s}.jsonl' for s in results['suites'])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="python -m training.eval", description=__doc__.split("\n")[0])
    parser.add_argument("--model", "-m", default="default",
                        help="'default', a checkpoint directory, a .gguf file or a bundle directory")
    parser.add_argument("--suites", default=",".join(SUITES), help=f"comma-separated (default: {','.join(SUITES)})")
    parser.add_argument("--limit", type=int, help="the first N items of each suite (default: all)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--backend", "-b", choices=tuple(BACKENDS), help="default: by the model's format")
    parser.add_argument("--threads", "-t", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--n-ctx", type=int, help="context length (default: trained context, capped by memory)")
    parser.add_argument("--dtype", choices=("float32", "bfloat16", "float16", "auto"),
                        help="torch backend weights (default float32; bfloat16 is faster on CPUs with bf16 units, "
                             "auto picks it there)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.set_defaults(func=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)
