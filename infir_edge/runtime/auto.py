"""`load(model, backend="auto")`: the fastest way this machine has to run `model`, found by a small probe.

The candidates are the model itself (on its format's backend) and every verified bundle exported from it
in the bundle cache (`infir-edge bench` and `infir-edge export --out` into the cache put them there), each
at a few thread counts. Each candidate is loaded and times a short greedy generation; the fastest decode
wins. The outcome is cached per machine and per set of candidate files, so the probe runs once, not at
every load: a new bundle, a changed file or another machine probes again.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console

from infir_edge.cache import file_key, read_json_cache, update_json_cache
from infir_edge.errors import InfirEdgeError
from infir_edge.models.bundle_cache import cached_bundles
from infir_edge.models.sources import resolve_model
from infir_edge.runtime.resources import cpu_model, physical_cores

PROBE_CACHE = "auto_backend.json"
PROBE_TEXT = "The history of the bicycle begins in the early nineteenth century, when inventors in Europe"
PROBE_NEW_TOKENS = 32
PROBE_ROUNDS = 2  # the best of two generations per candidate: the first warms caches and page tables


@dataclass(frozen=True)
class Candidate:
    path: str  # what `load()` is given: the model as named, or a bundle directory
    backend: str
    threads: int
    label: str  # e.g. "gguf q8_0" or "model"


@dataclass(frozen=True)
class Measured:
    candidate: Candidate
    decode_tokens_per_s: float


def thread_options(threads: int | None) -> list[int]:
    """The user's thread count, or 1, half and all of the physical cores, and every logical CPU."""
    if threads is not None:
        return [threads]
    cores = physical_cores()
    return sorted({1, max(1, cores // 2), cores, os.cpu_count() or cores})


def candidates(model: str | Path, threads: int | None, bundles_root: str | Path | None = None) -> list[Candidate]:
    from infir_edge.runtime.loader import DEFAULT_BACKEND

    source = resolve_model(model)
    runs = [(str(model), DEFAULT_BACKEND[source.format], "model")]
    backend_of = {"gguf": "llamacpp", "onnx": "onnxruntime", "pte": "executorch"}
    for bundle in cached_bundles(model, bundles_root):
        if bundle.path.resolve() != source.path.parent.resolve():  # the model itself is already listed
            runs.append((str(bundle.path), backend_of[bundle.manifest.format], bundle.name))
    return [Candidate(path, backend, t, label) for path, backend, label in runs for t in thread_options(threads)]


def _probe_key(found: list[Candidate]) -> str:
    machine = f"{platform.machine()}|{cpu_model()}|{os.cpu_count()}"
    files = sorted({file_key(resolve_model(c.path).path) + f"@{c.backend}/{c.threads}" for c in found})
    return machine + "||" + ";".join(files)


def measure(candidate: Candidate) -> float:
    """Decode tokens/s of one candidate: the best of PROBE_ROUNDS short greedy generations."""
    from infir_edge.runtime.loader import load

    with load(candidate.path, backend=candidate.backend, threads=candidate.threads, n_ctx=256) as engine:
        prompt = engine.tokenize(PROBE_TEXT)
        rates = [engine.generate(prompt, max_new_tokens=PROBE_NEW_TOKENS, ignore_eos=True).timings.decode_tokens_per_s
                 for _ in range(PROBE_ROUNDS)]
    return max(rates)


def probe(model: str | Path, threads: int | None = None, bundles_root: str | Path | None = None) -> list[Measured]:
    """Every candidate's decode speed, fastest first; cached for this machine and these files."""
    found = candidates(model, threads, bundles_root)
    key = _probe_key(found)
    cached = read_json_cache(PROBE_CACHE).get(key)
    if cached:
        return [Measured(Candidate(**row["candidate"]), row["decode_tokens_per_s"]) for row in cached]
    results = []
    with Console(stderr=True).status("probing backends") as status:
        for candidate in found:
            status.update(f"probing {candidate.label} on {candidate.backend}, {candidate.threads} threads")
            try:
                results.append(Measured(candidate, measure(candidate)))
            except InfirEdgeError:
                continue  # a backend that is not installed or a bundle it cannot run is simply not a choice
    results.sort(key=lambda m: m.decode_tokens_per_s, reverse=True)
    update_json_cache(PROBE_CACHE, key, [asdict(m) for m in results])
    return results


def choose(model: str | Path, threads: int | None = None, bundles_root: str | Path | None = None) -> Candidate:
    results = probe(model, threads, bundles_root)
    if not results:
        raise InfirEdgeError(f"no backend could run {model} on this machine (every candidate failed to load)")
    return results[0].candidate
