"""PNG plots of a `results.json`: decode and prefill speed against the raw runtimes and the bandwidth
roofline, memory against file size, and accuracy against size with its Pareto front.

matplotlib is imported inside `write_plots`, so that importing this module (for `pareto_front`, say) stays
cheap and works where matplotlib is not installed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from infir_edge.files import atomic_write_bytes

MIB = 2**20
DPI = 120


def cell_label(cell: dict) -> str:
    return f"{cell['format']} {cell['quant']}"


def pareto_front(points: list[tuple[float, float]], *, lower_is_better: bool = True) -> list[int]:
    """Indices of the points no other point dominates, sorted by x (then y).

    A point dominates another when its x is smaller or equal and its y is at least as good, one of the two
    strictly; smaller x is always better (x is a size). Identical points do not dominate each other."""

    def dominates(p: tuple[float, float], q: tuple[float, float]) -> bool:
        y_as_good = p[1] <= q[1] if lower_is_better else p[1] >= q[1]
        return p[0] <= q[0] and y_as_good and p != q

    front = [i for i, q in enumerate(points) if not any(dominates(p, q) for p in points)]
    return sorted(front, key=lambda i: points[i])


def write_plots(results: dict, out_dir: Path) -> list[Path]:
    """Write decode.png, prefill.png, memory.png and (when some cell has accuracy) accuracy_vs_size.png to
    `out_dir`; a plot no cell has figures for is not written. Failed cells are left out. Returns the paths."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure list, notebook-safe

    out_dir = Path(out_dir)
    cells = [c for c in results.get("cells", []) if "error" not in c]
    written = []
    for name, draw in (("decode.png", _decode), ("prefill.png", _prefill), ("memory.png", _memory),
                       ("accuracy_vs_size.png", _accuracy_vs_size)):
        fig = draw(Figure, results, cells)
        if fig is None:
            continue
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
        atomic_write_bytes(out_dir / name, buffer.getvalue())
        written.append(out_dir / name)
    return written


def _subtitle(results: dict) -> str:
    model = results.get("settings", {}).get("model", "?")
    machine = results.get("machine", {})
    return f"model {model}, {machine.get('threads', '?')} threads, {machine.get('cpu_model', 'unknown CPU')}"


def _get(cell: dict, *keys: str):
    """cell[k0][k1]..., or None where any level is missing (cells measured with --no-raw, --no-accuracy)."""
    value = cell
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _raw_label(cells: list[dict]) -> str:
    runtimes = list(dict.fromkeys(c["raw"]["runtime"] for c in cells if "raw" in c))
    return "raw runtime\n(" + ",\n".join(runtimes) + ")"  # one per line: the legend stays narrow


