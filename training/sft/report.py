"""The synthesis report: counts per step (in, kept, dropped by reason) and the distributions of what was accepted
(difficulty, quality, response length, domains, levels, evolution operators), as markdown, JSON and PNG histograms."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from infir_edge.files import atomic_write_text

HISTOGRAMS = {  # file -> (title, value of a record)
    "difficulty.png": ("difficulty", lambda r: r["labels"]["difficulty"]),
    "quality.png": ("quality", lambda r: r["labels"]["quality"]),
    "response_length.png": ("response length (words)", lambda r: len(r["response"].split())),
}


def distributions(accepted: list[dict]) -> dict:
    def counts(key) -> dict:
        return dict(Counter(key(r) for r in accepted).most_common())

    lengths = sorted(len(r["response"].split()) for r in accepted)
    return {
        "domains": counts(lambda r: r["domain"]),
        "levels": counts(lambda r: r["labels"]["level"]),
        "origins": counts(lambda r: r.get("origin", "seed")),
        "response_sources": counts(lambda r: r.get("response_source", "?")),
        "evolution_operators": dict(Counter(op for r in accepted for op in r.get("evolution", [])).most_common()),
        "math_operations": counts(lambda r: r.get("problem", {}).get("ops", "-")),
        "response_words": _summary(lengths),
    }


def _summary(values: list[int]) -> dict:
    if not values:
        return {}
    return {"min": values[0], "median": values[len(values) // 2], "p90": values[int(len(values) * 0.9)],
            "max": values[-1], "mean": round(sum(values) / len(values), 1)}


def plot_histograms(out: Path, accepted: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, (title, value) in HISTOGRAMS.items():
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for domain in sorted({r["domain"] for r in accepted}):
            ax.hist([value(r) for r in accepted if r["domain"] == domain], bins=30, alpha=0.6, label=domain)
        ax.set_xlabel(title)
        ax.set_ylabel("accepted records")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(name)
    return written


def render(stats: dict) -> str:
    lines = ["# Synthesis report", "", f"{stats['seeds']:,} seeds -> {stats['accepted']:,} accepted records -> "
             f"{stats['sft_examples']:,} SFT conversations.", "",
             "| step | in | kept | dropped | top reasons |", "|---|---|---|---|---|"]
    for name, step in stats["steps"].items():
        reasons = "; ".join(f"{reason} ({n})" for reason, n in list(step["dropped_by_reason"].items())[:3])
        lines.append(f"| {name} | {step['inputs']:,} | {step['kept']:,} | {step['dropped']:,} | {reasons} |")
    decontam = stats["decontam"]
    if decontam.get("enabled"):
        lines.append(f"| decontam ({decontam['n_grams']}-grams) | | | {decontam['removed']:,} | "
                     f"against {', '.join(decontam['eval_sets'])} |")
    lines.append("")
    d = stats["distributions"]
    for key in ("domains", "levels", "origins", "response_sources", "evolution_operators", "math_operations"):
        lines.append(f"- {key.replace('_', ' ')}: " + ", ".join(f"{k} {v:,}" for k, v in d[key].items()))
    w = d["response_words"]
    if w:
        lines.append(f"- response length in words: median {w['median']}, p90 {w['p90']}, max {w['max']}, "
                     f"mean {w['mean']}")
    lines += ["", *[f"![{name}]({name})" for name in stats["plots"]], ""]
    return "\n".join(lines)


def write_report(out: Path, stats: dict, accepted: list[dict], settings) -> None:
    stats["distributions"] = distributions(accepted)
    stats["long_cot"] = settings.candidates.long_cot
    stats["plots"] = plot_histograms(out, accepted) if accepted else []
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=1) + "\n")
    atomic_write_text(out / "report.md", render(stats))
