"""`infir-edge bench --families`: its checkpoints and its table (the exports themselves: tests/export)."""

from __future__ import annotations

import pytest
import torch

from benchmarks.families import _markdown, write_families_report, write_family_checkpoint
from infir_edge.errors import InvalidRequestError


def test_an_unknown_family_is_refused(tmp_path):
    with pytest.raises(InvalidRequestError, match="gpt2"):
        write_families_report(["gpt2"], tmp_path)


def test_a_refused_cell_quotes_its_reason():
    data = {"sharpen": 4.0, "greedy_tokens": 8, "rows": [
        {"family": "gemma", "format": "executorch", "quant": "fp32", "refused": "ModelFormatError: no gemma"},
        {"family": "qwen3", "format": "gguf", "quant": "f32", "top1_agreement": 1.0, "mean_kl": 1e-9,
         "passed": True, "greedy_same": 8, "export_s": 12.0},
    ]}
    text = _markdown(data)
    assert "| gemma | executorch fp32 | refused: ModelFormatError: no gemma |" in text
    assert "| qwen3 | gguf f32 | 1.0000 | 1.00e-09 | 8/8 | 12 |" in text


def test_norms_are_drawn_and_attention_sharpened(tmp_path, default_checkpoint):
    from transformers import AutoModelForCausalLM

    plain = AutoModelForCausalLM.from_pretrained(write_family_checkpoint(tmp_path / "a", default_checkpoint, "gemma"))
    sharp = AutoModelForCausalLM.from_pretrained(
        write_family_checkpoint(tmp_path / "b", default_checkpoint, "gemma", sharpen=3.0))
    norm = plain.model.layers[0].input_layernorm.weight
    assert norm.abs().mean() > 0.05  # Gemma's neutral weight is 0: a dropped offset would show
    q_plain, q_sharp = plain.model.layers[0].self_attn.q_proj.weight, sharp.model.layers[0].self_attn.q_proj.weight
    assert torch.allclose(q_sharp, 3.0 * q_plain)
