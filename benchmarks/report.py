"""`report.md`: the tables a user reads to choose a format and a quantization, and the targets checked."""

from __future__ import annotations

from pathlib import Path

from infir_edge.files import atomic_write_text

MIB = 2**20
SDK_OVER_RAW_TARGET = 0.97
ROOFLINE_TARGET = 0.60
INT4_WITHIN = 1.5


def _label(cell: dict) -> str:
    return f"{cell['format']} {cell['quant']}"


def _median(cell: dict, *keys) -> float | None:
    node = cell
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node["median"] if isinstance(node, dict) else node


def _fmt(value, spec: str = ".1f", scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, spec)


def _spread(stats: dict | None, spec: str = ".1f", scale: float = 1.0) -> str:
    if not stats:
        return "-"
    return f"{stats['median'] * scale:{spec}} ({stats['min'] * scale:{spec}}–{stats['max'] * scale:{spec}})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def measured(results: dict) -> list[dict]:
    return [c for c in results.get("cells", []) if "error" not in c]


def speed_table(results: dict) -> str:
    rows = []
    for c in measured(results):
        roof = c.get("roofline", {})
        rows.append([
            _label(c), c["backend"], _fmt(c["file_bytes"], ".1f", 1 / MIB), _spread(c.get("load_s"), ".2f"),
            _spread(c.get("ttft_s"), ".0f", 1000), _spread(c.get("prefill_tok_s")), _spread(c.get("decode_tok_s")),
            _fmt(roof.get("decode_tok_s")), _fmt(roof.get("sdk_fraction"), ".0%"),
            _fmt(c.get("peak_rss_bytes"), ".0f", 1 / MIB),
        ])
    return _table(["format quant", "backend", "file MiB", "load s", "TTFT ms", "prefill tok/s", "decode tok/s",
                   "roofline tok/s", "% of roofline", "peak RSS MiB"], rows)


def raw_table(results: dict) -> str:
    rows = []
    for c in measured(results):
        raw = c.get("raw")
        if not raw:
            continue
        rows.append([
            _label(c), raw["runtime"], _spread(raw["decode_tok_s"]), _spread(raw["sdk_decode_tok_s"]),
            f"{raw['sdk_over_raw_decode']:.3f}", _fmt(c.get("roofline", {}).get("raw_fraction"), ".0%"),
            _spread(raw["ttft_s"], ".0f", 1000),
        ])
    return _table(["format quant", "raw runtime", "raw decode tok/s", "SDK decode tok/s (paired)", "SDK / raw",
                   "raw % of roofline", "raw TTFT ms"], rows)


def accuracy_table(results: dict) -> str:
    rows = []
    for c in measured(results):
        v, acc = c.get("verification", {}), c.get("accuracy", {})
        arithmetic = acc.get("arithmetic")
        rows.append([
            _label(c), _fmt(c["file_bytes"], ".1f", 1 / MIB), _fmt(v.get("top1_agreement"), ".3f"),
            _fmt(v.get("mean_kl"), ".4f"), _fmt(acc.get("wikipedia", {}).get("perplexity"), ".2f"),
            f"{arithmetic['accuracy']:.2f} ({arithmetic['correct']}/{arithmetic['problems']})" if arithmetic else "-",
        ])
    return _table(["format quant", "file MiB", "top-1 vs fp32", "mean KL", "Wikipedia perplexity",
                   "arithmetic accuracy"], rows)


def auto_section(results: dict) -> str:
    auto = results.get("auto")
    if not auto:
        return ""
    if "error" in auto:
        return f"## backend=\"auto\"\n\nnot measured: {auto['error']}\n"
    choice, base = auto["choice"], auto["baseline"]
    probe = _table(["candidate", "backend", "threads", "probe decode tok/s"],
                   [[p["label"], p["backend"], str(p["threads"]), f"{p['decode_tok_s']:.1f}"] for p in auto["probe"]])
    return (
        "## backend=\"auto\"\n\n"
        f"`infir_edge.load(model, backend=\"auto\")` picks **{choice['label']} on {choice['backend']}, "
        f"{choice['threads']} threads**: decode {_spread(auto['decode_tok_s'])} tok/s, against "
        f"{base['runtime']} ({base['threads']} threads) at {_spread(base['decode_tok_s'])} tok/s: "
        f"**{auto['speedup_over_baseline']:.2f}x**.\n\n{probe}\n"
    )


