"""What a run did, counted from its files: documents and characters in and out of every stage and every rule.

Counting the output and removed files themselves (not datatrove's `stats.json`, which covers only the last
invocation's tasks) gives the same figures for a clean run and a resumed one. The input reader's own counters
(malformed lines, truncated files) come from the per-task stats of the first stage, merged over all its tasks.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

READER_COUNTERS = ("malformed_lines", "truncated_files", "missing_text")


def iter_documents(folder: str | Path):
    import orjson

    for file in sorted(Path(folder).rglob("*.jsonl.gz")):
        with gzip.open(file, "rb") as f:
            for line in f:
                if line.strip():
                    yield orjson.loads(line)


def count_documents(folder: str | Path) -> dict:
    documents = characters = 0
    for record in iter_documents(folder):
        documents += 1
        characters += len(record.get("text", ""))
    return {"documents": documents, "characters": characters}


def count_removed(removed_folder: str | Path) -> dict:
    """{rule: {documents, characters, reasons: {filter_reason: documents}}} for each rule folder of a stage."""
    rules = {}
    for folder in sorted(p for p in Path(removed_folder).glob("*") if p.is_dir()):
        entry = {"documents": 0, "characters": 0, "reasons": {}}
        for record in iter_documents(folder):
            reason = (record.get("metadata") or {}).get("filter_reason", folder.name)
            entry["documents"] += 1
            entry["characters"] += len(record.get("text", ""))
            entry["reasons"][reason] = entry["reasons"].get(reason, 0) + 1
        rules[folder.name] = entry
    return rules


def reader_counters(logs_folder: str | Path) -> dict:
    """The input reader's counters over every task: summed per executor, the largest executor's figure (several
    executors of a stage read the same input)."""
    best = dict.fromkeys(READER_COUNTERS, 0)
    for executor in sorted(p for p in Path(logs_folder).glob("*") if p.is_dir()):
        totals = dict.fromkeys(READER_COUNTERS, 0)
        for stats_file in sorted((executor / "stats").glob("*.json")):
            for step in json.loads(stats_file.read_text()):
                for counter, value in step.get("stats", {}).items():
                    if counter in totals:
                        totals[counter] += value["total"] if isinstance(value, dict) else value
        best = {k: max(best[k], totals[k]) for k in READER_COUNTERS}
    return best


def staging_counters(out: Path) -> dict:
    """Truncated input files found while the input was split into shards (the shards themselves are whole)."""
    staged = out / "work" / "00-input.json"
    return json.loads(staged.read_text()) if staged.exists() else {}


def collect_stats(out: Path, built: list, timings: dict, *, planted: dict | None = None) -> dict:
    """stats.json: per stage in/out/removed per rule, wall time and throughput; the input; what was kept."""
    stages = []
    for stage, context in built:
        kept = count_documents(context.output_folder)
        removed = count_removed(context.removed_folder)
        documents_in = kept["documents"] + sum(r["documents"] for r in removed.values())
        characters_in = kept["characters"] + sum(r["characters"] for r in removed.values())
        timing = timings.get(stage.name, {})
        wall = timing.get("wall_s")
        stages.append({"name": stage.name, "documents_in": documents_in, "characters_in": characters_in,
                       "documents_out": kept["documents"], "characters_out": kept["characters"], "removed": removed,
                       "wall_s": round(wall, 2) if wall is not None else None, "workers": timing.get("workers"),
                       "documents_per_s": round(documents_in / wall, 1) if wall else None})
    first_context = built[0][1]
    counters = reader_counters(first_context.logs_folder)
    counters["truncated_files"] += staging_counters(out).get("truncated_files", 0)
    stats = {"input": {"documents": stages[0]["documents_in"], "characters": stages[0]["characters_in"], **counters},
             "stages": stages,
             "kept": {"documents": stages[-1]["documents_out"], "characters": stages[-1]["characters_out"]}}
    if planted is not None:
        stats["planted"] = planted
    return stats


def render(stats: dict) -> str:
    """report.md: the same figures as tables."""
    source = stats["input"]
    lines = ["# Data pipeline report", "",
             f"Input: {source['documents']:,} documents, {source['characters']:,} characters; "
             f"malformed lines skipped: {source['malformed_lines']:,}; truncated files: {source['truncated_files']:,}; "
             f"lines without text: {source['missing_text']:,}.",
             f"Kept: {stats['kept']['documents']:,} documents, {stats['kept']['characters']:,} characters.", "",
             "## Stages", "",
             "| stage | docs in | docs out | chars in | chars out | wall s | docs/s | workers |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in stats["stages"]:
        wall = "-" if s["wall_s"] is None else f"{s['wall_s']:.1f}"
        rate = "-" if s["documents_per_s"] is None else f"{s['documents_per_s']:,.1f}"
        lines.append(f"| {s['name']} | {s['documents_in']:,} | {s['documents_out']:,} | {s['characters_in']:,} | "
                     f"{s['characters_out']:,} | {wall} | {rate} | {s['workers'] or '-'} |")
    lines += ["", "## Removed, per stage and rule", "", "| stage | rule | reason | docs | chars |",
              "|---|---|---|---:|---:|"]
    for s in stats["stages"]:
        for rule, entry in s["removed"].items():
            reasons = ", ".join(f"{r}: {n:,}" for r, n in sorted(entry["reasons"].items()))
            lines.append(f"| {s['name']} | {rule} | {reasons} | {entry['documents']:,} | {entry['characters']:,} |")
    if "planted" in stats:
        lines += ["", "## Planted labels", "", "| measure | value |", "|---|---:|"]
        for key, value in stats["planted"].items():
            lines.append(f"| {key} | {_shown(value)} |")
    return "\n".join(lines) + "\n"


def _shown(value) -> str:
    if isinstance(value, dict) and "rate" in value:  # {numerator, denominator, rate}
        rate = "-" if value["rate"] is None else f"{value['rate']:.1%}"
        return f"{value['numerator']:,} / {value['denominator']:,} ({rate})"
    return f"{value:.3f}" if isinstance(value, float) else json.dumps(value)
