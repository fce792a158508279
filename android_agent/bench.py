"""`infir-agent bench`: every task through the real uiautomator2 client; success rate, steps, gate triggers and
the per-step overhead (observe + act, the policy excluded) as JSON, a markdown table and PNG plots.

Each finished task is kept in OUT/tasks/, so an interrupted benchmark resumes where it stopped (`--overwrite`
starts over); every run's trajectory is in OUT/trajectories/. Each task starts from its apps' seeded state, so
results do not depend on the order or on a resume.
"""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

from android_agent.agent import AgentConfig
from android_agent.device import Device
from android_agent.runner import TaskResult, run_task
from infir_edge.files import atomic_write_bytes, atomic_write_text, check_output

OVERHEAD_TARGET_MS = 150.0


@dataclass(frozen=True)
class BenchSettings:
    policy: str = "oracle"
    model: str | None = None
    tasks: tuple[str, ...] = ()
    seed: int = 0
    max_steps: int = 25
    max_retries: int = 2


def run_bench(device: Device, settings: BenchSettings, out: Path, *, engine=None, overwrite: bool = False,
              progress: bool = True) -> dict:
    from tqdm import tqdm

    out = Path(out)
    if overwrite and out.exists():
        check_output(out, overwrite=True)
    done_dir = out / "tasks"
    done_dir.mkdir(parents=True, exist_ok=True)
    config = AgentConfig(max_steps=settings.max_steps, max_retries=settings.max_retries)
    rows = []
    for name in tqdm(settings.tasks, desc=f"tasks ({settings.policy})", unit="task", disable=not progress):
        saved = done_dir / f"{name}-{settings.seed}.json"
        if saved.exists() and not overwrite:
            rows.append(json.loads(saved.read_text()))
            continue
        result = run_task(device, name, seed=settings.seed, policy=settings.policy, engine=engine, config=config,
                          trajectory_dir=out / "trajectories" / f"{name}-{settings.seed}", overwrite=True)
        row = _row(result)
        atomic_write_text(saved, json.dumps(row, indent=2) + "\n")
        rows.append(row)
    results = summarize(rows, settings)
    atomic_write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(out / "report.md", report(results))
    atomic_write_bytes(out / "success.png", _plot_success(results))
    atomic_write_bytes(out / "overhead.png", _plot_overhead(rows))
    return results


def _row(result: TaskResult) -> dict:
    e = result.episode
    return {"task": result.task, "seed": result.seed, "instruction": result.instruction, "success": result.success,
            "finished": e.finished, "answer": e.answer, "steps": e.steps, "reason": e.reason,
            "rejected": e.rejected, "gate": [{"category": d.request.category, "approved": d.approved,
                                               "decided_by": d.decided_by, "reason": d.request.reason}
                                              for d in e.gate],
            "error": result.error, "seconds": round(result.seconds, 3),
            "observe_ms": [round(v, 2) for v in e.observe_ms], "act_ms": [round(v, 2) for v in e.act_ms],
            "policy_ms": [round(v, 2) for v in e.policy_ms],
            "step_overhead_ms": [round(v, 2) for v in e.overhead_ms]}


def summarize(rows: list[dict], settings: BenchSettings) -> dict:
    overhead = [v for row in rows for v in row["step_overhead_ms"]]
    observe = [v for row in rows for v in row["observe_ms"]]
    act = [v for row in rows for v in row["act_ms"]]
    successes = sum(row["success"] for row in rows)
    return {
        "success_rate": successes / len(rows) if rows else 0.0,
        "tasks_solved": successes,
        "tasks_run": len(rows),
        "policy": settings.policy,
        "model": settings.model,
        "seed": settings.seed,
        "max_steps": settings.max_steps,
        "gate_triggers": sum(len(row["gate"]) for row in rows),
        "crashes": sum(row["error"] is not None for row in rows),
        "per_step_overhead_ms": {**_stats(overhead), "target": OVERHEAD_TARGET_MS,
                                 "met": bool(overhead) and statistics.median(overhead) <= OVERHEAD_TARGET_MS,
                                 "observe": _stats(observe), "act": _stats(act)},
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "tasks": rows,
    }


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(values), "mean": round(statistics.fmean(values), 2), "median": round(statistics.median(values), 2),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2), "max": round(ordered[-1], 2)}


def report(results: dict) -> str:
    o = results["per_step_overhead_ms"]
    lines = [f"# Agent benchmark: {results['policy']} policy" + (f" ({results['model']})" if results["model"] else ""),
             "", f"Success rate: **{results['success_rate']:.1%}** ({results['tasks_solved']}/{results['tasks_run']}"
             f" tasks), seed {results['seed']}, step budget {results['max_steps']}; gate triggers "
             f"{results['gate_triggers']}; runs ended by a device error: {results['crashes']}.", ""]
    if o.get("n"):
        verdict = "met" if o["met"] else "MISSED"
        lines += [f"Per-step overhead (observe + act, the policy excluded), {o['n']} steps: median {o['median']} ms, "
                  f"mean {o['mean']} ms, p90 {o['p90']} ms, max {o['max']} ms; target <= {o['target']:.0f} ms "
                  f"(median): {verdict}. Observe median {o['observe']['median']} ms, act median "
                  f"{o['act']['median']} ms.", ""]
    lines += ["| task | success | steps | rejected | gate | answer | reason |", "|---|---|---|---|---|---|---|"]
    for row in results["tasks"]:
        gate = ", ".join(f"{g['category']}:{'yes' if g['approved'] else 'no'}" for g in row["gate"]) or "-"
        answer = (row["answer"] or "").replace("|", "/")[:40]
        lines.append(f"| {row['task']} | {'yes' if row['success'] else 'no'} | {row['steps']} | {row['rejected']} "
                     f"| {gate} | {answer} | {row['error'] or row['reason']} |")
    return "\n".join(lines) + "\n"


def _plot_success(results: dict) -> bytes:
    from matplotlib.figure import Figure

    rows = results["tasks"]
    figure = Figure(figsize=(8, max(3, 0.28 * len(rows) + 1)), layout="constrained")
    ax = figure.subplots()
    names = [r["task"] for r in rows]
    ax.barh(names, [r["steps"] for r in rows], color=["tab:green" if r["success"] else "tab:red" for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("steps (green: solved, red: failed)")
    ax.set_title(f"{results['policy']} policy: {results['success_rate']:.0%} of {results['tasks_run']} tasks solved")
    return _png(figure)


def _plot_overhead(rows: list[dict]) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    overhead = [v for row in rows for v in row["step_overhead_ms"]]
    if overhead:
        ax.hist(overhead, bins=30, color="tab:blue", label="observe (hierarchy + screenshot) + act")
    ax.axvline(OVERHEAD_TARGET_MS, color="black", linestyle="--", label=f"target {OVERHEAD_TARGET_MS:.0f} ms")
    ax.set_xlabel("ms per step")
    ax.set_ylabel("steps")
    ax.set_title("Per-step overhead against the simulated phone")
    ax.legend()
    return _png(figure)


def _png(figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
