"""ONNX export of a tiny random-init checkpoint: fp32, int8, int4, verified and run in plain onnxruntime."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from plain_runtimes import onnxruntime_genai_greedy, onnxruntime_logits

import infir_edge
from infir_edge.errors import ModelFormatError
from infir_edge.export import export


@pytest.fixture(scope="module")
def onnx_bundles(tiny_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    quants = ("fp32", "int8", "int4")
    return {q: export(tiny_checkpoint, format="onnx", quant=q, out=root / q, max_context=256) for q in quants}


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


def test_fp32_export_is_exact(onnx_bundles):
    verification = _manifest(onnx_bundles["fp32"])["verification"]
    assert verification["top1_agreement"] == 1.0 and verification["mean_kl"] < 1e-4


@pytest.mark.parametrize("quant", ["int8", "int4"])
def test_quantized_exports_pass_their_floor(onnx_bundles, quant):
    manifest = _manifest(onnx_bundles[quant])
    assert manifest["verification"]["passed"] and not manifest["verification"]["forced"]
    assert manifest["export_report"]["op_types"]["MatMulNBits"] > 0


def _nbits(bundle) -> dict[str, int]:
    """MatMulNBits node -> its bits, by the name of the MatMul it replaced (the quantizer appends _Q{bits})."""
    import onnx

    graph = onnx.load(str(bundle / "model.onnx"), load_external_data=False).graph
    return {n.name.rsplit("_Q", 1)[0]: next(a.i for a in n.attribute if a.name == "bits") for n in graph.node
            if n.op_type == "MatMulNBits"}


def test_the_builder_fuses_attention(onnx_bundles):
    assert _manifest(onnx_bundles["fp32"])["export_report"]["op_types"]["GroupQueryAttention"] == 2


def test_int4_keeps_the_head_qkv_and_down_projections_at_8_bits_computing_in_int8(onnx_bundles):
    report = _manifest(onnx_bundles["int4"])["export_report"]
    assert report["block_size"] == 32 and report["head_bits"] == 8 and report["accuracy_level"] == 4
    bits = _nbits(onnx_bundles["int4"])
    eight = {name for name, b in bits.items() if b == 8}
    layers = {name.split("/")[2] for name in bits if name.startswith("/model/layers.")}
    assert eight == {"/lm_head/MatMul"} | {f"/model/{layer}/{m}/MatMul" for layer in layers
                                           for m in ("attn/qkv_proj", "mlp/down_proj")}
    assert report["eight_bit_matmuls"] == len(eight)
    assert {name for name, b in bits.items() if b == 4} and set(bits.values()) == {4, 8}


def test_int8_quantizes_every_matmul_to_8_bits(onnx_bundles):
    bits = _nbits(onnx_bundles["int8"])
    assert "/lm_head/MatMul" in bits and set(bits.values()) == {8}
    assert _manifest(onnx_bundles["int8"])["export_report"]["op_types"].get("MatMul", 0) == 0


def test_bundle_keeps_its_layout(onnx_bundles):
    names = {p.name for p in onnx_bundles["int4"].iterdir()}
    assert {"model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "config.json",
            "manifest.json"} <= names


def test_bundle_generates_through_the_sdk(onnx_bundles):
    with infir_edge.load(onnx_bundles["int8"]) as engine:
        assert engine.info().backend == "onnxruntime" and engine.info().quantization == "int8"
        config = infir_edge.GenerationConfig(max_new_tokens=8)
        assert "".join(engine.stream("Hello there", config)) == engine.generate("Hello there", config).text


def test_bare_onnx_file_loads(onnx_bundles):
    with infir_edge.load(onnx_bundles["fp32"] / "model.onnx") as engine:
        assert len(engine.generate("Hi", max_new_tokens=3).token_ids) == 3


def test_plain_onnxruntime_genai_generates_from_the_bundle(onnx_bundles):
    with infir_edge.load(onnx_bundles["int4"]) as engine:
        ids = engine.tokenize("Hello there")
        expected = engine.generate(ids, max_new_tokens=5, ignore_eos=True, temperature=0).token_ids
    assert onnxruntime_genai_greedy(onnx_bundles["int4"], ids, 5) == expected


def test_plain_onnxruntime_session_runs_the_graph(onnx_bundles):
    assert onnxruntime_logits(onnx_bundles["fp32"] / "model.onnx", [1, 2, 3]).shape == (3, 49152)


def test_onnx_engine_matches_the_torch_reference(onnx_bundles, tiny_checkpoint):
    ids = list(range(5, 25))
    with infir_edge.load(onnx_bundles["fp32"]) as onnx_engine, infir_edge.load(tiny_checkpoint) as torch_engine:
        difference = np.abs(onnx_engine.teacher_forced_logits(ids) - torch_engine.teacher_forced_logits(ids)).max()
    assert difference < 1e-3


def test_replaced_model_file_is_refused(onnx_bundles, tmp_path):
    copy = shutil.copytree(onnx_bundles["int4"], tmp_path / "copy")
    (copy / "model.onnx").write_text("not a model at all")
    with pytest.raises(ModelFormatError):
        infir_edge.load(copy)
