"""The InfiR size with its real RoPE scaling (the `infir-1b` preset: Llama-3.2-1B's shape and its `llama3` scaling,
factor 32 over 8,192 positions) through every format at full precision, verified on the prompt set that includes
one longer than 256 tokens. Slow: a random-init 1.24 B model in fp32 (5 GB a bundle); ExecuTorch's export alone
takes minutes."""

from __future__ import annotations

import json

import pytest

import infir_edge
from infir_edge.export import export

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def infir_1b(tmp_path_factory, default_checkpoint):
    import shutil

    import torch
    from transformers import LlamaForCausalLM

    from infir_edge.models.infir import preset_config

    path = tmp_path_factory.mktemp("infir-1b") / "checkpoint"
    torch.manual_seed(0)
    LlamaForCausalLM(preset_config("infir-1b", bos_token_id=1, eos_token_id=2)).save_pretrained(path)
    for file in default_checkpoint.iterdir():  # SmolLM2's tokenizer: its ids fill the first rows of the vocabulary
        if file.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            shutil.copy(file, path / file.name)
    return path


@pytest.mark.parametrize("fmt,quant", [("gguf", "f32"), ("onnx", "fp32"), ("executorch", "fp32")])
def test_infir_1b_with_llama3_rope_scaling_exports_at_full_precision(infir_1b, tmp_path, fmt, quant):
    assert json.loads((infir_1b / "config.json").read_text())["rope_scaling"]["rope_type"] == "llama3"
    bundle = export(infir_1b, format=fmt, quant=quant, out=tmp_path / fmt, max_context=512)
    verification = json.loads((bundle / "manifest.json").read_text())["verification"]
    assert verification["passed"] and not verification["forced"]
    assert verification["top1_agreement"] >= 0.99
    with infir_edge.load(bundle) as engine:
        assert len(engine.generate("The capital of France is", max_new_tokens=4).token_ids) == 4
