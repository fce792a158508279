"""A complete synthetic `results.json` of `infir-edge bench`, for tests that must not measure anything."""

from __future__ import annotations

import copy

MIB = 2**20


def stats(median: float, spread: float = 0.05) -> dict:
    values = [median * (1 - spread), median, median * (1 + spread)]
    return {"min": values[0], "median": median, "max": values[2], "values": values}


def make_cell(fmt: str, quant: str, *, decode: float = 50.0, prefill: float = 500.0, ttft: float = 0.25,
              load: float = 0.5, rss_mib: float = 400.0, size_mib: float = 140.0, perplexity: float | None = 20.0,
              arithmetic: float | None = 0.5, sdk_over_raw: float | None = 0.98, roofline: float = 120.0) -> dict:
    """One measured cell; perplexity=None leaves out accuracy, sdk_over_raw=None the raw runtime."""
    backend = {"gguf": "llamacpp", "onnx": "onnxruntime", "executorch": "executorch"}[fmt]
    runtime = {"gguf": "llama-cpp-python", "onnx": "onnxruntime-genai", "executorch": "executorch TextLLMRunner"}[fmt]
    size = int(size_mib * MIB)
    cell = {
        "format": fmt, "quant": quant, "backend": backend, "bundle": f"/cache/{fmt}-{quant}",
        "file_bytes": size, "model_file_bytes": size - 4096,
        "verification": {"top1_agreement": 0.97, "mean_kl": 0.01, "passed": True, "floor": 0.9},
        "load_s": stats(load), "ttft_s": stats(ttft), "prefill_tok_s": stats(prefill), "decode_tok_s": stats(decode),
        "peak_rss_bytes": int(rss_mib * MIB), "rss_after_generation_bytes": int(rss_mib * 0.9 * MIB),
        "prompt_tokens": 128, "new_tokens": 64,
        "roofline": {"weight_bytes_per_token": size, "kv_bytes_per_token": 1000, "bytes_per_token": size + 1000,
                     "bandwidth_gb_s": 20.0, "decode_tok_s": roofline, "sdk_fraction": decode / roofline},
    }
    if sdk_over_raw is not None:
        raw_decode = decode / sdk_over_raw
        cell["raw"] = {"runtime": runtime, "ttft_s": stats(ttft * 0.95), "prefill_tok_s": stats(prefill * 1.05),
                       "decode_tok_s": stats(raw_decode), "generated_tokens": [64, 64, 64],
                       "sdk_decode_tok_s": stats(decode), "sdk_over_raw_decode": sdk_over_raw, "pairs": 3}
        cell["roofline"]["raw_fraction"] = raw_decode / roofline
    if perplexity is not None:
        cell["accuracy"] = {"wikipedia": {"perplexity": perplexity, "tokens": 1530, "windows": 6},
                            "arithmetic": {"accuracy": arithmetic, "correct": round(24 * arithmetic), "problems": 24,
                                           "seed": 0}}
    return cell


def error_cell(fmt: str, quant: str, message: str = "RuntimeError: the runtime crashed") -> dict:
    """A cell whose measuring process failed: what the bench knows without measuring, and the error."""
    cell = make_cell(fmt, quant)
    kept = ("format", "quant", "backend", "bundle", "file_bytes", "model_file_bytes", "verification")
    failed = {k: cell[k] for k in kept}
    roof = {k: v for k, v in cell["roofline"].items() if not k.endswith("_fraction")}
    return {**failed, "error": message, "traceback": "Traceback (most recent call last): ...", "roofline": roof}


def sample_results(**overrides) -> dict:
    """Four cells over the three formats (gguf q4_0 failed) and the auto probe; `overrides` replace top-level keys."""
    results = {
        "results_version": 1, "created_unix": 1_700_000_000.0, "duration_s": 900.0,
        "settings": {"model": "default", "formats": ["gguf", "onnx", "executorch"], "quants": None,
                     "prompt_tokens": 128, "new_tokens": 64, "repeats": 3, "threads": None, "accuracy": True,
                     "raw": True, "auto": True},
        "machine": {"cpu_model": "Test CPU 9000", "architecture": "x86_64", "physical_cores": 4, "logical_cores": 8,
                    "threads": 4, "last_level_cache_bytes": 32 * MIB, "memory_bytes": 16 * 2**30, "os": "Linux",
                    "python": "3.12.0", "versions": {"infir-edge": "0.1.0", "llama-cpp-python": "0.3.16"}},
        "model_shape": {"n_layer": 30, "n_embd": 576, "n_head": 9, "n_head_kv": 3, "n_vocab": 49152},
        "memory_bandwidth": {"bandwidth_gb_s": stats(19.0), "best_bandwidth_gb_s": 20.0, "array_bytes": 256 * MIB,
                             "threads": 4, "method": "STREAM Copy"},
        "cells": [
            make_cell("gguf", "q8_0", decode=60.0, size_mib=140.0, perplexity=18.0, arithmetic=0.50),
            error_cell("gguf", "q4_0"),
            make_cell("onnx", "int8", decode=40.0, size_mib=160.0, perplexity=18.5, arithmetic=0.55, roofline=100.0),
            make_cell("executorch", "8da4w", decode=70.0, size_mib=100.0, perplexity=22.0, arithmetic=0.40,
                      roofline=150.0),
        ],
        "auto": {"choice": {"label": "gguf q8_0", "path": "/cache/gguf-q8_0", "backend": "llamacpp", "threads": 4},
                 "decode_tok_s": stats(61.0),
                 "probe": [{"label": "gguf q8_0", "backend": "llamacpp", "threads": 4, "decode_tok_s": 61.0}],
                 "baseline": {"runtime": "llama-cpp-python, default settings", "model_file": "/m.gguf", "threads": 8,
                              "decode_tok_s": stats(50.0)},
                 "speedup_over_baseline": 1.22},
    }
    results.update(copy.deepcopy(overrides))
    return results
