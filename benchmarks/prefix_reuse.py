"""What llama.cpp's prefix cache saves, and how often it changes a greedy result:

    python -m benchmarks.prefix_reuse [--model default] [--out prefix-reuse-out]

Two sequences of related prompts, in the order an app sends them:
- chat: conversations whose every prompt extends the one before (the history, a reply, the next question);
- agent: the android_agent model policy's prompts along oracle runs of simulated-phone tasks, one prompt per step:
  the same instructions, task and apps, the actions so far, then the new screen.

Each prompt is generated greedily by two engines on the same model, `prefix_cache=True` and `prefix_cache=False`,
which of the two goes first alternating from prompt to prompt so that drift of the machine hits both alike; the
speed-up is the median of the prompts' ratios. The engine reuses only what a prefill computed in a batch and keeps
every prompt position out of the single-token kernels, which round differently; whether that makes a reused prefix
exact is up to llama.cpp's kernels on this machine: `differ` counts the prompts whose greedy tokens are not the same.
The chat's replies in the history are the fresh engine's, so both engines see the same prompts.
Writes OUT/prefix_reuse.json (every prompt's figures) and OUT/prefix_reuse.md (the table printed).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.machine import describe_machine
from benchmarks.stats import median_ratio
from infir_edge.files import atomic_write_text

CONVERSATIONS = (
    ("How do I make a simple tomato soup?", "Can I use canned tomatoes instead?",
     "How long does it keep in the fridge?", "What bread goes well with it?", "Can I freeze it?",
     "Give me a vegan variation."),
    ("I am visiting Paris for three days. What should I see?", "Which of those can I reach on foot?",
     "Where should I eat near the Louvre?", "How do I get there from the airport?", "Is the metro safe at night?",
     "What souvenirs are worth buying?"),
    ("What is a Python list comprehension?", "Show me one that squares the even numbers below ten.",
     "How is that different from a generator expression?", "When should I prefer a plain loop?",
     "How do I flatten a list of lists?", "And a dictionary comprehension?"),
    ("Why is the sky blue?", "Then why are sunsets red?", "Does the same happen on Mars?",
     "What colour is the sky on the Moon?", "Why do clouds look white?", "Explain it to a five-year-old."),
)


def measure(engines: dict, prompt, new_tokens: int, on_first: bool) -> tuple[dict, object]:
    """One prompt on both engines: its figures, and the fresh engine's Generation."""
    done = {}
    for side in ("reuse", "fresh") if on_first else ("fresh", "reuse"):
        engine = engines[side]
        generation = engine.generate(prompt, max_new_tokens=new_tokens, temperature=0.0)
        done[side] = (generation, engine.last_prefill_reused)
    (reuse, reused), (fresh, _) = done["reuse"], done["fresh"]
    row = {"prompt_tokens": fresh.timings.prompt_tokens, "reused_tokens": reused,
           "prefill_s_reuse": reuse.timings.prefill_s, "prefill_s_fresh": fresh.timings.prefill_s,
           "same": reuse.token_ids == fresh.token_ids,
           "first_diff": _first_difference(reuse.token_ids, fresh.token_ids)}
    return row, fresh


