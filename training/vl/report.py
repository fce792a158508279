"""DIR/report.md, report.json and report.png of a VL recipe run: grounding on held-out screens per stage and through
the bundle, against the trivial baselines, and text-rendering transcription."""

from __future__ import annotations

import io
import json
from pathlib import Path

from infir_edge.files import atomic_write_bytes, atomic_write_text
from training.vl.examples import VLExample, read_records


def baselines(out: Path, items: int) -> dict:
    from training.vl.gui_data import trivial_baselines

    return trivial_baselines(_targets(out / "data" / "grounding"), _targets(out / "data" / "test_grounding", items))


def _targets(folder: Path, n: int | None = None) -> list[VLExample]:
    """Examples with a 1-pixel stand-in image: scoring needs only their targets and boxes."""
    from PIL import Image

    return [VLExample(Image.new("RGB", (1, 1)), r["prompt"], r["target"], r["kind"], r["meta"])
            for r in read_records(folder)[:n]]


def checkpoint_on_first(out: Path, n: int) -> float:
    """The final checkpoint's grounding on the first `n` held-out screens (the ones a bundle is scored on)."""
    from training.vl.gui_data import grounding_accuracy

    answers = [a["answer"] for a in json.loads((out / "stage3" / "eval.json").read_text())["grounding"]["answers"]]
    return grounding_accuracy(answers[:n], _targets(out / "data" / "test_grounding", n))


def write_report(recipe, out: Path, results: dict) -> dict:
    base = baselines(out, recipe.eval.grounding_items)
    final = results["stage3"]["eval"]
    best_name, best = base["best"]["name"], base["best"]["accuracy"]
    stages = {name: results[name]["eval"] for name in ("stage1", "stage2", "stage3")}
    bundles = results["export"]["bundles"]
    report = {
        "grounding_accuracy": final["grounding_accuracy"],
        "baseline_accuracy": best,
        "baseline_name": best_name,
        "baselines": base,
        "grounding_gain": round(final["grounding_accuracy"] - best, 4),
        "target_gain": recipe.targets.grounding_gain,
        "target_met": final["grounding_accuracy"] - best >= recipe.targets.grounding_gain,
        "transcription_exact": final["transcription_exact"],
        "transcription_cer": final["transcription_cer"],
        "held_out_items": {"grounding": final["grounding_items"], "transcription": final["transcription_items"]},
        "stages": stages,
        "training": {name: {k: results[name]["train"].get(k) for k in
                            ("steps", "examples", "trainable_parameters", "first_loss", "final_loss", "seconds",
                             "tokens_per_s")} for name in stages},
        "bundles": {spec: {k: b[k] for k in ("bundle", "grounding_accuracy", "items")} | {
            "checkpoint_same_items": checkpoint_on_first(out, b["items"])} | {
            "verification": {k: b["verification"].get(k) for k in ("passed", "top1_agreement", "mean_kl", "vision")
                             if k in b["verification"]}} for spec, b in bundles.items()},
        "similarity_filter": results["data"]["similarity_filter"],
        "wall_s": {name: results[name].get("wall_s") for name in results},
    }
    atomic_write_text(out / "report.json", json.dumps(report, indent=1) + "\n")
    atomic_write_text(out / "report.md", _markdown(report))
    atomic_write_bytes(out / "report.png", _plot(report))
    return report


def _markdown(r: dict) -> str:
    lines = ["# InfiR-VL CPU recipe", "",
             f"GUI grounding on {r['held_out_items']['grounding']} held-out screens (the predicted point inside the "
             f"target element): **{r['grounding_accuracy']:.3f}** against the best trivial baseline "
             f"({r['baseline_name']}) **{r['baseline_accuracy']:.3f}**: gain {r['grounding_gain']:+.3f}, target "
             f"+{r['target_gain']:.2f}: **{'met' if r['target_met'] else 'NOT met'}**.", "",
             "| model | grounding | transcription exact | transcription CER |", "|---|---|---|---|"]
    for name, value in r["baselines"].items():
        if name != "best":
            lines.append(f"| baseline: {name} {tuple(value['point'])} | {value['accuracy']:.3f} | | |")
    for name, ev in r["stages"].items():
        lines.append(f"| after {name} | {ev['grounding_accuracy']:.3f} | {ev['transcription_exact']:.3f} | "
                     f"{ev['transcription_cer']:.3f} |")
    for spec, b in r["bundles"].items():
        lines.append(f"| bundle {spec}, first {b['items']} screens (checkpoint on them: "
                     f"{b['checkpoint_same_items']:.3f}) | {b['grounding_accuracy']:.3f} | | |")
    lines += ["", "| stage | steps | examples | trainable params | loss first -> last | seconds | tokens/s |",
              "|---|---|---|---|---|---|---|"]
    for name, t in r["training"].items():
        lines.append(f"| {name} | {t['steps']} | {t['examples']} | {t['trainable_parameters']:,} | "
                     f"{t['first_loss']} -> {t['final_loss']} | {t['seconds']} | {t['tokens_per_s']} |")
    f = r["similarity_filter"]
    lines += ["", f"Similarity filter ({f.get('scorer')}, threshold {f.get('threshold')}): kept {f.get('kept')}, "
              f"dropped {f.get('dropped')} (histogram: data/filter/similarity_hist.png).", "",
              "Wall time per stage (s): " + ", ".join(f"{k} {v}" for k, v in r["wall_s"].items() if v is not None)]
    for spec, b in r["bundles"].items():
        lines += ["", f"Export {spec}: verification {json.dumps(b['verification'])}"]
    return "\n".join(lines) + "\n"


def _plot(r: dict) -> bytes:
    from matplotlib.figure import Figure

    names = [f"after {n}" for n in r["stages"]] + [f"bundle {s}" for s in r["bundles"]]
    values = [ev["grounding_accuracy"] for ev in r["stages"].values()] + [b["grounding_accuracy"]
                                                                         for b in r["bundles"].values()]
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    ax.bar(names, values, color="tab:blue")
    ax.axhline(r["baseline_accuracy"], color="black", linestyle="--", label=f"best baseline ({r['baseline_name']})")
    ax.axhline(r["baseline_accuracy"] + r["target_gain"], color="tab:red", linestyle=":", label="target")
    ax.set_ylabel("grounding accuracy (held-out screens)")
    ax.set_ylim(0, 1)
    ax.set_title("InfiR-VL GUI grounding")
    ax.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
