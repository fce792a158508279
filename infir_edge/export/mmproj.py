"""InfiR-VL's vision tower and projector -> the `mmproj` GGUF that llama.cpp's multimodal library (libmtmd) loads.

llama.cpp's own converter does not take a LLaVA model with a SigLIP tower, so this writes the file with gguf-py in
the layout `clip.cpp` reads for its `mlp` (LLaVA-1.5) projector. The mapping, and why:

- `v.patch_embd.weight/bias`: the conv weight as it is (`[D, 3, P, P]`; ggml sees `[P, P, 3, D]`, what
  `ggml_conv_2d` wants); `v.position_embd.weight`: SigLIP's learned `[n_patches, D]` table.
- no `v.class_embd` (SigLIP has no CLS token, so `clip.cpp` takes every patch), no `v.pre_ln` (SigLIP has none) and
  no `v.post_ln`: Hugging Face's `hidden_states[k]` never includes SigLIP's post-layernorm.
- `v.blk.{i}.attn_q/k/v/out`, `ln1`, `ln2`, `ffn_up` (fc1), `ffn_down` (fc2), with biases.
- `clip.use_gelu`: the tower's `gelu_pytorch_tanh` is ggml's `ggml_gelu` (the tanh approximation); the projector's
  activation is hard-wired to the same function in `clip.cpp`, so both must be the tanh GELU.
- the feature layer: without a `clip.vision.feature_layer` key `clip.cpp` runs `block_count - 1` blocks and takes
  that output, which is LLaVA's `vision_feature_layer=-2`; any other layer is written as the key (in `clip.cpp`'s
  convention, feature layer k is the input of block k, i.e. `hidden_states[k]`). Every block is written anyway
  (`clip.cpp` loads `block_count` of them).
- `mm.0` (linear_1), `mm.2` (linear_2): LLaVA's projector with GELU between; `clip.vision.projection_dim` is the
  LM's hidden size, which libmtmd checks against the text model.
- `clip.vision.image_mean/std`: SigLIP's 0.5/0.5. Image size and patch size decide the fixed-size preprocessing:
  a square image of exactly `image_size` px is used as it is, which is what the SDK passes (already resized).

The tower is not quantized (`f16` by default, `f32` for exact comparisons): 2-D weights and the conv kernel take the
dtype, biases, norms and the position table stay f32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infir_edge.errors import InvalidRequestError, ModelFormatError

MMPROJ_FILE = "mmproj.gguf"
WRITES_LANGUAGE_MODEL = False  # the LM is export/gguf.py's plain Llama GGUF
MMPROJ_DTYPES = ("f16", "f32")
PROJECTOR_TYPE = "mlp"
FEATURE_LAYER_KEY = "clip.vision.feature_layer"  # clip-impl.h's KEY_FEATURE_LAYERS (gguf-py has no constant)
TANH_GELUS = ("gelu_pytorch_tanh", "gelu_new", "gelu_fast")  # what ggml_gelu computes

_BLOCK_TENSORS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.out_proj": "attn_out",
    "layer_norm1": "ln1",
    "layer_norm2": "ln2",
    "mlp.fc1": "ffn_up",
    "mlp.fc2": "ffn_down",
}


def feature_layer(config) -> int:
    """LLaVA's `vision_feature_layer` as a non-negative `hidden_states` index (0: the embeddings)."""
    layer = config.vision_feature_layer
    n_layer = config.vision_config.num_hidden_layers
    if not isinstance(layer, int):
        raise ModelFormatError(f"llama.cpp takes one vision feature layer, the model uses {layer!r}")
    index = layer if layer >= 0 else n_layer + 1 + layer
    if not 1 <= index <= n_layer:
        raise ModelFormatError(f"vision_feature_layer {layer} is outside the tower's {n_layer} layers")
    return index


def check_supported(config) -> None:
    """Refuse what `clip.cpp`'s LLaVA graph would compute differently from the torch model."""
    vision = config.vision_config
    if vision.model_type not in ("siglip_vision_model", "siglip"):
        raise ModelFormatError(f"the mmproj writer takes a SigLIP tower, not {vision.model_type!r}")
    if config.vision_feature_select_strategy != "full":
        raise ModelFormatError("the mmproj writer needs vision_feature_select_strategy 'full' (SigLIP has no CLS)")
    for what, act in (("tower", vision.hidden_act), ("projector", config.projector_hidden_act)):
        if act not in TANH_GELUS:
            raise ModelFormatError(f"llama.cpp's LLaVA graph computes the tanh GELU; the {what} uses {act!r}")
    if vision.intermediate_size == vision.hidden_size:
        # clip.cpp swaps ffn_up/ffn_down of "legacy" files whose ffn_down has n_embd columns: it could not tell
        raise ModelFormatError("llama.cpp cannot load a tower whose intermediate_size equals its hidden_size")
    if not getattr(config, "multimodal_projector_bias", True):
        raise ModelFormatError("the projector has no biases; llama.cpp's mlp projector needs them")
    feature_layer(config)


