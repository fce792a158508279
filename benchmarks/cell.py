"""One measurement job, run in a fresh child process so that its peak memory, its threads and a crash of a
runtime belong to it alone:

    python -m benchmarks.cell JOB.json RESULT.json

A `cell` job measures one bundle through the SDK and through its raw runtime; an `auto` job measures
`load(model, backend="auto")` against llama-cpp-python with its default settings.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from pathlib import Path

import psutil

from benchmarks.corpora import wikipedia_text
from benchmarks.raw_runtimes import RAW_RUNTIMES, LlamaCppRaw
from benchmarks.stats import median_ratio, summarize
from infir_edge.files import atomic_write_text

PROMPT_SKIP_ARTICLES = 500  # the prompt's text is not part of the perplexity slice (which starts at 0)
WARMUP_TOKENS = 8
MIN_PAIRS = 7  # SDK/raw pairs: a median of 7 shrugs off two runs a neighbour on the machine slowed down


def make_prompt(engine, prompt_tokens: int) -> tuple[list[int], str]:
    """Exactly `prompt_tokens` ids of Wikipedia text, and the text they spell (for runners that tokenize)."""
    text = wikipedia_text(prompt_tokens * 8, skip_articles=PROMPT_SKIP_ARTICLES)
    ids = engine.tokenize(text)[:prompt_tokens]
    return ids, engine.detokenize(ids)


def sdk_run(engine, prompt_ids: list[int], new_tokens: int):
    """A streamed generation of exactly `new_tokens` tokens, consumed as an app would; its Timings."""
    stream = engine.stream(prompt_ids, max_new_tokens=new_tokens, ignore_eos=True)
    for _piece in stream:
        pass
    return stream.result.timings


def peak_rss_bytes() -> int:
    """This process's peak resident memory. Linux: VmHWM, the peak of this program image; getrusage's
    ru_maxrss would also count the parent's memory at fork (it survives exec), the bench's gigabytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, the others KiB


def measure_cell(job: dict) -> dict:
    import infir_edge

    model, backend, threads, repeats = job["model_file"], job["backend"], job["threads"], job["repeats"]
    n_ctx = max(512, job["prompt_tokens"] + job["new_tokens"] + 8)
    # every run repeats the same prompt: llama.cpp's prefix reuse would prefill one token of it, not the prompt
    options = {"prefix_cache": False} if backend == "llamacpp" else {}
    with infir_edge.load(job["bundle"], backend=backend, threads=threads, n_ctx=n_ctx) as engine:  # imports, page cache
        prompt_ids, prompt_text = make_prompt(engine, job["prompt_tokens"])
    loads = []
    for i in range(repeats):
        start = time.perf_counter()
        engine = infir_edge.load(job["bundle"], backend=backend, threads=threads, n_ctx=n_ctx, **options)
        loads.append(time.perf_counter() - start)
        if i < repeats - 1:
            engine.close()
    sdk_run(engine, prompt_ids, WARMUP_TOKENS)
    runs = [sdk_run(engine, prompt_ids, job["new_tokens"]) for _ in range(repeats)]
    result = {
        "load_s": summarize(loads),
        "ttft_s": summarize(t.ttft_s for t in runs),
        "prefill_tok_s": summarize(t.prefill_tokens_per_s for t in runs),
        "decode_tok_s": summarize(t.decode_tokens_per_s for t in runs),
        "peak_rss_bytes": peak_rss_bytes(),  # load + generation, before the raw runtime is loaded
        "rss_after_generation_bytes": psutil.Process().memory_info().rss,
        "prompt_tokens": len(prompt_ids),
        "new_tokens": job["new_tokens"],
    }
    if job.get("raw", True):
        result["raw"] = compare_with_raw(engine, job, Path(model), prompt_ids, prompt_text, n_ctx)
    if job.get("accuracy", True):
        from benchmarks.accuracy import arithmetic_accuracy, perplexity

        result["accuracy"] = {"wikipedia": perplexity(engine), "arithmetic": arithmetic_accuracy(engine)}
    engine.close()
    return result


