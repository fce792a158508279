"""The bundle cache: bundles filed by the sha256 of the model they were made from."""

from __future__ import annotations

import pytest
from tiny_models import write_gguf_bundle as make_bundle

from infir_edge.models.bundle import sha256_of
from infir_edge.models.bundle_cache import bundle_dir, cached_bundles, model_sha256


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFIR_EDGE_CACHE", str(tmp_path / "cache"))


def test_bundles_are_filed_under_the_source_hash(tmp_path):
    assert bundle_dir("ab" * 32, "onnx", "int8", tmp_path) == tmp_path / ("ab" * 8) / "onnx-int8"


def test_only_sound_verified_bundles_of_this_model_are_listed(tmp_path, tiny_gguf):
    digest = sha256_of(tiny_gguf)
    good = make_bundle(bundle_dir(digest, "gguf", "q8_0", tmp_path), tiny_gguf, digest)
    make_bundle(bundle_dir(digest, "gguf", "q4_0", tmp_path), tiny_gguf, digest, passed=False, quant="q4_0")
    damaged = make_bundle(bundle_dir(digest, "gguf", "f16", tmp_path), tiny_gguf, digest, quant="f16")
    (damaged / "model.gguf").write_bytes(b"GGUF")  # truncated: its size no longer matches the manifest
    make_bundle(bundle_dir(digest, "gguf", "f32", tmp_path), tiny_gguf, "0" * 64, quant="f32")  # another source
    assert [b.path for b in cached_bundles(tiny_gguf, tmp_path)] == [good]
    assert cached_bundles(tiny_gguf, tmp_path)[0].name == "gguf-q8_0"


def test_a_bundle_stands_for_the_model_it_was_made_from(tmp_path, tiny_gguf):
    digest = sha256_of(tiny_gguf)
    bundle = make_bundle(tmp_path / "b", tiny_gguf, digest)
    assert model_sha256(bundle) == digest


def test_a_model_is_hashed_once(tiny_gguf, monkeypatch):
    first = model_sha256(tiny_gguf)
    monkeypatch.setattr("infir_edge.models.bundle_cache.sha256_of", lambda path: pytest.fail("hashed twice"))
    assert model_sha256(tiny_gguf) == first