def mmproj_tensors(model) -> dict[str, np.ndarray]:
    """The tower's and projector's tensors under `clip.cpp`'s names, fp32, `[out, in]` for matrices."""
    config = model.config
    tower = model.model.vision_tower.vision_model
    projector = model.model.multi_modal_projector
    state = {name: t.detach().float().cpu().numpy() for name, t in tower.state_dict().items()}
    tensors = {
        "v.patch_embd.weight": state["embeddings.patch_embedding.weight"],  # [D, 3, P, P]
        "v.patch_embd.bias": state["embeddings.patch_embedding.bias"],
        "v.position_embd.weight": state["embeddings.position_embedding.weight"],  # [n_patches, D]
    }
    for i in range(config.vision_config.num_hidden_layers):
        for hf_name, name in _BLOCK_TENSORS.items():
            for kind in ("weight", "bias"):
                tensors[f"v.blk.{i}.{name}.{kind}"] = state[f"encoder.layers.{i}.{hf_name}.{kind}"]
    for index, linear in ((0, projector.linear_1), (2, projector.linear_2)):
        tensors[f"mm.{index}.weight"] = linear.weight.detach().float().cpu().numpy()
        tensors[f"mm.{index}.bias"] = linear.bias.detach().float().cpu().numpy()
    return tensors


def write_mmproj(model, path: Path, *, dtype: str = "f16") -> dict:
    """Write the vision tower and projector of a `LlavaForConditionalGeneration` to `path`; return a report."""
    import gguf

    if dtype not in MMPROJ_DTYPES:
        raise InvalidRequestError(f"the mmproj dtype must be one of {MMPROJ_DTYPES}, got {dtype!r}")
    config = model.config
    check_supported(config)
    vision = config.vision_config
    from infir_edge.models.vl import IMAGE_MEAN, IMAGE_STD

    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)
    writer.add_clip_has_vision_encoder(True)
    writer.add_clip_projector_type(PROJECTOR_TYPE)
    writer.add_vision_image_size(int(vision.image_size))
    writer.add_vision_patch_size(int(vision.patch_size))
    writer.add_vision_embedding_length(int(vision.hidden_size))
    writer.add_vision_feed_forward_length(int(vision.intermediate_size))
    writer.add_vision_block_count(int(vision.num_hidden_layers))
    writer.add_vision_head_count(int(vision.num_attention_heads))
    writer.add_vision_attention_layernorm_eps(float(vision.layer_norm_eps))
    writer.add_vision_projection_dim(int(config.text_config.hidden_size))
    writer.add_vision_image_mean([float(x) for x in IMAGE_MEAN])
    writer.add_vision_image_std([float(x) for x in IMAGE_STD])
    writer.add_vision_use_gelu(True)
    layer = feature_layer(config)
    if layer != vision.num_hidden_layers - 1:  # the default is LLaVA's second-to-last layer
        writer.add_array(FEATURE_LAYER_KEY, [layer])

    types: dict[str, int] = {}
    tensors = mmproj_tensors(model)
    for name, weight in tensors.items():
        low_precision = dtype == "f16" and weight.ndim >= 2 and name != "v.position_embd.weight"
        data = weight.astype(np.float16 if low_precision else np.float32)
        writer.add_tensor(name, data)
        kind = "F16" if low_precision else "F32"
        types[kind] = types.get(kind, 0) + 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"dtype": dtype, "tensor_types": types, "feature_layer": layer,
            "n_params": int(sum(t.size for t in tensors.values()))}


def write_vision(source, bundle: Path, quant: str, n_ctx: int, *, awq: bool = True) -> tuple[dict, dict]:
    """The GGUF bundle's vision part: `mmproj.gguf` (f32 beside an f32 LM, else f16: the tower is never quantized);
    return (the export report, the manifest's `vision` entry)."""
    from infir_edge.models.vl import IMAGE_TOKEN

    model = source.vl_model
    report = write_mmproj(model, bundle / MMPROJ_FILE, dtype="f32" if quant == "f32" else "f16")
    vision = model.config.vision_config
    entry = {"projector_file": MMPROJ_FILE, "image_size": int(vision.image_size),
             "image_tokens": (vision.image_size // vision.patch_size) ** 2, "image_token": IMAGE_TOKEN}
    return report, entry
