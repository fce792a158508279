"""The embedded default model through the export path (slow: ~30 s each, the 135M model)."""

from __future__ import annotations

import json

import pytest

import infir_edge
from infir_edge.export import export, verify

pytestmark = pytest.mark.slow


def test_default_gguf_q8_0_bundle(tmp_path):
    bundle = export("default", format="gguf", quant="q8_0", out=tmp_path / "q8_0")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["verification"]["top1_agreement"] >= 0.90  # measured 0.9825
    assert manifest["verification"]["passed"]
    with infir_edge.load(bundle) as engine:
        assert "Paris" in engine.generate("The capital of France is", max_new_tokens=8).text
    assert verify(bundle)["top1_agreement"] == manifest["verification"]["top1_agreement"]
