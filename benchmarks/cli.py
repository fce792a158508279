"""The `infir-edge bench` command (registered through the `infir_edge.commands` entry point, so the SDK
never imports its benchmarks) and `python -m benchmarks`, the same command."""

from __future__ import annotations

import argparse


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", default="default", help="'default', a .gguf or a checkpoint directory")
    p.add_argument("--formats", type=_list, default=("gguf", "onnx", "executorch"),
                   help="comma-separated: gguf,onnx,executorch (default: all)")
    p.add_argument("--quants", type=_list, default=None,
                   help="comma-separated, e.g. q8_0,q4_0,int8,8da4w; each applies to the formats that have it "
                        "(default: q8_0,q4_k_m,q4_1,q4_0 | fp32,int8,int4 | 8da8w,8da4w)")
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", "-t", type=int, help="CPU threads (default: physical cores)")
    p.add_argument("--out", default="bench-out", help="directory for results.json, report.md and the plots")
    p.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in --out")
    p.add_argument("--cache", help="bundle cache directory (default: the SDK's, where backend='auto' looks)")
    p.add_argument("--no-accuracy", dest="accuracy", action="store_false", help="skip perplexity and arithmetic")
    p.add_argument("--no-raw", dest="raw", action="store_false", help="skip the raw-runtime baselines")
    p.add_argument("--no-auto", dest="auto", action="store_false", help="skip the backend='auto' probe")
    p.add_argument("--shapes", type=_list, default=None,
                   help="instead of the matrix, write OUT/roofline.md for these model shapes, e.g. 135m,1b")
    p.add_argument("--families", type=_list, default=None,
                   help="instead of the matrix, write OUT/families.md: these model families (e.g. llama,qwen3,gemma) "
                        "through --formats at full precision, verified")
    p.add_argument("--compare", nargs=2, metavar=("A/results.json", "B/results.json"),
                   help="print the ratios B / A between two runs and exit")


def run(args) -> int:
    if args.compare:
        from benchmarks.compare import compare_files

        print(compare_files(*args.compare))
        return 0
    if args.shapes:
        from benchmarks.shapes import write_roofline_report

        path = write_roofline_report(args.shapes, args.out, threads=args.threads, repeats=args.repeats,
                                     prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens,
                                     formats=args.formats, quants=args.quants, overwrite=args.overwrite)
        print(f"wrote {path}")
        return 0
    if args.families:
        from benchmarks.families import write_families_report

        print(f"wrote {write_families_report(args.families, args.out, formats=args.formats, overwrite=args.overwrite)}")
        return 0
    from benchmarks.bench import BenchSettings, run_bench
    from benchmarks.report import summary_table

    settings = BenchSettings(model=args.model, formats=args.formats, quants=args.quants,
                             prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens, repeats=args.repeats,
                             threads=args.threads, accuracy=args.accuracy, raw=args.raw, auto=args.auto)
    results = run_bench(settings, args.out, overwrite=args.overwrite, bundles_root=args.cache)
    print(summary_table(results))
    print(f"wrote {args.out}/results.json, report.md and plots")
    return 0


def register(subparsers) -> None:
    """Entry point `infir_edge.commands`: add `bench` to the `infir-edge` command."""
    p = subparsers.add_parser("bench", help="benchmark formats and quantizations: speed, memory, accuracy, roofline")
    add_arguments(p)
    p.set_defaults(func=run)
