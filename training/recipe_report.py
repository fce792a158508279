"""DIR/report.md and DIR/report.json of a recipe run: before/after per tier against the targets, HumanEval, the
bundle's figures, the ablation table, the synthesis counts and the wall time of every stage; two PNG bar charts."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from infir_edge.files import atomic_write_text

TIER_NAMES = {"one_two_step": "one-to-two-step", "multi_step": "multi-step"}


def _accuracy(figures: dict | None, tier: str) -> float | None:
    return figures["word_problems"][tier]["accuracy"] if figures else None


def targets_met(recipe, results: dict) -> dict:
    t = recipe.targets
    before, after, bundle = results.get("eval_before"), results.get("eval_after"), results.get("eval_bundle")
    checks = {}
    if after:
        checks["one_two_step"] = {"target": f">= {t.one_two_step:.2f}", "value": _accuracy(after, "one_two_step"),
                                  "met": _accuracy(after, "one_two_step") >= t.one_two_step}
    if before and after:
        gain = _accuracy(after, "multi_step") - _accuracy(before, "multi_step")
        checks["multi_step_gain"] = {"target": f">= +{t.multi_step_gain:.2f}", "value": round(gain, 4),
                                     "met": gain >= t.multi_step_gain - 1e-9}
    if before and bundle and "humaneval" in before and "humaneval" in bundle:
        drop = before["humaneval"]["pass@1"] - bundle["humaneval"]["pass@1"]
        checks["humaneval_drop"] = {"target": f"<= {t.humaneval_drop:.2f}", "value": round(drop, 4),
                                    "met": drop <= t.humaneval_drop + 1e-9}
    if after and bundle:
        gap = max(abs(_accuracy(after, k) - _accuracy(bundle, k)) for k in TIER_NAMES)
        checks["bundle_gap"] = {"target": f"<= {t.bundle_gap:.2f}", "value": round(gap, 4),
                                "met": gap <= t.bundle_gap + 1e-9}
    return checks


def render(recipe, results: dict, checks: dict) -> str:
    before, after, bundle = results.get("eval_before"), results.get("eval_after"), results.get("eval_bundle")
    items = recipe.eval.items

    def cell(figures, tier):
        if not figures:
            return "-"
        f = figures["word_problems"][tier]
        return f"{f['accuracy']:.3f} ({f['correct']}/{f['items']})"

    lines = ["# InfiR recipe report", "",
             f"Word-problem tiers: {items} test-split items each (templates and situations unseen in training), "
             "chat form, greedy, at most 160 new tokens, the last number of the reply is the answer. The default "
             "model and the checkpoint run on torch (" + recipe.eval.dtype + "), the bundle on llama.cpp.", "",
             f"| figure | default model | trained checkpoint | GGUF bundle ({recipe.export.quant}) | target | met |",
             "|---|---|---|---|---|---|"]
    for tier, name in TIER_NAMES.items():
        key = "one_two_step" if tier == "one_two_step" else "multi_step_gain"
        check = checks.get(key, {})
        lines.append(f"| {name} accuracy | {cell(before, tier)} | {cell(after, tier)} | {cell(bundle, tier)} | "
                     f"{check.get('target', '-')} | {_met(check)} |")
    if before and "humaneval" in before:
        b = before["humaneval"]
        a = bundle.get("humaneval") if bundle else None
        check = checks.get("humaneval_drop", {})
        shown = f"{a['pass@1']:.3f} ({a['passed']}/{a['problems']})" if a else "-"
        lines.append(f"| HumanEval pass@1 (llama.cpp) | {b['pass@1']:.3f} ({b['passed']}/{b['problems']}) | | "
                     f"{shown} | drop {check.get('target', '-')} | {_met(check)} |")
    if "bundle_gap" in checks:
        c = checks["bundle_gap"]
        lines.append(f"| bundle vs checkpoint, largest tier gap | | | {c['value']:.3f} | {c['target']} | {_met(c)} |")
    lines += ["", "![tiers](report_tiers.png)", ""]
    arms = (results.get("ablation") or {}).get("arms") or {}
    if arms:
        lines += [f"## Ablation: the same SFT budget ({results['ablation']['max_steps']} optimizer steps), "
                  "scored on the multi-step tier (and the one-to-two-step tier)", "",
                  "| arm | candidates | instructions | SFT examples | of which teacher-model | multi-step accuracy "
                  "| one-to-two-step accuracy |",
                  "|---|---|---|---|---|---|---|"]
        for arm, a in arms.items():
            shown = [f"{t['accuracy']:.3f} ({t['correct']}/{t['items']})" if t else "-"
                     for t in (a.get("multi_step"), a.get("one_two_step"))]
            lines.append(f"| {arm} | {a['candidates']} | {a['instructions']} | {a['examples']:,} | "
                         f"{a['teacher_examples']:,} | {shown[0]} | {shown[1]} |")
        lines += ["", "![ablation](report_ablation.png)", ""]
    synth = results.get("synthesis")
    if synth:
        lines += ["## Synthesis", "", f"{synth['seeds']:,} seeds -> {synth['accepted']:,} accepted -> "
                  f"{synth['sft_examples']:,} SFT conversations; per-step counts and distributions in "
                  "[synth/report.md](synth/report.md).", ""]
        for name, step in synth["steps"].items():
            lines.append(f"- {name}: {step['inputs']:,} in, {step['kept']:,} kept, {step['dropped']:,} dropped")
        lines.append("")
    lines += ["## Wall time per stage", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {r.get('wall_s', '-')} |" for name, r in results.items() if isinstance(r, dict)]
    total = sum(r.get("wall_s", 0) for r in results.values() if isinstance(r, dict))
    lines += [f"| total | {total:.0f} |", "", f"Machine: {platform.platform()}, {platform.processor() or ''}", ""]
    return "\n".join(lines)


def _met(check: dict) -> str:
    return "-" if not check else ("yes" if check["met"] else "**no**")


def plot(out: Path, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")

    models = [(n, results.get(k)) for n, k in (("default", "eval_before"), ("checkpoint", "eval_after"),
                                                ("bundle", "eval_bundle")) if results.get(k)]
    _bar_chart(out / "report_tiers.png", list(TIER_NAMES.values()),
               {name: [_accuracy(figures, t) for t in TIER_NAMES] for name, figures in models})
    arms = (results.get("ablation") or {}).get("arms") or {}
    if arms:
        _bar_chart(out / "report_ablation.png", list(arms),
                   {TIER_NAMES[t]: [(a.get(t) or {}).get("accuracy", 0.0) for a in arms.values()]
                    for t in ("multi_step", "one_two_step")})


def _bar_chart(path: Path, groups: list[str], series: dict[str, list[float]]) -> None:
    """Accuracy bars: one group per entry of `groups`, one bar per series in each."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups)), 3.5))
    width = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series.items()):
        ax.bar([x + i * width for x in range(len(groups))], values, width, label=label)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(groups))], groups)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_recipe_report(recipe, out: Path, results: dict) -> dict:
    checks = targets_met(recipe, results)
    report = {"targets": checks, "all_targets_met": bool(checks) and all(c["met"] for c in checks.values()),
              "stages": results}
    plot(out, results)
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, default=str) + "\n")
    atomic_write_text(out / "report.md", render(recipe, results, checks))
    return {"targets": checks, "all_targets_met": report["all_targets_met"]}
