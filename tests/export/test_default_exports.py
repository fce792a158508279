"""The embedded default model through each format's Done-when export (slow: the 135M model; ExecuTorch's
export alone takes ~13 min on two cores). Each bundle must pass its floor, run in the plain runtime with no
SDK code, and generate through `infir_edge.load`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from plain_runtimes import executorch_forward_logits, executorch_runner_text, onnxruntime_logits

import infir_edge
from infir_edge.export import export, verify
from infir_edge.export.parity import FLOORS

pytestmark = pytest.mark.slow
PROMPT = "The capital of France is"


def _exported(tmp_path, fmt: str, quant: str):
    bundle = export("default", format=fmt, quant=quant, out=tmp_path / f"{fmt}-{quant}")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["source"]["sha256"] and len(manifest["source"]["sha256"]) == 64
    assert manifest["verification"]["passed"] and not manifest["verification"]["forced"]
    assert manifest["verification"]["top1_agreement"] >= FLOORS[quant]
    return bundle, manifest


def _sdk_text(bundle) -> str:
    with infir_edge.load(bundle) as engine:
        return engine.generate(PROMPT, max_new_tokens=8).text


def test_default_gguf_q8_0_bundle(tmp_path):
    bundle, manifest = _exported(tmp_path, "gguf", "q8_0")  # measured top-1 0.9825
    assert "Paris" in _sdk_text(bundle)
    assert verify(bundle)["top1_agreement"] == manifest["verification"]["top1_agreement"]


def test_default_gguf_q4_0_bundle(tmp_path):
    import llama_cpp

    bundle, manifest = _exported(tmp_path, "gguf", "q4_0")  # measured 0.842 (0.640 without AWQ)
    assert manifest["export_report"]["tensor_types"]["Q4_0"] == 30 * 7
    llm = llama_cpp.Llama(str(bundle / "model.gguf"), n_ctx=256, verbose=False)
    assert llm(PROMPT, max_tokens=8, temperature=0.0)["choices"][0]["text"].strip()
    assert _sdk_text(bundle).strip()


def test_default_onnx_int8_bundle(tmp_path):
    bundle, manifest = _exported(tmp_path, "onnx", "int8")  # 8-bit MatMulNBits on every MatMul, the head too
    assert manifest["export_report"]["op_types"]["MatMulNBits"] > 0
    assert "tokenizer.model" not in manifest["files"]  # from a GGUF source that "vocab file" is the GGUF itself
    with infir_edge.load(bundle) as engine:
        ids = engine.tokenize(PROMPT)
        sdk_logits = engine.teacher_forced_logits(ids)
    plain_logits = onnxruntime_logits(bundle / "model.onnx", ids)
    assert np.array_equal(plain_logits.argmax(-1), sdk_logits.argmax(-1))
    assert _sdk_text(bundle).strip()


def test_default_executorch_8da4w_bundle(tmp_path):
    bundle, manifest = _exported(tmp_path, "executorch", "8da4w")
    assert manifest["export_report"]["quantized_linears"] == 30 * 7 + 1
    with infir_edge.load(bundle) as engine:
        ids = engine.tokenize(PROMPT)
        sdk_text = engine.generate(PROMPT, max_new_tokens=8).text
        # a prompt longer than the program's max_seq_len (512) is prefilled in chunks of at most 511 tokens
        long_prompt = engine.generate([ids[0]] * 600, max_new_tokens=2, ignore_eos=True)
        assert len(long_prompt.token_ids) == 2
    assert executorch_forward_logits(bundle, ids).shape == (len(ids), 49152)
    assert executorch_runner_text(bundle, PROMPT, 8) == sdk_text
