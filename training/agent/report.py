"""The agent run's figures: success on the trained tasks and on the held-out ones, and the policy's time per step."""

from __future__ import annotations

import statistics

from training.agent.recipe import AgentRecipe
from training.recipe_report import wilson

STEP_TARGET_S = 1.0
SUCCESS_TARGET = 0.70


def agent_report(recipe: AgentRecipe, bench: dict, results: dict) -> dict:
    rows = bench["tasks"]
    heldout = set(recipe.heldout_tasks)
    trained = [r for r in rows if r["task"] not in heldout]
    held = [r for r in rows if r["task"] in heldout]
    steps_ms = [v for r in rows for v in r["policy_ms"]]
    median_step_s = statistics.median(steps_ms) / 1000 if steps_ms else 0.0

    def rate(subset: list[dict]) -> float:
        return sum(r["success"] for r in subset) / len(subset) if subset else 0.0

    return {
        "success_rate": rate(trained),
        "success_interval_95": list(wilson(sum(r["success"] for r in trained), len(trained))) if trained else None,
        "trained_tasks": [r["task"] for r in trained],
        "heldout_tasks": [r["task"] for r in held],
        "heldout_task_success_rate": rate(held),
        "median_step_s": round(median_step_s, 3),
        "policy_steps": len(steps_ms),
        "rejected_replies": sum(r["rejected"] for r in rows),
        "crashes": bench["crashes"],
        "seed": bench["seed"],
        "model": bench["model"],
        "targets": {"success_rate": {"value": rate(trained), "target": SUCCESS_TARGET,
                                     "met": rate(trained) >= SUCCESS_TARGET},
                    "median_step_s": {"value": round(median_step_s, 3), "target": STEP_TARGET_S,
                                      "met": bool(steps_ms) and median_step_s <= STEP_TARGET_S}},
        "demonstrations": {k: v for k, v in results["demonstrations"].items() if k != "tasks"},
        "sft": results["sft"]["summary"],
        "stage_s": {name: results[name].get("wall_s") for name in ("demonstrations", "sft", "export", "bench")},
        "tasks": [{"task": r["task"], "heldout": r["task"] in heldout, "success": r["success"], "steps": r["steps"],
                   "rejected": r["rejected"], "median_policy_ms": round(statistics.median(r["policy_ms"]), 1)
                   if r["policy_ms"] else None, "reason": r["error"] or r["reason"]} for r in rows],
    }


def render(report: dict) -> str:
    t = report["targets"]
    lines = ["# The text policy, trained on the simulated phone's demonstrations", "",
             f"Model: {report['model']}; evaluation seed {report['seed']}.", "",
             f"- Trained tasks: **{report['success_rate']:.2f}** success ({len(report['trained_tasks'])} tasks; "
             f"target {t['success_rate']['target']}: {'met' if t['success_rate']['met'] else 'NOT met'})",
             f"- Held-out tasks ({', '.join(report['heldout_tasks'])}): **{report['heldout_task_success_rate']:.2f}**",
             f"- Policy time per step, median: **{report['median_step_s']:.2f} s** over {report['policy_steps']} steps "
             f"(target {t['median_step_s']['target']} s: {'met' if t['median_step_s']['met'] else 'NOT met'})",
             f"- Rejected replies: {report['rejected_replies']}; runs ended by an error: {report['crashes']}",
             f"- Stage times (s): {report['stage_s']}", "",
             "| task | held out | success | steps | rejected | median policy ms | reason |",
             "|---|---|---|---|---|---|---|"]
    for row in report["tasks"]:
        lines.append(f"| {row['task']} | {'yes' if row['heldout'] else ''} | {'yes' if row['success'] else 'no'} | "
                     f"{row['steps']} | {row['rejected']} | {row['median_policy_ms']} | {row['reason']} |")
    return "\n".join(lines) + "\n"
