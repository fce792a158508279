"""`infir-edge bench --shapes 135m,1b`: how close each backend comes to the memory-bandwidth roofline, and at
how many threads, for the default model and for a random-init model of the InfiR size (the `infir-1b` preset:
Llama-3.2-1B's shape with its Llama 3 RoPE scaling).

Random weights decode exactly as fast as trained ones (the same bytes are read per token), so the 1B shape
needs no download. Written to OUT/roofline.md (and roofline.json); never part of a default run.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from benchmarks.bandwidth import copy_bandwidth
from benchmarks.bench import FORMAT_BACKEND, BenchSettings, cell_roofline, ensure_bundle, plan_cells, run_job
from benchmarks.machine import describe_machine
from benchmarks.roofline import model_shape
from infir_edge.errors import InfirEdgeError, InvalidRequestError
from infir_edge.files import atomic_write_text

SHAPE_PRESET = "infir-1b"  # the tokenizer is SmolLM2's: its 49,152 tokens fill the first rows of the 128,256-row
# embedding, which is all a decode-speed measurement needs
SHAPES = ("135m", "1b")
# one quantization per format, the one a phone would run
SHAPE_QUANTS = {"gguf": ("q4_0",), "onnx": ("int4",), "executorch": ("8da4w",)}


def shape_model(name: str) -> str:
    """What `name` benchmarks: the embedded default, or the random-init 1B checkpoint (made once, cached)."""
    if name == "135m":
        return "default"
    from infir_edge.cache import cache_root

    path = cache_root() / "shapes" / f"{SHAPE_PRESET}-random"
    if not (path / "config.json").is_file():
        _write_random_1b(path)
    return str(path)


def _write_random_1b(path: Path) -> None:
    import tempfile

    import torch
    from transformers import LlamaForCausalLM

    from infir_edge.files import atomic_directory
    from infir_edge.models.convert import gguf_to_checkpoint
    from infir_edge.models.infir import preset_config

    with atomic_directory(path, overwrite=True) as tmp, tempfile.TemporaryDirectory() as scratch:
        donor = gguf_to_checkpoint("default", Path(scratch) / "smollm2")  # for its tokenizer files
        torch.manual_seed(0)
        LlamaForCausalLM(preset_config(SHAPE_PRESET, bos_token_id=1, eos_token_id=2)).save_pretrained(tmp)
        for file in donor.iterdir():
            if file.name.startswith(("tokenizer", "special_tokens", "chat_template")):
                (tmp / file.name).write_bytes(file.read_bytes())


def _thread_counts(threads: int | None) -> list[int]:
    import os

    return [threads] if threads else list(range(1, (os.cpu_count() or 1) + 1))


def write_roofline_report(shapes, out, *, threads=None, repeats=3, prompt_tokens=128, new_tokens=64,
                          formats=("gguf", "onnx", "executorch"), quants=None, overwrite=False) -> Path:
    from infir_edge.models.bundle import read_manifest

    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        raise InvalidRequestError(f"--shapes takes {', '.join(SHAPES)}, got {', '.join(unknown)}")
    out = Path(out)
    if (out / "roofline.md").exists() and not overwrite:
        raise InvalidRequestError(f"{out}/roofline.md already exists (pass --overwrite to replace it)")
    if overwrite and (out / "cells").is_dir():
        shutil.rmtree(out / "cells")  # a fresh run; without --overwrite an interrupted one resumes
    if quants is None:
        quants = tuple(q for f in formats for q in SHAPE_QUANTS[f])
    cells_plan = plan_cells(formats, quants)
    counts = _thread_counts(threads)
    bandwidth = copy_bandwidth(max(counts))
    settings = BenchSettings(prompt_tokens=prompt_tokens, new_tokens=new_tokens, repeats=repeats)
    rows = []
    data = {"created_unix": time.time(), "machine": describe_machine(max(counts)), "memory_bandwidth": bandwidth,
            "prompt_tokens": prompt_tokens, "new_tokens": new_tokens, "repeats": repeats, "rows": rows}
    for shape_name in shapes:
        model = shape_model(shape_name)
        shape = model_shape(model)
        for fmt, quant in cells_plan:
            try:
                # random weights have no activation outliers to protect: AWQ would only cost an hour at 1B
                bundle = ensure_bundle(model, fmt, quant, None, None, awq=shape_name != "1b")
            except InfirEdgeError as e:  # one exporter failing (memory, a missing extra) spoils only its row
                rows.append({"shape": shape_name, "format": fmt, "quant": quant, "backend": FORMAT_BACKEND[fmt],
                             "export_error": str(e)})
                continue
            manifest = read_manifest(bundle)
            model_file = bundle / manifest.model_file
            by_threads = {}
            for t in counts:
                job = {"kind": "cell", "bundle": str(bundle), "model_file": str(model_file),
                       "backend": FORMAT_BACKEND[fmt], "threads": t, "repeats": repeats,
                       "prompt_tokens": prompt_tokens, "new_tokens": new_tokens, "accuracy": False, "raw": False,
                       "model_sha256": manifest.files[manifest.model_file]["sha256"]}
                by_threads[t] = run_job(job, out / "cells" / f"{shape_name}-{fmt}-{quant}-t{t}.json")
            decode = {t: r["decode_tok_s"]["median"] for t, r in by_threads.items() if "decode_tok_s" in r}
            roof = cell_roofline({"format": fmt}, model_file, shape, settings, bandwidth["best_bandwidth_gb_s"])
            best = max(decode, key=decode.get) if decode else None
            size = sum(f["bytes"] for name, f in manifest.files.items() if name.startswith(manifest.model_file))
            rows.append({"shape": shape_name, "format": fmt, "quant": quant, "backend": FORMAT_BACKEND[fmt],
                         "file_bytes": size,  # model.onnx with its model.onnx.data
                         "roofline": roof, "decode_by_threads": decode,
                         "best_threads": best, "best_fraction": decode[best] / roof["decode_tok_s"] if best else None,
                         "errors": {t: r["error"] for t, r in by_threads.items() if "error" in r}})
            # rewritten after every row: a run stopped half-way (the 1B exports take long) leaves its rows
            atomic_write_text(out / "roofline.json", json.dumps(data, indent=2) + "\n")
            atomic_write_text(out / "roofline.md", _markdown(data, counts))
    return out / "roofline.md"


def _markdown(data: dict, counts: list[int]) -> str:
    m, bw = data["machine"], data["memory_bandwidth"]
    header = ["shape", "format quant", "backend", "file MiB", "MiB read per token", "roofline tok/s",
              *[f"decode tok/s, {t} thr" for t in counts], "best threads", "% of roofline"]
    lines = [
        "# Decode against the memory-bandwidth roofline",
        "",
        f"{m['cpu_model']}, {m['logical_cores']} CPUs; copy bandwidth {bw['best_bandwidth_gb_s']:.1f} GB/s "
        f"(best of {len(bw['bandwidth_gb_s']['values'])}, {bw['threads']} threads). Prompt {data['prompt_tokens']} "
        f"tokens, {data['new_tokens']} new, median of {data['repeats']}. The roofline is bandwidth / (weights + "
        "K/V read per token); 1b is a random-init Llama-3.2-1B shape (16 layers, d=2048, 128,256 vocab).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for r in data["rows"]:
        if "export_error" in r:
            continue
        roof = r["roofline"]
        speeds = [f"{r['decode_by_threads'][t]:.1f}" if t in r["decode_by_threads"] else "failed" for t in counts]
        lines.append("| " + " | ".join([
            r["shape"], f"{r['format']} {r['quant']}", r["backend"], f"{r['file_bytes'] / 2**20:.0f}",
            f"{roof['bytes_per_token'] / 2**20:.0f}", f"{roof['decode_tok_s']:.1f}", *speeds,
            str(r["best_threads"] or "-"), f"{r['best_fraction']:.0%}" if r["best_fraction"] else "-",
        ]) + " |")
    errors = [f"- {r['shape']} {r['format']} {r['quant']}, {t} threads: {e}" for r in data["rows"]
              for t, e in r.get("errors", {}).items()]
    errors += [f"- {r['shape']} {r['format']} {r['quant']}: export failed: {r['export_error']}"
               for r in data["rows"] if "export_error" in r]
    if errors:
        lines += ["", "Failed measurements:", *errors]
    return "\n".join(lines) + "\n"
