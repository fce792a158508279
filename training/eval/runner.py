"""`evaluate()`: run the evaluation suites on one model through `infir_edge.load` and write what they found.

Any model the SDK loads can be evaluated, on any backend that runs it: a training checkpoint (torch), a GGUF
(llama.cpp) or an exported bundle (its own runtime), so the figures of a checkpoint and of its phone bundle compare.

    out/results.json    model info, figures per suite, settings, wall time per suite, machine
    out/report.md       the figures as a markdown table
    out/<suite>.jsonl   one record per item (problem, question, window)
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from infir_edge.errors import InvalidRequestError
from infir_edge.files import atomic_directory, atomic_write_text, check_output

# suite name -> (module, function): (engine, *, limit, progress) -> (figures, records); imported when run
SUITES = {
    "humaneval": ("training.eval.humaneval", "run_humaneval"),
    "math": ("training.eval.math_accuracy", "run_math"),
    "ppl": ("training.eval.perplexity", "run_perplexity"),
    "word_problems": ("training.eval.word_problems", "run_word_problems"),
}


def parse_suites(suites: str | Iterable[str]) -> list[str]:
    """Suite names from "a,b" or a list: known ones only, each once, in the order given."""
    names = [s.strip() for s in (suites.split(",") if isinstance(suites, str) else suites)]
    names = list(dict.fromkeys(s for s in names if s))
    if not names:
        raise InvalidRequestError(f"no suite named (choose from {', '.join(SUITES)})")
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise InvalidRequestError(f"unknown suite(s): {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    return names


def evaluate(model: str | Path, *, suites: str | Iterable[str] = tuple(SUITES), limit: int | None = None,
             out: str | Path, backend: str | None = None, threads: int | None = None, n_ctx: int | None = None,
             dtype: str | None = None, overwrite: bool = False, progress: bool = True) -> dict:
    """Evaluate `model` ('default', a checkpoint dir, a .gguf or a bundle dir) and write the results to `out`.

    limit: the first N items of each suite (problems, questions per set, perplexity windows).
    dtype: the torch backend's weights ("bfloat16" decodes ~1.8x faster than "float32" on CPUs with AMX/AVX512-bf16).
    Returns what results.json holds.
    """
    from infir_edge.runtime.loader import load

    names = parse_suites(suites)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidRequestError(f"limit must be an integer >= 1, got {limit!r}")
    check_output(out, overwrite=overwrite)  # before the long work, not after it
    started = datetime.now(timezone.utc)
    figures, records, wall = {}, {}, {}
    options = {"dtype": dtype} if dtype else {}
    with load(model, backend=backend, n_ctx=n_ctx, threads=threads, **options) as engine:
        info = engine.info().as_dict()
        finished = FinishedSuites(Path(out), {"model": str(model), "limit": limit, **info})
        for name in names:
            done = finished.get(name)
            if done is not None:  # an interrupted evaluation, rerun: this suite is not run again
                figures[name], records[name], wall[name] = done["figures"], done["records"], done["wall_s"]
                continue
            start = time.perf_counter()
            module, function = SUITES[name]
            run = getattr(importlib.import_module(module), function)
            figures[name], records[name] = run(engine, limit=limit, progress=progress)
            wall[name] = round(time.perf_counter() - start, 2)
            finished.add(name, figures[name], records[name], wall[name])
    results = {
        "model": {"name": str(model), **info},
        "suites": figures,
        "wall_s": wall,
        "settings": {"suites": names, "limit": limit, "backend": info["backend"], "threads": info["threads"],
                     "n_ctx": info["n_ctx"]},
        "machine": _machine(),
        "started": started.isoformat(timespec="seconds"),
    }
    _write(Path(out), results, records, overwrite=overwrite)
    finished.clear()
    return results


class FinishedSuites:
    """Suites finished by an evaluation that did not reach its end, kept beside `out` (`.<out>.suites/`): the same
    command skips them, as long as model, settings and limit are the same (`identity`)."""

    def __init__(self, out: Path, identity: dict) -> None:
        self.folder = out.parent / f".{out.name}.suites"
        self.identity = json.loads(json.dumps(identity))

    def get(self, name: str) -> dict | None:
        path = self.folder / f"{name}.json"
        if not path.is_file():
            return None
        saved = json.loads(path.read_text(encoding="utf-8"))
        return saved if saved.get("identity") == self.identity else None

    def add(self, name: str, figures: dict, records: list[dict], wall_s: float) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        saved = {"identity": self.identity, "figures": figures, "records": records, "wall_s": wall_s}
        atomic_write_text(self.folder / f"{name}.json", json.dumps(saved, ensure_ascii=False))

    def clear(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def _machine() -> dict:
    from infir_edge import __version__

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "infir_edge": __version__}


def _write(out: Path, results: dict, records: dict[str, list[dict]], *, overwrite: bool) -> None:
    # the whole folder appears at once, so an old run's files never mix with a new one's
    with atomic_directory(out, overwrite=overwrite) as folder:
        atomic_write_text(folder / "results.json", json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(folder / "report.md", report(results))
        for name, rows in records.items():
            atomic_write_text(folder / f"{name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def summary_table(results: dict) -> str:
    """The figures as a markdown table: one row per figure."""
    rows = []
    suites, wall = results["suites"], results["wall_s"]
    if "humaneval" in suites:
        h = suites["humaneval"]
        rows.append(("humaneval", f"pass@1 ({h['prompt_style']} prompt)", f"{h['pass@1']:.4f}",
                     f"{h['passed']}/{h['problems']} problems", wall["humaneval"]))
    if "math" in suites:
        m = suites["math"]
        for name, s in m["sets"].items():
            rows.append((f"math: {name}", "accuracy", f"{s['accuracy']:.4f}", f"{s['correct']}/{s['items']}", ""))
        rows.append(("math", "accuracy (all sets)", f"{m['accuracy']:.4f}", f"{m['correct']}/{m['items']}",
                     wall["math"]))
    if "word_problems" in suites:
        w = suites["word_problems"]
        tool_rows = [(f"accuracy with {', '.join(w['with_tools']['tools'])}", w["with_tools"]["tiers"])] \
            if "with_tools" in w else []
        for figure, tiers in [("accuracy", w["tiers"]), *tool_rows]:
            for name, tier in tiers.items():
                rows.append((f"word problems: {name}", figure, f"{tier['accuracy']:.4f}",
                             f"{tier['correct']}/{tier['items']}", ""))
        rows[-1] = (*rows[-1][:4], wall["word_problems"])
    if "ppl" in suites:
        p = suites["ppl"]
        value = f"{p['ppl']:.3f}" if p["ppl"] is not None else "n/a"
        rows.append(("ppl", "perplexity", value, f"{p['tokens_scored']:,} tokens, {p['windows']} windows",
                     wall["ppl"]))
    lines = ["| suite | figure | value | items | wall s |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    return "\n".join(lines) + "\n"


def report(results: dict) -> str:
    model, settings = results["model"], results["settings"]
    limit = f", first {settings['limit']} items of each suite" if settings["limit"] else ""
    head = (f"# Evaluation of {model['name']}\n\n"
            f"{model['path']} ({model['format']}, {model['quantization']}), backend {model['backend']}, "
            f"{model['threads']} threads, context {model['n_ctx']}{limit}; started {results['started']}.\n\n")
    notes = []
    if "ppl" in results["suites"]:
        notes.append(f"Perplexity slice: {results['suites']['ppl']['slice']}.")
    if "math" in results["suites"]:
        notes.append(f"Math: greedy, thinking budget {results['suites']['math']['budget']} tokens, "
                     "answers compared as numbers.")
    if "word_problems" in results["suites"]:
        w = results["suites"]["word_problems"]
        tools = w.get("with_tools")
        again = f"; asked again with the tools {tools['tools']} in the decoding loop ({tools['tool_calls']} calls)"
        notes.append(f"Word problems: test-split templates, system prompt {w['system_prompt']!r}, the question then "
                     f"{w['instruction']!r}, greedy, at most {w['max_new_tokens']} new tokens, the last number in the "
                     f"reply is the answer{again if tools else ''}.")
    if "humaneval" in results["suites"]:
        notes.append("HumanEval: greedy, one sample per problem, run in the sandbox ("
                     + ", ".join(results["suites"]["humaneval"]["sandbox"]) + ").")
    return head + summary_table(results) + "\n" + "\n".join(notes) + "\n"
