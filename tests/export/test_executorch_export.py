"""ExecuTorch export of a tiny random-init checkpoint: a .pte ExecuTorch's own LLM runner generates with."""

from __future__ import annotations

import json
import shutil

import pytest

import infir_edge
from infir_edge.errors import ModelFormatError
from infir_edge.export import export


@pytest.fixture(scope="module")
def pte_bundle(tiny_checkpoint, tmp_path_factory):
    return export(tiny_checkpoint, format="executorch", quant="8da4w", out=tmp_path_factory.mktemp("pte") / "b",
                  max_context=256)


def _manifest(bundle):
    return json.loads((bundle / "manifest.json").read_text())


def test_8da4w_passes_its_floor_and_records_the_group_size(pte_bundle):
    manifest = _manifest(pte_bundle)
    assert manifest["format"] == "pte" and manifest["verification"]["passed"]
    assert manifest["export_report"]["group_size"] == 64  # the tiny model's widths are 64 and 128


def test_bundle_generates_through_the_sdk(pte_bundle):
    with infir_edge.load(pte_bundle) as engine:
        assert engine.info().backend == "executorch" and engine.n_ctx == 256
        config = infir_edge.GenerationConfig(max_new_tokens=8, stop=("zzz",))
        assert "".join(engine.stream("Hello there", config)) == engine.generate("Hello there", config).text


def _runner_text(bundle, prompt: str, max_new_tokens: int) -> str:
    """Generate with ExecuTorch's own C++ runner on the bundle's files, no SDK code involved."""
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    import executorch.kernels.quantized  # noqa: F401
    from executorch.extension.llm.runner import GenerationConfig, TextLLMRunner
    from executorch.extension.pybindings import portable_lib  # noqa: F401

    runner = TextLLMRunner(str(bundle / "model.pte"), str(bundle / "tokenizer.json"))
    pieces: list[str] = []
    config = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0, echo=False)
    runner.generate(prompt, config, token_callback=pieces.append)
    return "".join(pieces)


def test_executorch_runner_generates_with_the_bundles_tokenizer(pte_bundle):
    assert _runner_text(pte_bundle, "Hello", 6)


def test_sdk_and_runner_agree_greedily(pte_bundle):
    with infir_edge.load(pte_bundle) as engine:
        assert engine.generate("Hello", max_new_tokens=6).text == _runner_text(pte_bundle, "Hello", 6)


def test_truncated_program_is_refused(pte_bundle, tmp_path):
    copy = shutil.copytree(pte_bundle, tmp_path / "copy")
    (copy / "manifest.json").unlink()
    data = (copy / "model.pte").read_bytes()
    (copy / "model.pte").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError):
        infir_edge.load(copy / "model.pte")
