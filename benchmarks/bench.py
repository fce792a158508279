"""`infir-edge bench`: latency, memory and accuracy of every format x quantization, against the raw runtimes
and the machine's memory-bandwidth roofline.

    infir-edge bench --model default --formats gguf,onnx,executorch --out bench-out

Exports what it needs into the bundle cache (reusing what is there), measures the memory bandwidth, runs
each cell in a fresh child process (`benchmarks.cell`), then the `backend="auto"` probe, and writes
`results.json`, `report.md` and PNG plots. A run that is interrupted resumes when started again with the
same command: each finished cell is kept in `OUT/cells/` with the job it measured (`--overwrite` starts over).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.bandwidth import copy_bandwidth
from benchmarks.machine import describe_machine
from benchmarks.roofline import KV_BYTES, decode_roofline, model_shape, weight_bytes_per_token
from infir_edge.errors import InfirEdgeError, InvalidRequestError
from infir_edge.files import atomic_write_text

FORMAT_BACKEND = {"gguf": "llamacpp", "onnx": "onnxruntime", "executorch": "executorch"}
BUNDLE_FORMAT = {"gguf": "gguf", "onnx": "onnx", "executorch": "pte"}
# what `--formats` alone measures: the quantizations a user would choose between for each format
DEFAULT_QUANTS = {"gguf": ("q8_0", "q4_k_m", "q4_1", "q4_0"), "onnx": ("fp32", "int8", "int4"),
                  "executorch": ("8da8w", "8da4w")}
JOB_TIMEOUT_S = 3600
RESULTS_VERSION = 1


@dataclass(frozen=True)
class BenchSettings:
    model: str = "default"
    formats: tuple[str, ...] = ("gguf", "onnx", "executorch")
    quants: tuple[str, ...] | None = None  # None: DEFAULT_QUANTS of each format
    prompt_tokens: int = 128
    new_tokens: int = 64
    repeats: int = 3
    threads: int | None = None
    accuracy: bool = True
    raw: bool = True
    auto: bool = True


def plan_cells(formats, quants) -> list[tuple[str, str]]:
    """(format, quant) pairs to measure; every requested quant must belong to some requested format."""
    from infir_edge.export import EXPORTERS, exporter_module

    unknown = [f for f in formats if f not in EXPORTERS]
    if unknown or not formats:
        raise InvalidRequestError(f"--formats must name some of {', '.join(EXPORTERS)}, got {','.join(formats)}")
    if quants is None:
        return [(f, q) for f in formats for q in DEFAULT_QUANTS[f]]
    cells = [(f, q) for f in formats for q in quants if q in exporter_module(f).QUANTS]
    orphans = [q for q in quants if not any(q == cq for _, cq in cells)]
    if orphans:
        known = "; ".join(f"{f}: {' '.join(exporter_module(f).QUANTS)}" for f in formats)
        raise InvalidRequestError(f"quantization(s) {', '.join(orphans)} exist in none of the formats ({known})")
    return cells


def ensure_bundle(model: str, fmt: str, quant: str, bundles_root: Path | None, threads: int | None, *,
                  awq: bool = True) -> Path:
    """The cached bundle of `model` in `fmt`/`quant`, exported first if it is missing or damaged.

    Exported with force: a quantization below its verification floor is still measured (its figures say
    so); the cache marks it failed, so `backend="auto"` never picks it."""
    from infir_edge.errors import ModelFormatError
    from infir_edge.export import export, exporter_module
    from infir_edge.models.bundle import read_manifest
    from infir_edge.models.bundle_cache import bundle_dir, model_sha256

    digest = model_sha256(model)
    path = bundle_dir(digest, fmt, quant if awq else f"{quant}-noawq", bundles_root)
    recipe = exporter_module(fmt).RECIPE
    try:
        manifest = read_manifest(path)
        if manifest.source.get("sha256") == digest and manifest.export_settings.get("recipe", 1) == recipe:
            return path
    except ModelFormatError:
        pass  # missing or damaged (or made by an older recipe): export again
    return export(model, format=fmt, quant=quant, out=path, overwrite=True, force=True, threads=threads, awq=awq)


def _job_key(job: dict) -> str:
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]


def run_job(job: dict, saved: Path) -> dict:
    """Run one job in a child process; reuse its saved result when the same job finished before."""
    key = _job_key(job)
    if saved.is_file():
        previous = json.loads(saved.read_text())
        if previous.get("job_key") == key and "error" not in previous["result"]:
            return previous["result"]
    with tempfile.TemporaryDirectory(prefix="infir-edge-bench-") as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(json.dumps(job))
        try:
            # every job gets OpenMP's single-threaded default from the start (see the ExecuTorch backend: it
            # cannot be set once llama.cpp or torch loaded libgomp, and the auto probe loads both)
            env = {"OMP_NUM_THREADS": "1", **os.environ}
            proc = subprocess.run([sys.executable, "-m", "benchmarks.cell", str(job_file), str(result_file)],
                                  capture_output=True, text=True, errors="replace", timeout=JOB_TIMEOUT_S, env=env)
            if result_file.is_file():
                result = json.loads(result_file.read_text())
            else:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
                result = {"error": f"the measuring process ended with code {proc.returncode}: {tail}"}
        except subprocess.TimeoutExpired:
            result = {"error": f"the measurement did not finish within {JOB_TIMEOUT_S} s"}
    atomic_write_text(saved, json.dumps({"job_key": key, "job": job, "result": result}, indent=2))
    return result


def cell_roofline(cell: dict, model_file: Path, shape, settings: BenchSettings, bandwidth_gb_s: float) -> dict:
    fmt = BUNDLE_FORMAT[cell["format"]]
    roof = decode_roofline(
        weight_bytes=weight_bytes_per_token(fmt, model_file, shape), shape=shape, kv_dtype_bytes=KV_BYTES[fmt],
        prompt_tokens=settings.prompt_tokens, new_tokens=settings.new_tokens, bandwidth_gb_s=bandwidth_gb_s,
    )
    if "decode_tok_s" in cell:
        roof["sdk_fraction"] = cell["decode_tok_s"]["median"] / roof["decode_tok_s"]
    if "raw" in cell:
        roof["raw_fraction"] = cell["raw"]["decode_tok_s"]["median"] / roof["decode_tok_s"]
    return roof


def run_bench(settings: BenchSettings, out: str | Path, *, overwrite: bool = False,
              bundles_root: str | Path | None = None) -> dict:
    """Measure, then write OUT/results.json, OUT/report.md and OUT/*.png; returns the results."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from infir_edge.models.bundle import read_manifest
    from infir_edge.models.sources import resolve_model
    from infir_edge.runtime.resources import resolve_threads

    out = Path(out)
    if (out / "results.json").exists() and not overwrite:
        raise InvalidRequestError(f"{out}/results.json already exists (pass --overwrite to replace it)")
    if overwrite and (out / "cells").is_dir():
        shutil.rmtree(out / "cells")  # a fresh run; without --overwrite an interrupted one resumes from here
    _check_settings(settings)
    threads = resolve_threads(settings.threads)
    cells_plan = plan_cells(settings.formats, settings.quants)
    source = resolve_model(settings.model)
    if source.format not in ("gguf", "checkpoint"):
        raise InvalidRequestError(f"--model must be 'default', a .gguf or a checkpoint directory, not {source.format}")
    shape = model_shape(settings.model)
    bundles_root = Path(bundles_root).expanduser() if bundles_root is not None else None

    started = time.time()
    results = {"results_version": RESULTS_VERSION, "created_unix": started, "settings": asdict(settings),
               "machine": describe_machine(threads), "model_shape": shape.as_dict()}
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("memory bandwidth", total=2 * len(cells_plan) + 2)
        results["memory_bandwidth"] = copy_bandwidth(threads)
        bandwidth = results["memory_bandwidth"]["best_bandwidth_gb_s"]
        progress.advance(task)
        bundles, cells = {}, []
        for fmt, quant in cells_plan:
            progress.update(task, description=f"bundle {fmt} {quant} (exported once, then cached)")
            try:
                bundles[fmt, quant] = ensure_bundle(settings.model, fmt, quant, bundles_root, threads)
            except InfirEdgeError as e:  # one format's exporter missing or failing spoils only its cells
                cells.append({"format": fmt, "quant": quant, "backend": FORMAT_BACKEND[fmt],
                              "error": f"export failed: {e}"})
                progress.advance(task)  # it will not be measured either
            progress.advance(task)
        for (fmt, quant), bundle in bundles.items():
            progress.update(task, description=f"measuring {fmt} {quant}")
            manifest = read_manifest(bundle)
            model_file = bundle / manifest.model_file
            job = {"kind": "cell", "bundle": str(bundle), "model_file": str(model_file),
                   "backend": FORMAT_BACKEND[fmt], "threads": threads, "repeats": settings.repeats,
                   "prompt_tokens": settings.prompt_tokens, "new_tokens": settings.new_tokens,
                   "accuracy": settings.accuracy, "raw": settings.raw,
                   "model_sha256": manifest.files[manifest.model_file]["sha256"]}  # a re-export is a new job
            cell = {"format": fmt, "quant": quant, "backend": FORMAT_BACKEND[fmt], "bundle": str(bundle),
                    "file_bytes": sum(f["bytes"] for f in manifest.files.values()),
                    "model_file_bytes": model_file.stat().st_size, "verification": manifest.verification}
            cell.update(run_job(job, out / "cells" / f"{fmt}-{quant}.json"))
            cell["roofline"] = cell_roofline(cell, model_file, shape, settings, bandwidth)
            cells.append(cell)
            progress.advance(task)
        order = {cell: i for i, cell in enumerate(cells_plan)}
        results["cells"] = sorted(cells, key=lambda c: order[c["format"], c["quant"]])
        if settings.auto:
            progress.update(task, description="backend='auto' probe and llama-cpp-python defaults")
            results["auto"] = run_job(_auto_job(settings, source, bundles, bundles_root), out / "cells" / "auto.json")
        progress.advance(task)
    results["duration_s"] = time.time() - started
    atomic_write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    from benchmarks.plots import write_plots
    from benchmarks.report import write_report

    write_report(results, out / "report.md")
    write_plots(results, out)
    return results


def _auto_job(settings: BenchSettings, source, bundles: dict, bundles_root: Path | None) -> dict:
    from infir_edge.models.bundle import read_manifest

    gguf = source.path if source.format == "gguf" else None
    if gguf is None:  # a checkpoint: llama-cpp-python's baseline runs the first GGUF bundle measured
        found = [b for (fmt, _), b in bundles.items() if fmt == "gguf"]
        if not found:
            return {"error": "no GGUF to run llama-cpp-python's defaults on: include gguf in --formats"}
        gguf = found[0] / read_manifest(found[0]).model_file
    manifests = [read_manifest(b) for b in bundles.values()]
    hashes = sorted(m.files[m.model_file]["sha256"] for m in manifests)
    return {"kind": "auto", "model": settings.model, "bundles_root": str(bundles_root) if bundles_root else None,
            "bundle_sha256": hashes,  # new bundles make it a new job, not one to resume
            "baseline_gguf": str(gguf), "prompt_tokens": settings.prompt_tokens,
            "new_tokens": settings.new_tokens, "repeats": settings.repeats}


def _check_settings(s: BenchSettings) -> None:
    for name, low in (("prompt_tokens", 1), ("new_tokens", 2), ("repeats", 1)):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidRequestError(f"--{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
