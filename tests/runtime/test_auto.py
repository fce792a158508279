"""load(backend="auto"): the fastest of a model and its cached bundles, from a cached probe."""

from __future__ import annotations

import os

import pytest
from tiny_models import write_gguf_bundle as make_bundle

import infir_edge
from infir_edge.errors import BackendUnavailableError, InvalidRequestError
from infir_edge.models.bundle import sha256_of
from infir_edge.models.bundle_cache import bundle_dir
from infir_edge.runtime import auto


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFIR_EDGE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def model_with_bundle(tmp_path, tiny_gguf):
    model = tmp_path / "model.gguf"
    model.write_bytes(tiny_gguf.read_bytes())
    digest = sha256_of(model)
    bundle = make_bundle(bundle_dir(digest, "gguf", "q8_0", tmp_path / "cache" / "bundles"), model, digest)
    return model, bundle


def fake_speeds(speeds: dict, calls: list):
    def measure(candidate):
        calls.append(candidate)
        return speeds[candidate.label, candidate.threads]
    return measure


def test_thread_options_are_the_users_count_or_a_spread_over_the_cores():
    assert auto.thread_options(3) == [3]
    options = auto.thread_options(None)
    assert 1 in options and max(options) == os.cpu_count()


def test_candidates_are_the_model_and_its_bundles_at_each_thread_count(model_with_bundle):
    model, bundle = model_with_bundle
    found = auto.candidates(model, threads=1)
    assert [(c.label, c.backend, c.threads) for c in found] == [("model", "llamacpp", 1), ("gguf-q8_0", "llamacpp", 1)]
    assert found[1].path == str(bundle)


def test_the_fastest_candidate_is_chosen(model_with_bundle, monkeypatch):
    model, bundle = model_with_bundle
    calls = []
    monkeypatch.setattr(auto, "measure", fake_speeds({("model", 1): 50.0, ("gguf-q8_0", 1): 80.0}, calls))
    choice = auto.choose(model, threads=1)
    assert (choice.path, choice.threads) == (str(bundle), 1)


def test_the_probe_is_cached_until_a_file_changes(model_with_bundle, monkeypatch):
    model, _ = model_with_bundle
    calls = []
    monkeypatch.setattr(auto, "measure", fake_speeds({("model", 1): 50.0, ("gguf-q8_0", 1): 80.0}, calls))
    auto.probe(model, threads=1)
    auto.probe(model, threads=1)
    assert len(calls) == 2  # two candidates, measured once
    os.utime(model, ns=(1, 1))  # a changed file is another candidate
    auto.probe(model, threads=1)
    assert len(calls) == 4


def test_a_candidate_that_cannot_run_is_skipped(model_with_bundle, monkeypatch):
    model, _ = model_with_bundle

    def measure(candidate):
        if candidate.label == "gguf-q8_0":
            raise BackendUnavailableError("llamacpp", "llamacpp", "not installed")
        return 10.0

    monkeypatch.setattr(auto, "measure", measure)
    assert [m.candidate.label for m in auto.probe(model, threads=1)] == ["model"]


def test_load_auto_returns_the_chosen_engine(model_with_bundle, monkeypatch):
    model, bundle = model_with_bundle
    monkeypatch.setattr(auto, "measure", fake_speeds({("model", 1): 90.0, ("gguf-q8_0", 1): 20.0}, []))
    with infir_edge.load(model, backend="auto", threads=1, n_ctx=128) as engine:
        assert engine.info().path == str(model) and engine.threads == 1 and engine.n_ctx == 128


def test_load_auto_refuses_backend_options(tiny_gguf):
    with pytest.raises(InvalidRequestError, match="auto"):
        infir_edge.load(tiny_gguf, backend="auto", n_batch=8)


def test_measure_times_a_real_generation(tiny_gguf):
    rate = auto.measure(auto.Candidate(str(tiny_gguf), "llamacpp", 1, "model"))
    assert rate > 0