def compare_with_raw(engine, job, model_file: Path, prompt_ids, prompt_text, n_ctx) -> dict:
    """SDK and raw runtime alternately on the same file, in this one process: the ratio is the median of
    the pairs' ratios, so the machine's drift hits both sides of each pair alike."""
    raw = RAW_RUNTIMES[job["backend"]](model_file, threads=job["threads"], n_ctx=n_ctx)
    raw.run(prompt_ids, WARMUP_TOKENS, prompt_text)
    pairs = max(job["repeats"], MIN_PAIRS)
    sdk_rates, raw_runs = [], []
    for i in range(pairs):
        order = ("sdk", "raw") if i % 2 == 0 else ("raw", "sdk")  # neither side always runs second
        for side in order:
            if side == "sdk":
                sdk_rates.append(sdk_run(engine, prompt_ids, job["new_tokens"]).decode_tokens_per_s)
            else:
                raw_runs.append(raw.run(prompt_ids, job["new_tokens"], prompt_text))
    raw.close()
    raw_rates = [r.decode_tok_s for r in raw_runs]
    return {
        "runtime": raw.name,
        "ttft_s": summarize(r.ttft_s for r in raw_runs),
        "prefill_tok_s": summarize(r.prefill_tok_s for r in raw_runs),
        "decode_tok_s": summarize(raw_rates),
        "generated_tokens": [r.generated_tokens for r in raw_runs],
        "sdk_decode_tok_s": summarize(sdk_rates),
        "sdk_over_raw_decode": median_ratio(sdk_rates, raw_rates),
        "pairs": pairs,
    }


def measure_auto(job: dict) -> dict:
    """`backend="auto"` (its probe included) against llama-cpp-python left at its defaults, same prompt."""
    import infir_edge
    from infir_edge.runtime.auto import probe

    probed = probe(job["model"], bundles_root=job["bundles_root"])
    best = probed[0].candidate
    with infir_edge.load(best.path, backend=best.backend, threads=best.threads, n_ctx=512) as engine:
        prompt_ids, prompt_text = make_prompt(engine, job["prompt_tokens"])
        sdk_run(engine, prompt_ids, WARMUP_TOKENS)
        auto_rates = [sdk_run(engine, prompt_ids, job["new_tokens"]).decode_tokens_per_s for _ in range(job["repeats"])]
    baseline = LlamaCppRaw(Path(job["baseline_gguf"]), threads=None, n_ctx=512)
    with infir_edge.load(job["baseline_gguf"], n_ctx=512) as engine:
        baseline_prompt = engine.tokenize(prompt_text)
    baseline.run(baseline_prompt, WARMUP_TOKENS, prompt_text)
    base_rates = [baseline.run(baseline_prompt, job["new_tokens"], prompt_text).decode_tok_s
                  for _ in range(job["repeats"])]
    base_threads = baseline.threads
    baseline.close()
    auto = summarize(auto_rates)
    base = summarize(base_rates)
    return {
        "choice": {"label": best.label, "path": best.path, "backend": best.backend, "threads": best.threads},
        "decode_tok_s": auto,
        "probe": [{"label": m.candidate.label, "backend": m.candidate.backend, "threads": m.candidate.threads,
                   "decode_tok_s": m.decode_tokens_per_s} for m in probed],
        "baseline": {"runtime": "llama-cpp-python, default settings", "model_file": job["baseline_gguf"],
                     "threads": base_threads, "decode_tok_s": base},
        "speedup_over_baseline": auto["median"] / base["median"],
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    try:
        result = measure_auto(job) if job["kind"] == "auto" else measure_cell(job)
    except Exception as e:  # recorded for the report; the benchmark goes on with the next job
        result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    atomic_write_text(Path(argv[1]), json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
