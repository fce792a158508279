"""DIR/report.md and DIR/report.json of a recipe run: per tier, tools off and with the calculator, the default model,
the trained checkpoint and the bundle against the targets, HumanEval, the synthesis counts and the wall time of every
stage, with a PNG bar chart; and DIR/ablation/report.md (+ .json, .png) of the ablation command."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path

from infir_edge.files import atomic_write_text

TIER_NAMES = {"one_two_step": "one-to-two-step", "multi_step": "multi-step"}
ROWS = {"word_problems": "tools off", "word_problems_with_tools": "calculator"}  # figures key -> row label
MODELS = (("default model", "eval_before"), ("trained checkpoint", "eval_after"), ("GGUF bundle", "eval_bundle"))


def _accuracy(figures: dict | None, tier: str, row: str = "word_problems") -> float | None:
    tiers = (figures or {}).get(row)
    return tiers[tier]["accuracy"] if tiers else None


def targets_met(recipe, results: dict) -> dict:
    """The targets, on problems the recipe never trained on: the bundle with the calculator (the product as users
    run it) on each tier, its HumanEval against the default model's, and its figures against the checkpoint's."""
    t = recipe.targets
    before, after, bundle = results.get("eval_before"), results.get("eval_after"), results.get("eval_bundle")
    checks = {}
    for tier, target in (("one_two_step", t.one_two_step), ("multi_step", t.multi_step)):
        value = _accuracy(bundle, tier, "word_problems_with_tools")
        if value is not None:
            checks[tier] = {"target": f">= {target:.2f} (bundle, calculator)", "value": value, "met": value >= target}
    if before and bundle and "humaneval" in before and "humaneval" in bundle:
        drop = before["humaneval"]["pass@1"] - bundle["humaneval"]["pass@1"]
        checks["humaneval_drop"] = {"target": f"<= {t.humaneval_drop:.2f}", "value": round(drop, 4),
                                    "met": drop <= t.humaneval_drop + 1e-9}
    if after and bundle:
        same = bundle.get("reference_items") or bundle  # the bundle on the items the references were asked
        gaps = [abs(_accuracy(after, k, row) - _accuracy(same, k, row)) for k in TIER_NAMES for row in ROWS
                if _accuracy(after, k, row) is not None and _accuracy(same, k, row) is not None]
        gap = max(gaps)
        checks["bundle_gap"] = {"target": f"<= {t.bundle_gap:.2f}", "value": round(gap, 4),
                                "met": gap <= t.bundle_gap + 1e-9}
    return checks


def _setting(figures: dict | None, recipe) -> str:
    """How a model was evaluated: its backend and items per tier."""
    if not figures or not figures.get("word_problems"):
        return "not evaluated"
    items = next(iter(figures["word_problems"].values()))["items"]
    backend = figures.get("backend", "torch")
    dtype = figures.get("dtype", recipe.eval.dtype)  # as resolved ("auto" -> float32 without native bf16)
    return f"{backend}{f' ({dtype})' if backend == 'torch' else ''}, {items} items per tier"


def wilson(correct: int, items: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default): honest at 0/n and n/n, unlike the normal one."""
    p, n = correct / items, items
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _cell(figures: dict | None, tier: str, row: str) -> str:
    tiers = (figures or {}).get(row)
    if not tiers:
        return "-"
    f = tiers[tier]
    low, high = wilson(f["correct"], f["items"])
    return f"{f['accuracy']:.3f} ({f['correct']}/{f['items']}) [{low:.2f}, {high:.2f}]"