def _first_difference(a: list[int], b: list[int]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def chat_rows(engines: dict, new_tokens: int, conversations=CONVERSATIONS) -> list[dict]:
    rows = []
    for c, questions in enumerate(conversations):
        history = []
        for turn, question in enumerate(questions):
            history.append({"role": "user", "content": question})
            row, fresh = measure(engines, history, new_tokens, on_first=len(rows) % 2 == 0)
            rows.append({"sequence": "chat", "name": f"conversation {c} turn {turn}", **row})
            history.append({"role": "assistant", "content": fresh.text})
    return rows


def agent_prompts(engine, tasks: list[str], seeds: int, max_elements: int = 40, max_history: int = 6) -> list:
    """(name, prompt) of every step the model policy would see along oracle runs of `tasks`."""
    from android_agent.local_device import LocalPhoneDevice
    from android_agent.policy import ModelPolicy, OraclePolicy
    from android_agent.runner import run_task
    from android_agent.tasks.plan import Plan

    steps = []

    class Recorder:  # the oracle acts; each step's context and screen are kept as the model policy would see them
        name = "oracle"

        def __init__(self, task: str, oracle) -> None:
            self.task, self.oracle = task, oracle

        def decide(self, context, observation) -> str:
            steps.append((self.task, copy.deepcopy(context), copy.deepcopy(observation)))
            return self.oracle.decide(context, observation)

    device = LocalPhoneDevice()
    for name in tasks:
        for seed in range(seeds):
            run_task(device, name, seed=seed,
                     policy=lambda task, before, name=name: Recorder(name, OraclePolicy(Plan(task.plan(before)))))
    policy = ModelPolicy(engine)
    build = getattr(policy, "messages", None) or policy.prompt  # the policy's prompt builder, by either name
    return [(f"{name} step {i}", build(context, observation, max_elements=max_elements, max_history=max_history))
            for i, (name, context, observation) in enumerate(steps)]


def agent_rows(engines: dict, new_tokens: int, tasks: list[str], seeds: int) -> list[dict]:
    rows = []
    for i, (name, prompt) in enumerate(agent_prompts(engines["fresh"], tasks, seeds)):
        row, _ = measure(engines, prompt, new_tokens, on_first=i % 2 == 0)
        rows.append({"sequence": "agent", "name": name, **row})
    return rows


def summarize_rows(rows: list[dict]) -> dict:
    differ = [r for r in rows if not r["same"]]
    return {
        "prompts": len(rows),
        "differ": len(differ),
        "differ_fraction": len(differ) / len(rows),
        "first_diff_median": statistics.median(r["first_diff"] for r in differ) if differ else None,
        "prompt_tokens_median": statistics.median(r["prompt_tokens"] for r in rows),
        "reused_tokens_median": statistics.median(r["reused_tokens"] for r in rows),
        "reused_fraction": sum(r["reused_tokens"] for r in rows) / sum(r["prompt_tokens"] for r in rows),
        "prefill_s_fresh_median": statistics.median(r["prefill_s_fresh"] for r in rows),
        "prefill_s_reuse_median": statistics.median(r["prefill_s_reuse"] for r in rows),
        "prefill_speedup": median_ratio([r["prefill_s_fresh"] for r in rows], [r["prefill_s_reuse"] for r in rows]),
    }


def table(summary: dict) -> str:
    lines = ["| prompts | n | prompt tokens (median) | reused (median, share of all) | prefill fresh ms | "
             "prefill reused ms | speed-up (median of ratios) | greedy differs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in summary.items():
        lines.append(f"| {name} | {s['prompts']} | {s['prompt_tokens_median']:.0f} | {s['reused_tokens_median']:.0f} "
                     f"({s['reused_fraction']:.0%}) | {s['prefill_s_fresh_median'] * 1000:.0f} | "
                     f"{s['prefill_s_reuse_median'] * 1000:.0f} | {s['prefill_speedup']:.1f}x | "
                     f"{s['differ']} ({s['differ_fraction']:.0%}) |")
    return "\n".join(lines)


def run(model: str, out: Path, *, threads: int | None, n_ctx: int, new_tokens: int, tasks: list[str] | None,
        seeds: int) -> dict:
    import infir_edge
    from android_agent.tasks import TASKS

    tasks = list(TASKS) if tasks is None else tasks
    started = time.time()
    with infir_edge.load(model, threads=threads, n_ctx=n_ctx) as reuse, \
            infir_edge.load(model, threads=threads, n_ctx=n_ctx, prefix_cache=False) as fresh:
        engines = {"reuse": reuse, "fresh": fresh}
        for engine in engines.values():  # first calls pay for page faults and buffer allocation
            engine.generate("Hello", max_new_tokens=4)
        rows = chat_rows(engines, new_tokens) + agent_rows(engines, new_tokens, tasks, seeds)
        info = fresh.info().as_dict()
    summary = {name: summarize_rows([r for r in rows if r["sequence"] == name]) for name in ("chat", "agent")}
    summary["all"] = summarize_rows(rows)
    data = {"created_unix": started, "seconds": time.time() - started, "model": info,
            "machine": describe_machine(info["threads"]),
            "settings": {"new_tokens": new_tokens, "n_ctx": n_ctx, "tasks": tasks, "seeds": seeds,
                         "conversations": len(CONVERSATIONS)},
            "summary": summary, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "prefix_reuse.json", json.dumps(data, indent=2) + "\n")
    atomic_write_text(out / "prefix_reuse.md", _markdown(data))
    return data


def _markdown(data: dict) -> str:
    model, s = data["model"], data["settings"]
    return "\n".join([
        "# Prefix cache on llama.cpp: prefill saved, greedy results changed",
        "",
        f"{Path(model['path']).name} ({model['quantization']}), {model['threads']} threads, "
        f"{data['machine']['cpu_model']}; greedy, {s['new_tokens']} new tokens; chat: {s['conversations']} "
        f"conversations; agent: {len(s['tasks'])} tasks x {s['seeds']} seeds, oracle runs.",
        "",
        table(data["summary"]),
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.prefix_reuse", description=__doc__.split("\n")[0])
    p.add_argument("--model", "-m", default="default", help="a GGUF model (default: the embedded SmolLM2-135M)")
    p.add_argument("--out", default="prefix-reuse-out", help="directory for prefix_reuse.json and prefix_reuse.md")
    p.add_argument("--threads", "-t", type=int, help="CPU threads (default: physical cores)")
    p.add_argument("--n-ctx", type=int, default=4096)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--tasks", help="comma-separated android_agent task names (default: every task)")
    p.add_argument("--seeds", type=int, default=1, help="oracle runs per task")
    args = p.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    data = run(args.model, Path(args.out), threads=args.threads, n_ctx=args.n_ctx, new_tokens=args.new_tokens,
               tasks=tasks, seeds=args.seeds)
    print(table(data["summary"]))
    print(f"wrote {args.out}/prefix_reuse.json and prefix_reuse.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
