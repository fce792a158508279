"""Activation-aware equalization before low-bit quantization (AWQ, Lin et al., MLSys 2024).

A few input channels of each Linear carry large activations; rounding their weights costs far more than
rounding the rest. Scaling those weight columns up by `s` and the activations down by `s` computes the same
function in float, and moves quantization error off the channels that matter. The division is folded into
the op before the Linear, so the exported graph is unchanged: the RMSNorm weight for q/k/v and gate/up, the
rows of up_proj for down_proj (its input is act(gate) * up). `s = mean|x|^alpha`, with alpha searched per
layer on calibration activations (calibration.py) against the target format's own weight grid and, where
the runtime quantizes activations too, its activation quantizer. alpha = 0 is the identity, so a weight
already on the grid stays untouched.

[measured] SmolLM2-135M, teacher-forced top-1 agreement with the fp32 model on held-out Wikipedia text:
GGUF Q4_0 0.696 -> 0.815; ExecuTorch-style 8da4w (group 32) 0.63 -> 0.73.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

ALPHAS = tuple(i / 20 for i in range(21))


def q4_0(w):
    """ggml Q4_0: blocks of 32 along the input, scale = the signed largest magnitude / -8, levels -8..7."""
    import torch

    rows, cols = w.shape
    if cols % 32:
        return w  # the exporter keeps such tensors in float
    x = w.reshape(rows, cols // 32, 32)  # [R, C/32, 32]
    signed_max = torch.gather(x, -1, x.abs().argmax(-1, keepdim=True))
    d = signed_max / -8
    d = torch.where(d == 0, torch.ones_like(d), d)
    return (torch.clamp(torch.floor(x / d + 0.5), -8, 7) * d).reshape(rows, cols)


def q4_1(w):
    """ggml Q4_1: blocks of 32, 16 levels from the block's minimum to its maximum."""
    import torch

    rows, cols = w.shape
    if cols % 32:
        return w
    x = w.reshape(rows, cols // 32, 32)
    low, high = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
    d = (high - low) / 15
    d = torch.where(d == 0, torch.ones_like(d), d)
    return (torch.clamp(torch.floor((x - low) / d + 0.5), 0, 15) * d + low).reshape(rows, cols)


def symmetric(bits: int, group: int) -> Callable:
    """torchao's / onnxruntime's symmetric integer grid: groups of `group` inputs (the whole row when 0)."""
    import torch

    levels = 2 ** (bits - 1)

    def quantize(w):
        rows, cols = w.shape
        size = group or cols
        if cols % size:
            return w  # left unquantized by the exporters
        x = w.reshape(rows, cols // size, size)
        scale = x.abs().amax(-1, keepdim=True) / (levels - 0.5)
        scale = torch.where(scale == 0, torch.ones_like(scale), scale)
        return (torch.clamp(torch.round(x / scale), -levels, levels - 1) * scale).reshape(rows, cols)

    return quantize


def asymmetric(bits: int, group: int) -> Callable:
    """onnxruntime's asymmetric MatMulNBits grid (MLAS): groups of `group` inputs, 2**bits levels spanning the
    group's range widened to hold 0, an integer zero point."""
    import torch

    top = 2**bits - 1

    def quantize(w):
        rows, cols = w.shape
        if cols % group:
            return w  # left unquantized by the exporters
        x = w.reshape(rows, cols // group, group)  # [R, C/group, group]
        low, high = x.amin(-1, keepdim=True).clamp(max=0), x.amax(-1, keepdim=True).clamp(min=0)
        scale = (high - low) / top
        scale = torch.where(scale == 0, torch.ones_like(scale), scale)
        zero = torch.clamp(torch.round(-low / scale), 0, top)
        return ((torch.clamp(torch.round(x / scale) + zero, 0, top) - zero) * scale).reshape(rows, cols)

    return quantize


def per_token_int8(x):
    """What XNNPACK's 8da kernels do to activations: asymmetric int8 per token."""
    import torch

    low, high = x.amin(-1, keepdim=True).clamp(max=0), x.amax(-1, keepdim=True).clamp(min=0)
    scale = ((high - low) / 255).clamp(min=1e-12)
    zero = torch.round(-low / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def per_tensor_uint8(x):
    """onnxruntime's DynamicQuantizeLinear: one asymmetric uint8 scale for the whole input."""
    import torch

    low, high = x.min().clamp(max=0), x.max().clamp(min=0)
    scale = ((high - low) / 255).clamp(min=1e-12)
    zero = torch.round(-low / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def _best_scales(x, weights: list, quantize_weight: Callable, quantize_activation: Callable | None):
    """The AWQ scale `[width]` minimizing the output error of `weights` on inputs `x` `[N, width]`."""
    magnitude = x.abs().mean(0)  # [width]
    references = [x @ w.T for w in weights]
    best, best_loss, best_alpha = None, float("inf"), 0.0
    for alpha in ALPHAS:
        s = magnitude.pow(alpha).clamp(min=1e-4)
        s = s / (s.max() * s.min()).sqrt()
        scaled_x = x / s if quantize_activation is None else quantize_activation(x / s)
        loss = sum(float((scaled_x @ quantize_weight(w * s).T - ref).pow(2).mean())
                   for w, ref in zip(weights, references, strict=True))
        if loss < best_loss:
            best, best_loss, best_alpha = s, loss, alpha
    return best, best_alpha


def equalize(model, layer_inputs: list, quantize_weight: Callable, quantize_activation: Callable | None = None) -> list:
    """Fold AWQ scales into `model` in place; return the chosen alphas per layer (attention, mlp, down).

    Which norm feeds which Linears is the family's (models/families.py): Phi-3's fused qkv and gate_up take one
    scale each, and its up rows are the second half of gate_up; Gemma's norm scales by 1 + weight."""
    import torch

    from infir_edge.models.families import family_of

    family = family_of(model.config)
    alphas = []
    with torch.no_grad():
        for layer, inputs in zip(model.model.layers, layer_inputs, strict=True):
            attention = [layer.get_submodule(path) for path in family.attention_inputs]
            s, a_attention = _best_scales(inputs.attention, [m.weight for m in attention], quantize_weight,
                                          quantize_activation)
            _divide_norm(layer.input_layernorm, s, family.norm_offset)
            for m in attention:
                m.weight.mul_(s)
            mlp = [layer.get_submodule(path) for path in family.mlp_inputs]
            s, a_mlp = _best_scales(inputs.mlp, [m.weight for m in mlp], quantize_weight, quantize_activation)
            _divide_norm(layer.post_attention_layernorm, s, family.norm_offset)
            for m in mlp:
                m.weight.mul_(s)
            down = layer.mlp.down_proj
            s, a_down = _best_scales(inputs.down, [down.weight], quantize_weight, quantize_activation)
            _up_rows(layer, family).div_(s[:, None])
            down.weight.mul_(s)
            alphas.append([a_attention, a_mlp, a_down])
    return alphas


def _divide_norm(norm, s, offset: float) -> None:
    """Make the norm's output `s` times smaller; a norm that scales by (offset + weight) keeps its offset."""
    norm.weight.copy_((norm.weight + offset) / s - offset)


def _up_rows(layer, family):
    """The weight rows whose outputs multiply into down_proj's input (`[F, D]`, a view)."""
    path, rows = family.up_rows
    weight = layer.get_submodule(path).weight
    return weight[weight.shape[0] // 2:] if rows == "second_half" else weight


def equalized_model(model, tokenizer, quantize_weight: Callable, quantize_activation: Callable | None = None):
    """A copy of `model` with AWQ scales folded in (the model itself stays the fp32 reference), and the report that
    goes into the manifest."""
    from infir_edge.export.calibration import STDLIB_MODULES, capture_layer_inputs

    model = copy.deepcopy(model)
    inputs = capture_layer_inputs(model, tokenizer)
    alphas = equalize(model, inputs, quantize_weight, quantize_activation)
    report = {"method": "awq", "calibration": f"python stdlib source, {len(STDLIB_MODULES)} modules",
              "alphas": alphas}
    return model, report


def equalized_source(source, quantize_weight: Callable, quantize_activation: Callable | None = None):
    """The export source with an equalized copy of its model (equalized_model), and the report."""
    model, report = equalized_model(source.model, source.tokenizer, quantize_weight, quantize_activation)
    return dataclasses.replace(source, model=model), report
