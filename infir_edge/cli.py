"""The `infir-edge` command.

Exit codes: 0 success, 1 an internal error (a bug: please report it), 2 bad input or usage (a missing or
damaged model, a prompt that does not fit, a backend that is not installed), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from infir_edge.errors import ContextOverflowError, InfirEdgeError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _quiet_libraries() -> None:
    # transformers and torch log import-time chatter to stderr; the CLI's stderr is for errors.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    os.environ.setdefault("TORCH_LOGS", "-all")  # torch resets its loggers at import: only this reaches them
    import logging

    logging.getLogger("torchao").setLevel(logging.ERROR)  # optional CUDA kernels it cannot load on a CPU
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantizer advises through the root logger


class CliParser(argparse.ArgumentParser):
    """Usage errors as one `error:` line and exit 2, like every other refusal."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see '{self.prog} --help')\n")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", default="default", help="'default', a .gguf file or a checkpoint directory")
    parser.add_argument("--backend", "-b", choices=("llamacpp", "torch", "onnxruntime", "executorch", "auto"),
                        help="default: by the model's format; auto: the fastest of the model and its cached bundles")
    parser.add_argument("--n-ctx", type=int, help="context length (default: trained context, capped by memory)")
    parser.add_argument("--threads", "-t", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--no-prefix-cache", dest="prefix_cache", action="store_false",
                        help="llama.cpp: evaluate every prompt from an empty KV cache (default: keep the prefix it "
                             "shares with the previous request; a greedy result can then differ slightly)")


def _add_sampling_options(parser: argparse.ArgumentParser, max_new_tokens: int) -> None:
    parser.add_argument("--max-new-tokens", "-n", type=int, default=max_new_tokens)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--min-p", type=float, default=0.0)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    _add_tools_option(parser)


def _add_tools_option(parser: argparse.ArgumentParser) -> None:
    from infir_edge.tools import tool_names

    parser.add_argument("--tools", default="", metavar="NAMES",
                        help=f"tools the model may call from its text, comma-separated ({', '.join(tool_names())}): "
                             "e.g. `<<12*23=` is answered `276>>` by the calculator")


def _tools(args) -> tuple[str, ...]:
    return tuple(name.strip() for name in args.tools.split(",") if name.strip())


def _load(args):
    from infir_edge.runtime.loader import load

    return load(args.model, backend=args.backend, n_ctx=args.n_ctx, threads=args.threads, **_backend_options(args))


def _backend_options(args) -> dict:
    # only when asked: a backend that has no prefix cache refuses the option, as the loader refuses any it lacks
    return {} if args.prefix_cache else {"prefix_cache": False}


def _config(args):
    from infir_edge.runtime.generation import GenerationConfig

    return GenerationConfig(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        min_p=args.min_p,
        repetition_penalty=args.repetition_penalty,
        seed=args.seed,
        stop=tuple(args.stop),
        tools=_tools(args),
    )


def _print_stats(generation, file=sys.stderr) -> None:
    t = generation.timings
    print(
        f"[{t.prompt_tokens} prompt tokens, prefill {t.prefill_tokens_per_s:.1f} tok/s; "
        f"{t.generated_tokens} generated, decode {t.decode_tokens_per_s:.1f} tok/s; "
        f"time to first token {t.ttft_s * 1000:.0f} ms; finish: {generation.finish_reason}]",
        file=file,
    )


def cmd_generate(args) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if args.image:  # an InfiR-VL model: the images, then the prompt, as one user message
        from infir_edge.models.images import load_image

        images = [load_image(path) for path in args.image]  # a wrong path fails before the model loads
        prompt = [{"role": "user", "content": [*({"type": "image", "image": image} for image in images),
                                               {"type": "text", "text": prompt}]}]
    elif args.chat:
        prompt = [{"role": "user", "content": prompt}]
    config = _config(args)
    with _load(args) as engine:
        stream = engine.stream(prompt, config)
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        if args.stats:
            _print_stats(stream.result)
    return EXIT_OK


def cmd_chat(args) -> int:
    config = _config(args)
    interactive = sys.stdin.isatty()
    history = [{"role": "system", "content": args.system}] if args.system else []
    with _load(args) as engine:
        if interactive:
            print(f"chatting with {engine.info().path} ({engine.backend_name}); Ctrl-D to quit", file=sys.stderr)
        while True:
            if interactive:
                print("> ", end="", flush=True, file=sys.stderr)
            line = sys.stdin.readline()
            if not line:
                return EXIT_OK
            if not line.strip():
                continue
            history.append({"role": "user", "content": line.rstrip("\n")})
            stream = _stream_fitting(engine, history, config)
            for piece in stream:
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
            sys.stdout.flush()
            history.append({"role": "assistant", "content": stream.result.text})
            if args.stats:
                _print_stats(stream.result)


