"""AWQ equalization: same function in float, less error once quantized, identity where nothing is gained."""

from __future__ import annotations

import copy

import gguf
import numpy as np
import pytest
import torch

from infir_edge.export import equalize
from infir_edge.export.calibration import calibration_texts, capture_layer_inputs
from infir_edge.export.parity import PROMPTS


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32).eval(),
            AutoTokenizer.from_pretrained(tiny_checkpoint))


def _logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def test_calibration_text_is_not_the_verification_text():
    texts = calibration_texts()
    assert len(texts) >= 16 and not any(prompt[:40] in text for prompt in PROMPTS for text in texts)


def test_capture_keeps_samples_of_every_layer_input(tiny):
    model, tokenizer = tiny
    inputs = capture_layer_inputs(model, tokenizer, ["def f(x):\n    return x + 1\n" * 20, "Hello world. " * 50])
    assert len(inputs) == model.config.num_hidden_layers
    assert inputs[0].attention.shape[1] == model.config.hidden_size
    assert inputs[0].down.shape[1] == model.config.intermediate_size


def test_equalized_model_computes_the_same_function(tiny):
    model, tokenizer = tiny
    scaled = copy.deepcopy(model)
    alphas = equalize.equalize(scaled, capture_layer_inputs(scaled, tokenizer), equalize.symmetric(4, 32))
    assert any(a > 0 for layer in alphas for a in layer)  # something was actually rescaled
    ids = tokenizer(PROMPTS[0])["input_ids"]
    assert torch.allclose(_logits(model, ids), _logits(scaled, ids), atol=1e-4)


def test_weights_already_on_the_grid_are_left_alone(tiny):
    model, tokenizer = tiny
    on_grid = copy.deepcopy(model)
    with torch.no_grad():
        for layer in on_grid.model.layers:
            for linear in (*[getattr(layer.self_attn, n) for n in ("q_proj", "k_proj", "v_proj")],
                           layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj):
                linear.weight.copy_(equalize.q4_1(linear.weight))
    before = {n: p.clone() for n, p in on_grid.named_parameters()}
    alphas = equalize.equalize(on_grid, capture_layer_inputs(on_grid, tokenizer), equalize.q4_1)
    assert all(a == 0 for layer in alphas for a in layer)
    assert all(torch.equal(before[n], p) for n, p in on_grid.named_parameters())


def test_scaling_protects_a_salient_input_channel():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 64, generator=generator)
    x[:, 3] *= 30  # one channel with large activations, as LLMs have
    w = torch.randn(96, 64, generator=generator)
    quantize = equalize.symmetric(4, 32)
    plain = (x @ quantize(w).T - x @ w.T).pow(2).mean()
    s, alpha = equalize._best_scales(x, [w], quantize, None)
    scaled = ((x / s) @ quantize(w * s).T - x @ w.T).pow(2).mean()
    assert alpha > 0 and scaled < 0.8 * plain


@pytest.mark.parametrize("name", ["Q4_0", "Q4_1"])
def test_grids_match_gguf_py(name):
    w = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    qtype = gguf.GGMLQuantizationType[name]
    reference = gguf.quants.dequantize(gguf.quants.quantize(w, qtype), qtype).reshape(w.shape)
    ours = getattr(equalize, name.lower())(torch.from_numpy(w)).numpy()
    assert np.abs(ours - reference).max() < 0.02 * np.abs(w).max()  # gguf-py stores scales in fp16


@pytest.mark.parametrize("family", ["mistral", "qwen2", "qwen3", "phi3", "gemma"])
def test_every_family_keeps_its_function_when_equalized(tiny_family_checkpoint, family):
    # Phi-3's fused qkv/gate_up take one scale each and its up rows are gate_up's second half; Gemma's norm
    # scales by 1 + weight: a wrong pairing changes the function in float
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_family_checkpoint(family)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ids = AutoTokenizer.from_pretrained(path)(PROMPTS[1])["input_ids"]
    before = _logits(model, ids)
    inputs = capture_layer_inputs(model, AutoTokenizer.from_pretrained(path), calibration_texts()[:2])
    alphas = equalize.equalize(model, inputs, equalize.symmetric(4, 32))
    assert any(a > 0 for layer in alphas for a in layer)  # something was scaled
    assert torch.allclose(_logits(model, ids), before, atol=1e-4)