def render(recipe, results: dict, checks: dict) -> str:
    before, after, bundle = (results.get(key) for _, key in MODELS)
    lines = ["# InfiR recipe report", "",
             "Word-problem tiers: test-split items (templates and situations unseen in training), chat form, greedy, "
             "at most 160 new tokens, the last number of the reply is the answer; each asked with tools off (the "
             "model alone) and with the SDK's calculator in the decoding loop (the product). "
             + "; ".join(f"{name}: {_setting(results.get(key), recipe)}" for name, key in MODELS)
             + ". Cells give 95% Wilson intervals in brackets.",
             "",
             f"| figure | default model | trained checkpoint | GGUF bundle ({recipe.export.quant}) | target | met |",
             "|---|---|---|---|---|---|"]
    for tier, name in TIER_NAMES.items():
        for row, label in ROWS.items():
            check = checks.get(tier, {}) if row == "word_problems_with_tools" else {}
            lines.append(f"| {name}, {label} | {_cell(before, tier, row)} | {_cell(after, tier, row)} | "
                         f"{_cell(bundle, tier, row)} | {check.get('target', '')} | {_met(check)} |")
    if before and "humaneval" in before:
        b = before["humaneval"]
        a = bundle.get("humaneval") if bundle else None
        check = checks.get("humaneval_drop", {})
        shown = f"{a['pass@1']:.3f} ({a['passed']}/{a['problems']})" if a else "-"
        lines.append(f"| HumanEval pass@1 (llama.cpp) | {b['pass@1']:.3f} ({b['passed']}/{b['problems']}) | | "
                     f"{shown} | drop {check.get('target', '-')} | {_met(check)} |")
    if "bundle_gap" in checks:
        c = checks["bundle_gap"]
        lines.append(f"| bundle vs checkpoint, largest gap | | | {c['value']:.3f} | {c['target']} | {_met(c)} |")
    lines += ["", "![tiers](report_tiers.png)", ""]
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


def render_ablation(ablation: dict) -> str:
    lines = [f"# Ablation: the same SFT budget ({ablation['max_steps']} optimizer steps) on training sets that differ "
             "in one synthesis choice", "",
             "| arm | candidates | instructions | SFT examples | of which teacher-model | "
             + " | ".join(f"{TIER_NAMES[t]}, {label}" for t in ("multi_step", "one_two_step")
                          for label in ROWS.values()) + " |",
             "|---|---|---|---|---|---|---|---|---|"]
    for arm, a in ablation["arms"].items():
        shown = [_cell(a, t, row) for t in ("multi_step", "one_two_step") for row in ROWS]
        lines.append(f"| {arm} | {a['candidates']} | {a['instructions']} | {a['examples']:,} | "
                     f"{a['teacher_examples']:,} | " + " | ".join(shown) + " |")
    return "\n".join([*lines, "", "![ablation](report.png)", ""])


def _met(check: dict) -> str:
    return "-" if not check else ("yes" if check["met"] else "**no**")


def plot(out: Path, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")

    models = [(name, results.get(key)) for name, key in MODELS if results.get(key)]
    _bar_chart(out / "report_tiers.png", [f"{TIER_NAMES[t]}\n{label}" for t in TIER_NAMES for label in ROWS.values()],
               {name: [_accuracy(figures, t, row) or 0.0 for t in TIER_NAMES for row in ROWS]
                for name, figures in models})


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


def write_ablation_report(folder: Path, ablation: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    arms = ablation["arms"]
    _bar_chart(folder / "report.png", list(arms),
               {f"{TIER_NAMES[t]}, {label}": [_accuracy(a, t, row) or 0.0 for a in arms.values()]
                for t in ("multi_step", "one_two_step") for row, label in ROWS.items()})
    atomic_write_text(folder / "report.json", json.dumps(ablation, indent=1) + "\n")
    atomic_write_text(folder / "report.md", render_ablation(ablation))


def write_recipe_report(recipe, out: Path, results: dict) -> dict:
    checks = targets_met(recipe, results)
    report = {"targets": checks, "all_targets_met": bool(checks) and all(c["met"] for c in checks.values()),
              "stages": results}
    plot(out, results)
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, default=str) + "\n")
    atomic_write_text(out / "report.md", render(recipe, results, checks))
    return {"targets": checks, "all_targets_met": report["all_targets_met"]}
