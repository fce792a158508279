"""ExecuTorch export of a tiny random-init checkpoint: a .pte ExecuTorch's own LLM runner generates with."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from plain_runtimes import executorch_forward_logits, executorch_runner_text

import infir_edge
from infir_edge.errors import ModelFormatError
from infir_edge.export import export


@pytest.fixture(scope="module")
def pte_bundles(tiny_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("pte")
    return {q: export(tiny_checkpoint, format="executorch", quant=q, out=root / q, max_context=256)
            for q in ("fp32", "8da8w", "8da4w")}


@pytest.fixture(scope="module")
def pte_bundle(pte_bundles):
    return pte_bundles["8da4w"]


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


def test_fp32_export_is_exact(pte_bundles):
    verification = _manifest(pte_bundles["fp32"])["verification"]
    assert verification["top1_agreement"] == 1.0 and verification["mean_kl"] < 1e-4


def test_8da4w_passes_its_floor_and_records_the_group_size(pte_bundle):
    manifest = _manifest(pte_bundle)
    assert manifest["format"] == "pte" and manifest["verification"]["passed"]
    assert manifest["export_report"]["group_size"] == 32


@pytest.mark.parametrize("quant", ["8da8w", "8da4w"])
def test_every_linear_is_quantized(pte_bundles, quant):
    manifest = _manifest(pte_bundles[quant])
    assert manifest["verification"]["passed"] and not manifest["verification"]["forced"]
    assert manifest["export_report"]["quantized_linears"] == 2 * 7 + 1  # 2 layers of q/k/v/o/gate/up/down + head
    assert manifest["export_report"]["output_head"] == "8da8w"


def test_bundle_generates_through_the_sdk(pte_bundle):
    with infir_edge.load(pte_bundle) as engine:
        assert engine.info().backend == "executorch" and engine.n_ctx == 256
        config = infir_edge.GenerationConfig(max_new_tokens=8, stop=("zzz",))
        assert "".join(engine.stream("Hello there", config)) == engine.generate("Hello there", config).text


def test_bare_program_file_loads(pte_bundles):
    with infir_edge.load(pte_bundles["fp32"] / "model.pte") as engine:
        assert engine.info().backend == "executorch"
        assert len(engine.generate("Hi", max_new_tokens=3, stop=()).token_ids) == 3


def test_plain_executorch_runtime_forward_matches_the_sdk(pte_bundles):
    ids = list(range(5, 15))
    with infir_edge.load(pte_bundles["fp32"]) as engine:
        sdk = engine.teacher_forced_logits(ids)
    assert np.abs(executorch_forward_logits(pte_bundles["fp32"], ids) - sdk).max() < 1e-5


def test_executorch_runner_generates_with_the_bundles_tokenizer(pte_bundle):
    assert executorch_runner_text(pte_bundle, "Hello", 6)


def test_sdk_and_runner_agree_greedily(pte_bundle):
    with infir_edge.load(pte_bundle) as engine:
        assert engine.generate("Hello", max_new_tokens=6).text == executorch_runner_text(pte_bundle, "Hello", 6)


def test_truncated_program_is_refused(pte_bundle, tmp_path):
    copy = shutil.copytree(pte_bundle, tmp_path / "copy")
    (copy / "manifest.json").unlink()
    data = (copy / "model.pte").read_bytes()
    (copy / "model.pte").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError):
        infir_edge.load(copy / "model.pte")
