"""The `infir-agent` command: a simulated phone, one task, or the benchmark over all tasks.

Exit codes as `infir-edge`: 0 success, 1 an internal error, 2 bad input or usage, 130 interrupted.
Without `--serial`, `run` and `bench` start their own simulated phone on a free loopback port and drive it
through the real uiautomator2 client; with it, they use the adb server adbutils finds ($ANDROID_ADB_SERVER_PORT).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from infir_edge.cli import EXIT_OK, CliParser, run_command

MODEL_POLICIES = ("model", "vl")  # the policies that load --model


def cmd_phone(args) -> int:
    from android_agent.phone.phone import Phone
    from android_agent.phone.server import serve_phone

    print(f"simulated phone {args.serial} on 127.0.0.1:{args.port}; connect with ANDROID_ADB_SERVER_PORT={args.port} "
          f"ANDROID_SERIAL={args.serial}; Ctrl-C stops it", file=sys.stderr, flush=True)
    serve_phone(args.port, args.serial, Phone(seed=args.seed, animation_s=args.animation_s))
    return EXIT_OK


def cmd_tasks(args) -> int:
    from android_agent.tasks import TASKS

    for name, cls in TASKS.items():
        print(f"{name:<28} {', '.join(p.rsplit('.', 1)[-1] for p in cls.packages):<22} "
              f"{'gated: ' + ','.join(sorted(cls.authorizes)) if cls.gated else ''}")
    return EXIT_OK


def cmd_run(args) -> int:
    from android_agent.agent import AgentConfig
    from android_agent.runner import run_task
    from android_agent.safety import approve_if_asked, ask_terminal, deny_all
    from android_agent.tasks import task_class

    task_class(args.task)  # an unknown name fails before a phone or a model is started
    confirm = args.confirm or ("ask" if sys.stdin.isatty() else "deny")
    approver = {"ask": ask_terminal, "deny": deny_all, "task": None}[confirm]
    if confirm == "task":
        approver = approve_if_asked(task_class(args.task).authorizes)
    config = AgentConfig(max_steps=args.max_steps)
    with _engine(args) as engine, _device(args) as device:
        out = Path(args.out) if args.out else None
        result = run_task(device, args.task, seed=args.seed, policy=args.policy, engine=engine, approver=approver,
                          config=config, trajectory_dir=out, overwrite=args.overwrite)
    e = result.episode
    print(f"task {result.task} (seed {result.seed}): {result.instruction}")
    for d in e.gate:
        print(f"  safety gate: {d.request.category} ({d.request.reason}) -> "
              f"{'approved' if d.approved else 'denied'} by {d.decided_by}")
    print(f"{'SUCCESS' if result.success else 'FAILED'} in {e.steps} steps ({e.reason}; {e.rejected} rejected "
          f"replies; answer: {e.answer!r})" + (f"; trajectory in {out}" if out else ""))
    return EXIT_OK


def cmd_bench(args) -> int:
    from android_agent.bench import BenchSettings, run_bench
    from android_agent.tasks import TASKS, task_class

    tasks = tuple(args.tasks.split(",")) if args.tasks else tuple(TASKS)
    for name in tasks:
        task_class(name)
    model = args.model if args.policy in MODEL_POLICIES else None
    settings = BenchSettings(policy=args.policy, model=model, tasks=tasks, seed=args.seed, max_steps=args.max_steps,
                             max_retries=args.max_retries)
    with _engine(args) as engine, _device(args) as device:
        results = run_bench(device, settings, Path(args.out), engine=engine, overwrite=args.overwrite)
    print(Path(args.out, "report.md").read_text())
    print(f"success rate: {results['success_rate'] * 100:.1f}% ({results['tasks_solved']}/{results['tasks_run']}); "
          f"results in {args.out}/results.json")
    return EXIT_OK


@contextlib.contextmanager
def _device(args):
    from android_agent.device import Uiautomator2Device

    if args.serial:
        yield Uiautomator2Device(args.serial)
        return
    from android_agent.phone.phone import Phone
    from android_agent.phone.server import start_phone

    with start_phone(Phone(seed=0)) as running:
        yield Uiautomator2Device(running.serial, port=running.port)


@contextlib.contextmanager
def _engine(args):
    if args.policy not in MODEL_POLICIES:
        yield None
        return
    import infir_edge

    with infir_edge.load(args.model, backend=args.backend, n_ctx=args.n_ctx, threads=args.threads) as engine:
        if args.policy == "vl":
            from android_agent.vl_policy import check_vl_engine

            check_vl_engine(engine)  # a text-only model fails here, before a phone is started
        yield engine


def _add_agent_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", choices=("oracle", "model", "vl"), default="oracle",
                   help="oracle: the task's own plan; model: a language model reads the element list; vl: a "
                        "vision-language model reads the screenshot")
    p.add_argument("--model", "-m", default="default",
                   help="for --policy model: 'default', a .gguf or a bundle; for --policy vl: an InfiR-VL "
                        "checkpoint or bundle")
    p.add_argument("--backend", "-b", choices=("llamacpp", "torch", "onnxruntime", "executorch", "auto"))
    p.add_argument("--n-ctx", type=int, help="context length (default: the model's, capped by memory)")
    p.add_argument("--threads", "-t", type=int)
    p.add_argument("--serial", "-s", help="drive this device (adb server from $ANDROID_ADB_SERVER_PORT) instead of "
                                          "a simulated phone started for the run")
    p.add_argument("--seed", type=int, default=0, help="the task parameters' seed")
    p.add_argument("--max-steps", type=int, default=25)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="infir-agent", description="Operate Android phones with a small model, or simulate one.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("phone", help="serve a simulated phone (adb + uiautomator) in the foreground")
    p.add_argument("--port", type=int, default=5037, help="the adb server port clients connect to")
    p.add_argument("--serial", default="emulator-5554")
    p.add_argument("--seed", type=int, default=0, help="seed of the apps' initial contents")
    p.add_argument("--animation-s", type=float, default=0.0,
                   help="seconds after each screen change during which hierarchy dumps are refused, as on a phone")
    p.set_defaults(func=cmd_phone)

    p = sub.add_parser("tasks", help="list the tasks")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("run", help="run one task")
    p.add_argument("--task", required=True)
    _add_agent_options(p)
    p.add_argument("--out", help="write the trajectory (JSONL + screenshots) here")
    p.add_argument("--confirm", choices=("ask", "deny", "task"),
                   help="the safety gate's answer: ask on the terminal, deny, or approve what the task asks for "
                        "(default: ask on a terminal, deny otherwise)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("bench", help="run every task; success rate, steps, gate triggers, per-step overhead")
    _add_agent_options(p)
    p.add_argument("--tasks", help="comma-separated task names (default: all)")
    p.add_argument("--max-retries", type=int, default=2, help="extra replies per step after a malformed one")
    p.add_argument("--out", default="agent-bench", help="results.json, report.md, PNG plots, trajectories")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