def _stream_fitting(engine, history: list[dict], config):
    """Start a reply, forgetting the oldest turns (never the system prompt) until the history fits."""
    while True:
        try:
            return engine.stream(history, config)
        except ContextOverflowError:
            first = 1 if history[0]["role"] == "system" else 0
            if len(history) - first <= 1:
                raise
            del history[first : first + 2]


def cmd_reason(args) -> int:
    with _load(args) as engine:
        result = engine.reason(
            args.question, votes=args.votes, budget=args.budget, answer_format=args.format, seed=args.seed,
            tools=_tools(args),
        )
    if args.json:
        print(json.dumps({"answer": result.answer, "votes": result.votes, "steps": result.steps,
                          "chains": result.chains, "budget_exhausted": result.budget_exhausted,
                          "tool_calls": [call.as_dict() for call in result.tool_calls]}, indent=2))
    else:
        print(result.steps.strip())
        print(f"\nanswer: {result.answer}" + (f"   votes: {result.votes}" if args.votes > 1 else ""))
    return EXIT_OK


def cmd_info(args) -> int:
    with _load(args) as engine:
        info = engine.info().as_dict()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            number = isinstance(value, int) and not isinstance(value, bool)  # True would print as 1
            print(f"{key:<{width}}  {value:,}" if number else f"{key:<{width}}  {value}")
    return EXIT_OK


def cmd_convert(args) -> int:
    from infir_edge.models.convert import gguf_to_checkpoint

    out = gguf_to_checkpoint(args.source, args.out, overwrite=args.overwrite)
    print(f"wrote checkpoint {out}")
    return EXIT_OK


def cmd_export(args) -> int:
    from infir_edge.export import export

    out = export(args.source, format=args.format, quant=args.quant, out=args.out, overwrite=args.overwrite,
                 max_context=args.max_context, force=args.force, threads=args.threads, awq=args.awq)
    _print_bundle(out)
    return EXIT_OK


def cmd_verify(args) -> int:
    from infir_edge.errors import VerificationError
    from infir_edge.export import verify

    figures = verify(args.bundle, threads=args.threads)
    print(json.dumps(figures, indent=2) if args.json else _figures_line(figures))
    if not figures["passed"]:
        raise VerificationError(f"{args.bundle} is below its floor: {_figures_line(figures)}")
    return EXIT_OK


def _figures_line(v: dict) -> str:
    line = (f"top-1 agreement {v['top1_agreement']:.4f} (floor {v['floor']:.2f}), mean KL {v['mean_kl']:.5f}, "
            f"greedy match {v['greedy_match_tokens']:.1f} tokens, tokenizer agreement {v['tokenizer_agreement']:.2f}")
    vision = v.get("vision")
    if vision:
        line += (f"\nimages: embedding cosine min {vision['min_cosine']:.5f} (floor {vision['cosine_floor']:.2f}), "
                 f"max relative error {vision['max_rel_error']:.2e}, top-1 agreement {vision['top1_agreement']:.4f}, "
                 f"mean KL {vision['mean_kl']:.5f}, greedy match {vision['greedy_match_tokens']:.1f} tokens")
    return line


def _print_bundle(out) -> None:
    from infir_edge.models.bundle import read_manifest

    manifest = read_manifest(out)
    size = sum(f["bytes"] for f in manifest.files.values())
    print(f"wrote {out}: {manifest.format} {manifest.quantization}, {size / 2**20:.1f} MiB")
    forced = " [FORCED: below its floor]" if manifest.verification.get("forced") else ""
    print(_figures_line(manifest.verification) + forced)


def cmd_deploy(args) -> int:
    from infir_edge.deploy import deploy

    report = deploy(args.bundle, serial=args.serial, dest=args.dest, run=args.run, runner=args.runner,
                    prompt=args.prompt, max_new_tokens=args.max_new_tokens, progress=sys.stderr.isatty())
    print(f"deployed {args.bundle} to {report.serial}:{report.dest}: pushed {len(report.pushed)} files "
          f"({report.bytes_pushed / 2**20:.1f} MiB), {len(report.skipped)} already there, all sha256 verified "
          f"on the device ({report.seconds:.1f} s)")
    if report.run_output is not None:
        print(f"$ {report.run_command}")
        print(report.run_output, end="" if report.run_output.endswith("\n") else "\n")
    return EXIT_OK


def cmd_demo(args) -> int:
    from infir_edge.demo import run_demo

    run_demo(model=args.model, backend=args.backend, threads=args.threads)
    return EXIT_OK