def targets(results: dict) -> list[str]:
    """The issue's targets, each with the figure that meets it or misses it."""
    cells = measured(results)
    lines = []
    for backend in sorted({c["backend"] for c in cells if c.get("raw")}):
        ratios = [c["raw"]["sdk_over_raw_decode"] for c in cells if c["backend"] == backend and c.get("raw")]
        worst = min(ratios)
        mark = "met" if worst >= SDK_OVER_RAW_TARGET else "MISSED"
        lines.append(f"SDK/raw decode on {backend} >= {SDK_OVER_RAW_TARGET}: lowest {worst:.3f} ({mark})")
    with_speed = [c for c in cells if c.get("decode_tok_s")]
    if with_speed:
        fastest = max(with_speed, key=lambda c: c["decode_tok_s"]["median"])
        fraction = fastest["roofline"]["sdk_fraction"]
        mark = "met" if fraction >= ROOFLINE_TARGET else "MISSED"
        lines.append(f"fastest ({_label(fastest)}, {fastest['decode_tok_s']['median']:.1f} tok/s) at "
                     f"{fraction:.0%} of its roofline, target {ROOFLINE_TARGET:.0%} ({mark})")
        int4 = [c for c in with_speed if c["format"] == "onnx" and c["quant"] == "int4"]
        if int4:
            gap = fastest["decode_tok_s"]["median"] / int4[0]["decode_tok_s"]["median"]
            mark = "met" if gap <= INT4_WITHIN else "MISSED"
            lines.append(f"onnx int4 decode within {INT4_WITHIN}x of the fastest: {gap:.2f}x slower ({mark})")
    return lines


def machine_line(results: dict) -> str:
    m, bw = results["machine"], results["memory_bandwidth"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    return (f"{m['cpu_model']}, {m['physical_cores']} physical / {m['logical_cores']} logical cores, "
            f"{m['threads']} threads, {m['memory_bytes'] / 2**30:.1f} GiB; memory bandwidth "
            f"{_spread(bw['bandwidth_gb_s'])} GB/s (best {bw['best_bandwidth_gb_s']:.1f}; {bw['method']}).\n\n"
            f"Versions: {v}.")


def summary_table(results: dict) -> str:
    """What the command prints: speed, the raw ratios and accuracy, then the targets."""
    parts = [speed_table(results), raw_table(results), accuracy_table(results), auto_section(results)]
    parts.append("\n".join(f"- {t}" for t in targets(results)))
    return "\n\n".join(p for p in parts if p)


def write_report(results: dict, path: Path) -> Path:
    s = results["settings"]
    errors = [f"- {_label(c)}: {c['error']}" for c in results.get("cells", []) if "error" in c]
    text = "\n\n".join(part for part in [
        f"# infir-edge bench: {s['model']}",
        f"Prompt {s['prompt_tokens']} tokens, {s['new_tokens']} new tokens (greedy, EOS ignored), "
        f"{s['repeats']} repeats: figures are median (min–max). " + machine_line(results),
        "## Speed and memory (SDK)\n\nDecode tokens/s = (new tokens - 1) / time from the first to the last token; "
        "the roofline is the memory bandwidth / the bytes each decoded token reads (weights + K/V at the mean "
        "context).\n\n" + speed_table(results),
        "## SDK against the raw runtime on the same file\n\nAlternating runs in one process; SDK / raw is the "
        "median of the pairs' ratios.\n\n" + raw_table(results),
        "## Accuracy\n\nTop-1 agreement and KL against the fp32 source from the export's verification; "
        "perplexity on a fixed slice of Wikipedia summaries; greedy accuracy on generated one-step word "
        "problems.\n\n" + accuracy_table(results),
        auto_section(results),
        "## Targets\n\n" + "\n".join(f"- {t}" for t in targets(results)),
        ("## Cells that failed\n\n" + "\n".join(errors)) if errors else "",
    ] if part) + "\n"
    atomic_write_text(path, text)
    return path
