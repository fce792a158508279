"""`infir-edge bench --compare A/results.json B/results.json`: the figures of two runs side by side, with the
ratio B / A, for the cells (format x quantization) both runs measured.

Reads only the JSON, so two machines' results can be compared anywhere, without the runtimes installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from infir_edge.errors import InvalidRequestError

READABLE_VERSIONS = (1,)  # the results_version values this reader knows the layout of
MIB = 2**20

# (name, how to read it from a cell, format of one value); None where the run did not measure it
METRICS: tuple[tuple[str, Callable[[dict], float | None], str], ...] = (
    ("decode tok/s", lambda c: _get(c, "decode_tok_s", "median"), "{:.1f}"),
    ("prefill tok/s", lambda c: _get(c, "prefill_tok_s", "median"), "{:.1f}"),
    ("ttft ms", lambda c: _scaled(_get(c, "ttft_s", "median"), 1000), "{:.1f}"),
    ("load s", lambda c: _get(c, "load_s", "median"), "{:.3f}"),
    ("peak RSS MiB", lambda c: _scaled(_get(c, "peak_rss_bytes"), 1 / MIB), "{:.1f}"),
    ("perplexity", lambda c: _get(c, "accuracy", "wikipedia", "perplexity"), "{:.3f}"),
    ("arithmetic accuracy", lambda c: _get(c, "accuracy", "arithmetic", "accuracy"), "{:.3f}"),
    ("sdk/raw decode", lambda c: _get(c, "raw", "sdk_over_raw_decode"), "{:.3f}"),
)
AUTO_METRICS: tuple[tuple[str, Callable[[dict], float | None], str], ...] = (
    ("decode tok/s", lambda a: _get(a, "decode_tok_s", "median"), "{:.1f}"),
    ("speedup over baseline", lambda a: _get(a, "speedup_over_baseline"), "{:.3f}"),
)
SETTINGS_COMPARED = ("model", "prompt_tokens", "new_tokens", "repeats", "accuracy", "raw")


def compare_files(a: str | Path, b: str | Path) -> str:
    """The comparison table of two `results.json` files (a run's directory stands for its results.json)."""
    return compare_results(load_results(a), load_results(b), names=(str(a), str(b)))


def load_results(path: str | Path) -> dict:
    """A `results.json`, or InvalidRequestError with one line naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidRequestError(f"{path}: no such file") from None
    except OSError as e:
        raise InvalidRequestError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InvalidRequestError(f"{path} is not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise InvalidRequestError(f"{path} is not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict) or "results_version" not in data or not isinstance(data.get("cells"), list):
        raise InvalidRequestError(f"{path} is not the results.json of `infir-edge bench` (no results_version or cells)")
    if data["results_version"] not in READABLE_VERSIONS:
        raise InvalidRequestError(f"{path} has results_version {data['results_version']!r}; this version of the "
                                  f"benchmarks reads {', '.join(map(str, READABLE_VERSIONS))}")
    return data


def compare_results(a: dict, b: dict, *, names: tuple[str, str] = ("A", "B")) -> str:
    """A plain-text report: both machines, settings that differ, a table of A, B and B / A for every cell both
    runs measured, then the cells only one run has and the cells that failed."""
    lines = [f"{side} = {name}" for side, name in zip("AB", names, strict=True) if name != side]
    for side, run in (("A", a), ("B", b)):
        machine = run.get("machine", {})
        lines.append(f"{side}: {machine.get('cpu_model', 'unknown CPU')}, {machine.get('threads', '?')} threads, "
                     f"copy bandwidth {_fmt(_bandwidth(run), '{:.1f}')} GB/s")
    lines.append(f"bandwidth B/A: {_fmt(_ratio(_bandwidth(a), _bandwidth(b)), '{:.3f}')}")
    lines += _differences(a, b)

    cells_a, cells_b = _by_key(a), _by_key(b)
    # a cell that failed in both runs has no figure to show: the error lines below name it
    shared = [k for k in cells_a if k in cells_b and not ("error" in cells_a[k] and "error" in cells_b[k])]
    rows = [(f"{fmt} {quant}", metric, *_row(get, form, cells_a[fmt, quant], cells_b[fmt, quant]))
            for fmt, quant in shared for metric, get, form in METRICS]
    auto_a, auto_b = a.get("auto"), b.get("auto")
    if isinstance(auto_a, dict) and isinstance(auto_b, dict) and "error" not in auto_a and "error" not in auto_b:
        rows += [("backend=auto", metric, *_row(get, form, auto_a, auto_b)) for metric, get, form in AUTO_METRICS]
    lines.append("")
    if rows:
        lines.append("B/A above 1: B is higher (better for speeds and accuracy, worse for ttft, load, RSS, perplexity)")
        lines += _table(("cell", "metric", "A", "B", "B/A"), rows)
    else:
        lines.append("no cell (format, quantization) was measured in both runs")

    for side, mine, other in (("A", cells_a, cells_b), ("B", cells_b, cells_a)):
        only = [k for k in mine if k not in other]
        if only:
            lines.append(f"only in {side}: {', '.join(f'{fmt} {quant}' for fmt, quant in only)}")
    for side, cells in (("A", cells_a), ("B", cells_b)):
        for (fmt, quant), cell in cells.items():
            if "error" in cell:
                lines.append(f"error in {side} {fmt} {quant}: {_one_line(cell['error'])}")
    for side, auto in (("A", auto_a), ("B", auto_b)):
        if isinstance(auto, dict) and "error" in auto:
            lines.append(f"error in {side} backend=auto: {_one_line(auto['error'])}")
    return "\n".join(lines)


def _get(node, *keys: str):
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or a == 0 else b / a


def _fmt(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def _row(get, form: str, a: dict, b: dict) -> tuple[str, str, str]:
    va, vb = get(a), get(b)
    return _fmt(va, form), _fmt(vb, form), _fmt(_ratio(va, vb), "{:.3f}")


def _bandwidth(run: dict) -> float | None:
    return _get(run, "memory_bandwidth", "best_bandwidth_gb_s")


def _by_key(run: dict) -> dict[tuple[str, str], dict]:
    cells: dict[tuple[str, str], dict] = {}
    for cell in run["cells"]:
        cells.setdefault((str(cell.get("format")), str(cell.get("quant"))), cell)
    return cells


def _differences(a: dict, b: dict) -> list[str]:
    """Settings and runtime versions that differ: the ratios then measure more than the machine."""
    pairs = [(k, _get_any(a, "settings", k), _get_any(b, "settings", k)) for k in SETTINGS_COMPARED]
    pairs.append(("threads", _get_any(a, "machine", "threads"), _get_any(b, "machine", "threads")))
    versions_a, versions_b = _get_any(a, "machine", "versions") or {}, _get_any(b, "machine", "versions") or {}
    pairs += [(pkg, versions_a.get(pkg), versions_b.get(pkg)) for pkg in sorted(set(versions_a) | set(versions_b))]
    return [f"differs: {name} {va} (A) vs {vb} (B)" for name, va, vb in pairs if va != vb]


def _get_any(run: dict, *keys: str):
    node = run
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _one_line(text: str) -> str:
    first = (str(text).strip().splitlines() or [""])[0]
    return first if len(first) <= 200 else first[:197] + "..."


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    # text columns flush left, numbers flush right so that their digits line up
    def line(r):
        return "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))

    return [line(header), line(tuple("-" * w for w in widths)), *(line(r).rstrip() for r in rows)]
