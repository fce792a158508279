"""ONNX export of a tiny random-init checkpoint: fp32, int8, int4, verified and run in plain onnxruntime."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from plain_runtimes import onnxruntime_logits

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


@pytest.mark.parametrize("quant,op", [("int8", "MatMulInteger"), ("int4", "MatMulNBits")])
def test_quantized_exports_pass_their_floor(onnx_bundles, quant, op):
    manifest = _manifest(onnx_bundles[quant])
    assert manifest["verification"]["passed"] and not manifest["verification"]["forced"]
    assert manifest["export_report"]["op_types"][op] > 0


def test_int4_records_its_block_size(onnx_bundles):
    assert _manifest(onnx_bundles["int4"])["export_report"]["block_size"] == 32


def _head_nodes(bundle):
    import onnx

    graph = onnx.load(str(bundle / "model.onnx"), load_external_data=False).graph
    return {n.op_type: {a.name: a.i for a in n.attribute} for n in graph.node if n.name.startswith("/lm_head/")}


def test_int4_quantizes_the_untied_head_to_8_bits_computing_in_int8(onnx_bundles):
    report = _manifest(onnx_bundles["int4"])["export_report"]
    assert report["untied_head"] and report["head_bits"] == 8 and report["accuracy_level"] == 4
    head = _head_nodes(onnx_bundles["int4"])["MatMulNBits"]
    assert head["bits"] == 8 and head["accuracy_level"] == 4


def test_int8_quantizes_the_untied_head(onnx_bundles):
    assert "MatMulInteger" in _head_nodes(onnx_bundles["int8"])


def test_fp32_keeps_the_head_tied(onnx_bundles):
    assert "untied_head" not in _manifest(onnx_bundles["fp32"])["export_report"]


def test_bundle_generates_through_the_sdk(onnx_bundles):
    with infir_edge.load(onnx_bundles["int8"]) as engine:
        assert engine.info().backend == "onnxruntime" and engine.info().quantization == "int8"
        config = infir_edge.GenerationConfig(max_new_tokens=8)
        assert "".join(engine.stream("Hello there", config)) == engine.generate("Hello there", config).text


def test_bare_onnx_file_loads(onnx_bundles):
    with infir_edge.load(onnx_bundles["fp32"] / "model.onnx") as engine:
        assert len(engine.generate("Hi", max_new_tokens=3).token_ids) == 3


def test_plain_onnxruntime_with_past_key_values(onnx_bundles):
    assert onnxruntime_logits(onnx_bundles["fp32"] / "model.onnx", [1, 2, 3]).shape == (3, 49152)


def test_optimum_loads_the_bundle(onnx_bundles):
    from optimum.onnxruntime import ORTModelForCausalLM

    model = ORTModelForCausalLM.from_pretrained(onnx_bundles["fp32"])
    assert model.config.vocab_size == 49152


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
