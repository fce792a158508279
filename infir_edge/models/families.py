"""The model families export takes, and the few facts about each that no toolchain's own table gives.

What differs per family in a GGUF (tensor names, keys, RoPE layout) comes from gguf-py's tables (`gguf_arch` picks
one), in a `.pte` from ExecuTorch's Llama definition and its `params.json` switches (`executorch_class` names its
model class), in ONNX from onnxruntime-genai's model builder (it reads the checkpoint's own `architectures`). What
is kept here is what those tables cannot say: which Hugging Face `model_type`s belong to a family, which format has
no converter for it, and where activation-aware scales can be folded (AWQ: which norm feeds which Linears, whether
the norm multiplies by `1 + weight`, where down_proj's input comes from).
"""

from __future__ import annotations

from dataclasses import dataclass

from infir_edge.errors import ModelFormatError

FORMATS = ("gguf", "onnx", "executorch")
# RoPE variants every format reproduces: none, Llama 3's frequency-dependent scaling, linear position interpolation
ROPE_TYPES = ("default", "llama3", "linear")


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]  # Hugging Face config.model_type values
    gguf_arch: str  # gguf.MODEL_ARCH member: llama.cpp's architecture, and gguf-py's tensor-name map
    executorch_class: str | None  # export_llm's base.model_class; None: ExecuTorch 1.4.1 has no model for it
    # AWQ: the decoder layer's Linears that read each RMSNorm's output, and the Linear (with the first of its
    # output rows that does) whose output multiplies into down_proj's input, act(gate) * up
    attention_inputs: tuple[str, ...] = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")
    mlp_inputs: tuple[str, ...] = ("mlp.gate_proj", "mlp.up_proj")
    up_rows: tuple[str, str] = ("mlp.up_proj", "all")  # ("mlp.gate_up_proj", "second_half") when fused
    norm_offset: float = 0.0  # Gemma's RMSNorm scales by (1 + weight)

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(f for f in FORMATS if f != "executorch" or self.executorch_class)


FAMILIES = (
    Family("llama", ("llama",), "LLAMA", "llama3"),
    # llama.cpp runs Mistral as its llama architecture (its own converter writes it so)
    Family("mistral", ("mistral",), "LLAMA", "llama3"),
    Family("qwen2", ("qwen2",), "QWEN2", "qwen2_5_0_5b"),
    Family("qwen3", ("qwen3",), "QWEN3", "qwen3_0_6b"),
    Family("phi3", ("phi3",), "PHI3", "phi_4_mini", attention_inputs=("self_attn.qkv_proj",),
           mlp_inputs=("mlp.gate_up_proj",), up_rows=("mlp.gate_up_proj", "second_half")),
    Family("gemma", ("gemma",), "GEMMA", None, norm_offset=1.0),
)


def family_names() -> list[str]:
    return [f.name for f in FAMILIES]


def family_of(config) -> Family:
    """The family of a transformers config; ModelFormatError naming the supported ones otherwise."""
    model_type = getattr(config, "model_type", None)
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    raise ModelFormatError(f"export does not support the model type {model_type!r} "
                           f"(supported families: {', '.join(family_names())})")


def rope_type(config) -> str:
    scaling = getattr(config, "rope_scaling", None) or {}
    return scaling.get("rope_type") or scaling.get("type") or "default"


def check_exportable(config, fmt: str) -> Family:
    """Refuse, before any work, a model that `fmt`'s toolchain cannot reproduce; return its family."""
    family = family_of(config)
    if fmt not in family.formats:
        raise ModelFormatError(f"the {family.name} family cannot be exported to {fmt}: ExecuTorch 1.4.1's export_llm "
                               f"has no model class for it (formats for {family.name}: {', '.join(family.formats)})")
    rope = rope_type(config)
    if rope not in ROPE_TYPES:
        raise ModelFormatError(f"{family.name} with RoPE scaling {rope!r} cannot be exported yet "
                               f"(supported: {', '.join(ROPE_TYPES)})")
    if getattr(config, "partial_rotary_factor", 1.0) not in (None, 1.0):
        raise ModelFormatError(f"{family.name} with a partial rotary factor "
                               f"({config.partial_rotary_factor}) cannot be exported yet")
    return family


def trained_context(config) -> int:
    """The longest context the model attends over as trained: a sliding window shorter than the position
    table (Mistral 7B v0.1) bounds what a runtime without sliding-window attention may hold."""
    n_ctx = int(config.max_position_embeddings)
    window = getattr(config, "sliding_window", None)
    if window and getattr(config, "use_sliding_window", True):
        n_ctx = min(n_ctx, int(window))
    return n_ctx