def cmd_serve(args) -> int:
    from infir_edge.serve import serve

    serve(args.model, host=args.host, port=args.port, backend=args.backend, n_ctx=args.n_ctx,
          threads=args.threads, model_name=args.model_name, tools=_tools(args), **_backend_options(args))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="infir-edge", description="Small reasoning models on edge devices.")
    parser.add_argument("--version", action="version", version=f"infir-edge {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="generate text from a prompt (streams to stdout)")
    _add_model_options(p)
    _add_sampling_options(p, max_new_tokens=256)
    p.add_argument("--chat", action="store_true", help="send the prompt as a user message through the chat template")
    p.add_argument("--image", action="append", metavar="PATH",
                   help="an image before the prompt (a VL model; implies --chat; repeat for several)")
    p.add_argument("--stats", action="store_true", help="print speed figures to stderr")
    p.add_argument("prompt", help="the prompt, or - to read it from stdin")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("chat", help="interactive chat: one user message per line of stdin, history kept")
    _add_model_options(p)
    _add_sampling_options(p, max_new_tokens=512)
    p.add_argument("--system", help="system prompt")
    p.add_argument("--stats", action="store_true", help="print speed figures to stderr after each reply")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("reason", help="answer a question step by step")
    _add_model_options(p)
    p.add_argument("question")
    p.add_argument("--votes", "-k", type=int, default=1, help="sampled chains to vote over (default 1: greedy)")
    p.add_argument("--budget", type=int, default=512, help="thinking tokens per chain before the answer is forced")
    p.add_argument("--format", default="auto", choices=("auto", "number", "choice", "code", "text"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    _add_tools_option(p)
    p.set_defaults(func=cmd_reason)

    p = sub.add_parser("info", help="describe a model")
    _add_model_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert a model, e.g. the default GGUF to a checkpoint for training")
    p.add_argument("source", help="'default' or a .gguf file")
    p.add_argument("--to", required=True, choices=("checkpoint",))
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("export", help="export a model to a verified bundle (gguf, onnx, executorch)")
    p.add_argument("source", help="'default', a checkpoint directory or a .gguf file")
    p.add_argument("--format", required=True, choices=("gguf", "onnx", "executorch"))
    p.add_argument("--quant", required=True,
                   help="gguf: f32 f16 bf16 q8_0 q4_0 q4_1 q4_k_m q5_k_m q6_k; onnx: fp32 int8 int4; "
                        "executorch: fp32 8da8w 8da4w")
    p.add_argument("--out", required=True, help="the bundle directory to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    p.add_argument("--max-context", type=int, help="context length to record (default: the model's)")
    p.add_argument("--force", action="store_true", help="keep a bundle whose verification is below its floor")
    p.add_argument("--no-awq", dest="awq", action="store_false",
                   help="skip the AWQ scale search before 4-bit/int8 quantization (faster, less accurate)")
    p.add_argument("--threads", "-t", type=int)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("verify", help="re-run a bundle's verification against its source")
    p.add_argument("bundle")
    p.add_argument("--threads", "-t", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("deploy", help="push a bundle to an Android device over adb and verify it there")
    p.add_argument("bundle", help="a bundle directory written by `infir-edge export`")
    p.add_argument("--serial", "-s", help="the device (default: $ANDROID_SERIAL, else the only one attached)")
    p.add_argument("--dest", default="/data/local/tmp/infir", help="directory on the device")
    p.add_argument("--run", action="store_true", help="start the bundle's runner on the device after the push")
    p.add_argument("--runner", help="path ON THE DEVICE of llama-cli (gguf) or llama_main (pte), for --run")
    p.add_argument("--prompt", default="Hello", help="the prompt for --run")
    p.add_argument("--max-new-tokens", "-n", type=int, default=32)
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("serve", help="an OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions")
    _add_model_options(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: loopback only; the server has no authentication)")
    p.add_argument("--port", "-p", type=int, default=8000, help="0: any free port (the one taken is printed)")
    p.add_argument("--model-name", help="the model id clients send and /v1/models lists (default: the file's stem)")
    _add_tools_option(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="the main job on the embedded default model: chat, reasoning, speed")
    p.add_argument("--model", "-m", default="default")
    p.add_argument("--backend", "-b", choices=("llamacpp", "torch"))
    p.add_argument("--threads", "-t", type=int)
    p.set_defaults(func=cmd_demo)
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub) -> None:
    """Commands other packages add through the `infir_edge.commands` entry point (e.g. `bench` from the
    benchmarks): each names a function that adds its subparser, so the SDK never imports them."""
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group="infir_edge.commands"), key=lambda e: e.name):
        try:
            register = entry.load()
        except ImportError:
            continue  # its package's dependencies are not installed: the command is simply absent
        register(sub)


def _version() -> str:
    from infir_edge import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


def run_command(func, args) -> int:
    """Run a command function with the exit-code convention (also used by `infir-agent`)."""
    _quiet_libraries()
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")  # undecodable input reaches the SDK, which refuses it
    try:
        return func(args)
    except InfirEdgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): nothing left to say
        return EXIT_OK
    except Exception as e:  # a bug, not the user's fault: say so in one line, keep the trace for reports
        print(f"error: internal error ({type(e).__name__}: {e}); rerun with INFIR_EDGE_DEBUG=1 for the traceback",
              file=sys.stderr)
        if os.environ.get("INFIR_EDGE_DEBUG"):
            raise
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