def _legend_outside(ax) -> None:
    """Right of the axes: inside, it would hide the roofline marks or the bars of some cell."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _bars(ax, cells: list[dict], series: list[tuple[str, Callable]], *, scale: float = 1.0) -> None:
    """Grouped bars, one group per cell and one bar per series some cell has; a STATS figure is drawn at
    its median with min-max whiskers (the spread of the repeats), a plain number as it is."""
    present = [(label, get) for label, get in series if any(get(c) is not None for c in cells)]
    width = 0.8 / max(len(present), 1)
    for k, (label, get) in enumerate(present):
        xs, heights, below, above = [], [], [], []
        for i, cell in enumerate(cells):
            value = get(cell)
            if value is None:
                continue
            median, low, high = (value["median"], value["min"], value["max"]) if isinstance(value, dict) else (
                value, value, value)
            xs.append(i - 0.4 + width * (k + 0.5))
            heights.append(median * scale)
            below.append((median - low) * scale)
            above.append((high - median) * scale)
        spread = [below, above] if any(below) or any(above) else None
        ax.bar(xs, heights, width, yerr=spread, capsize=3, label=label)
    ax.set_xticks(range(len(cells)), [cell_label(c) for c in cells], rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)


def _decode(Figure, results: dict, cells: list[dict]):
    cells = [c for c in cells if "decode_tok_s" in c]
    if not cells:
        return None
    fig = Figure(figsize=(max(6.0, 1.1 * len(cells) + 2), 4.5))
    ax = fig.subplots()
    _bars(ax, cells, [("SDK", lambda c: c["decode_tok_s"]),
                      (_raw_label(cells), lambda c: _get(c, "raw", "decode_tok_s"))])
    roofs = [(i, c["roofline"]) for i, c in enumerate(cells) if _get(c, "roofline", "decode_tok_s") is not None]
    if roofs:
        bandwidth = roofs[0][1].get("bandwidth_gb_s", results.get("memory_bandwidth", {}).get("best_bandwidth_gb_s"))
        label = f"bandwidth roofline ({bandwidth:.1f} GB/s)" if bandwidth is not None else "bandwidth roofline"
        # one short line over each group: the roofline depends on the cell's bytes per token
        for n, (i, roof) in enumerate(roofs):
            ax.hlines(roof["decode_tok_s"], i - 0.45, i + 0.45, colors="black", linestyles="--", linewidth=1.5,
                      label=label if n == 0 else None)
    ax.set_ylabel("decode tokens/s")
    ax.set_title(f"Decode speed (median, min-max whiskers)\n{_subtitle(results)}", fontsize=10)
    _legend_outside(ax)
    return fig


def _prefill(Figure, results: dict, cells: list[dict]):
    cells = [c for c in cells if "prefill_tok_s" in c]
    if not cells:
        return None
    fig = Figure(figsize=(max(10.0, 2.0 * len(cells) + 3), 4.5))
    left, right = fig.subplots(1, 2)
    raw = _raw_label(cells)
    _bars(left, cells, [("SDK", lambda c: c["prefill_tok_s"]), (raw, lambda c: _get(c, "raw", "prefill_tok_s"))])
    left.set_ylabel("prefill tokens/s")
    left.set_title("Prefill speed")
    _bars(right, cells, [("SDK", lambda c: c.get("ttft_s")), (raw, lambda c: _get(c, "raw", "ttft_s"))], scale=1000)
    right.set_ylabel("time to first token (ms)")
    right.set_title("Time to first token (lower is better)")
    _legend_outside(right)  # both panels draw the same series
    tokens = results.get("settings", {}).get("prompt_tokens", "?")
    fig.suptitle(f"{tokens}-token prompt, median with min-max whiskers; {_subtitle(results)}", fontsize=10)
    return fig


def _memory(Figure, results: dict, cells: list[dict]):
    cells = [c for c in cells if "peak_rss_bytes" in c or "file_bytes" in c]
    if not cells:
        return None
    fig = Figure(figsize=(max(6.0, 1.1 * len(cells) + 2), 4.5))
    ax = fig.subplots()
    _bars(ax, cells, [("peak RSS (load + generation)", lambda c: c.get("peak_rss_bytes")),
                      ("bundle size on disk", lambda c: c.get("file_bytes"))], scale=1 / MIB)
    ax.set_ylabel("MiB")
    ax.set_title(f"Memory and size\n{_subtitle(results)}", fontsize=10)
    _legend_outside(ax)
    return fig


def _accuracy_vs_size(Figure, results: dict, cells: list[dict]):
    panels = [(key, title, ylabel, lower)
              for key, title, ylabel, lower in (
                  (("wikipedia", "perplexity"), "Wikipedia perplexity (lower is better)", "perplexity", True),
                  (("arithmetic", "accuracy"), "Arithmetic (higher is better)", "share answered right", False))
              if any(_get(c, "accuracy", *key) is not None and "file_bytes" in c for c in cells)]
    if not panels:
        return None
    fig = Figure(figsize=(6.0 * len(panels), 4.8))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (key, title, ylabel, lower) in zip(axes[0], panels, strict=True):
        chosen = [c for c in cells if _get(c, "accuracy", *key) is not None and "file_bytes" in c]
        points = [(c["file_bytes"] / MIB, float(_get(c, "accuracy", *key))) for c in chosen]
        ax.scatter([x for x, _ in points], [y for _, y in points], zorder=3)
        for cell, (x, y) in zip(chosen, points, strict=True):
            ax.annotate(cell_label(cell), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        front = [points[i] for i in pareto_front(points, lower_is_better=lower)]
        # "post": between two front sizes the best a budget buys is the smaller cell's score
        ax.step([x for x, _ in front], [y for _, y in front], where="post", color="tab:red", alpha=0.7,
                label="Pareto front")
        ys = [y for _, y in points]
        if lower and min(ys) > 0 and max(ys) / min(ys) > 20:
            ax.set_yscale("log")  # a broken quantization's perplexity would flatten all the others
        ax.set_xlabel("bundle size (MiB)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Accuracy against size; {_subtitle(results)}", fontsize=10)
    return fig
