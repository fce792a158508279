"""InfiR-VL on transformers' LLaVA classes: a SigLIP vision tower, a 2-layer GELU projector, the InfiR LM.

Built from `LlavaForConditionalGeneration` (not a hand-written module) so a checkpoint loads in the standard
tools. Two shapes: `infir-vl-1.6b` (a SigLIP-so400m-shaped tower + InfiR-1B, both from user paths) and `tiny-vl`
(a small random-init tower + the embedded SmolLM2-135M, trainable on a CPU). The image token `<image>` is added to
the LM's tokenizer; the processor expands it to one token per patch, which the model replaces by the projected
patch features.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from infir_edge.errors import BackendUnavailableError, InvalidRequestError, ModelFormatError
from infir_edge.files import atomic_directory, check_output

IMAGE_TOKEN = "<image>"
VL_MODEL_TYPE = "llava"


@dataclass(frozen=True)
class VisionShape:
    image_size: int
    patch_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    layer_norm_eps: float = 1e-6

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2


VL_PRESETS: dict[str, VisionShape] = {
    # google/siglip-so400m-patch14-384's vision config: 729 patches of 14 px at 384 px, 428 M parameters
    "infir-vl-1.6b": VisionShape(384, 14, 1152, 4304, 27, 16),
    # 144 patches of 32 px: few enough image tokens that the 135M LM trains on screenshots on 2 cores; 5 layers of
    # which the LLaVA-default second-to-last feature layer uses 4
    "tiny-vl": VisionShape(384, 32, 256, 1024, 5, 4),
}
# LLaVA-1.5's choices: features from the second-to-last layer, every patch (SigLIP has no CLS token)
VISION_FEATURE_LAYER = -2
# clip.cpp's GELU is the tanh approximation: the same function here keeps llama.cpp's image embeddings identical
PROJECTOR_ACT = "gelu_pytorch_tanh"
IMAGE_MEAN = (0.5, 0.5, 0.5)  # SigLIP's normalization
IMAGE_STD = (0.5, 0.5, 0.5)


def _transformers():
    try:
        import torch
        import transformers
    except ImportError as e:
        raise BackendUnavailableError("torch", "torch", str(e)) from None
    return torch, transformers


def vl_config(vision: VisionShape, text_config, image_token_index: int):
    """The `LlavaConfig` of a SigLIP tower of shape `vision` over the LM `text_config`."""
    _, transformers = _transformers()
    siglip = transformers.SiglipVisionConfig(
        image_size=vision.image_size, patch_size=vision.patch_size, hidden_size=vision.hidden_size,
        intermediate_size=vision.intermediate_size, num_hidden_layers=vision.num_hidden_layers,
        num_attention_heads=vision.num_attention_heads, layer_norm_eps=vision.layer_norm_eps,
        hidden_act="gelu_pytorch_tanh",
    )
    return transformers.LlavaConfig(
        vision_config=siglip,  # an object: a dict would be read as a CLIP config
        text_config=text_config,
        image_token_index=image_token_index,
        projector_hidden_act=PROJECTOR_ACT,
        vision_feature_layer=VISION_FEATURE_LAYER,
        vision_feature_select_strategy="full",
        image_seq_length=vision.image_tokens,
        tie_word_embeddings=text_config.tie_word_embeddings,
    )


def _load_text_model(text: str | Path, dtype: str):
    """The LM and its tokenizer from a checkpoint directory, or from `"default"`/a GGUF via conversion."""
    torch, transformers = _transformers()
    path = Path(text) if text != "default" else None
    if path is not None and path.is_dir():
        where = str(path)
        tokenizer = transformers.AutoTokenizer.from_pretrained(where)
        model = transformers.AutoModelForCausalLM.from_pretrained(where, dtype=getattr(torch, dtype))
        return model, tokenizer
    from infir_edge.models.convert import gguf_to_checkpoint

    with tempfile.TemporaryDirectory(prefix="infir-vl-text-") as tmp:
        checkpoint = gguf_to_checkpoint(text, Path(tmp) / "lm", dtype=dtype)
        return _load_text_model(checkpoint, dtype)


def vision_shape(preset: str | VisionShape) -> VisionShape:
    if isinstance(preset, VisionShape):
        return preset
    if preset not in VL_PRESETS:
        raise InvalidRequestError(f"unknown VL preset {preset!r}: choose from {', '.join(VL_PRESETS)}")
    return VL_PRESETS[preset]


def build_vl_model(preset: str | VisionShape = "tiny-vl", *, text: str | Path = "default",
                   vision: str | Path | None = None, dtype: str = "float32", seed: int = 0):
    """A `LlavaForConditionalGeneration` and its tokenizer: the LM `text` (a checkpoint dir, a GGUF or `"default"`),
    the tower from the SigLIP checkpoint `vision` (a SiglipModel or SiglipVisionModel dir) or random-init in the
    preset's shape, the projector random-init (stage 1 trains it)."""
    torch, transformers = _transformers()
    shape = vision_shape(preset)
    if vision is not None:
        tower = _load_vision_tower(Path(vision), dtype)
        shape = VisionShape(tower.config.image_size, tower.config.patch_size, tower.config.hidden_size,
                            tower.config.intermediate_size, tower.config.num_hidden_layers,
                            tower.config.num_attention_heads, tower.config.layer_norm_eps)
    lm, tokenizer = _load_text_model(text, dtype)
    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]}, replace_additional_special_tokens=False)
    config = vl_config(shape, lm.config, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN))
    torch.manual_seed(seed)
    model = transformers.LlavaForConditionalGeneration(config).to(getattr(torch, dtype))
    model.model.language_model.load_state_dict(lm.model.state_dict())
    model.lm_head.load_state_dict(lm.lm_head.state_dict())
    if vision is not None:
        model.model.vision_tower.load_state_dict(tower.state_dict())
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    # the new <image> row: the mean embedding, not noise (it is replaced by image features anyway)
    with torch.no_grad():
        embeddings = model.get_input_embeddings().weight
        embeddings[-1] = embeddings[:-1].mean(0)
    model.generation_config.eos_token_id = lm.generation_config.eos_token_id
    model.config.text_config.vocab_size = len(tokenizer)
    return model, tokenizer


def _load_vision_tower(path: Path, dtype: str):
    torch, transformers = _transformers()
    try:
        config = transformers.AutoConfig.from_pretrained(str(path))
    except Exception as e:
        raise ModelFormatError(f"{path}: not a SigLIP checkpoint: {e}") from None
    if config.model_type not in ("siglip", "siglip_vision_model"):
        raise ModelFormatError(f"{path}: expected a SigLIP checkpoint, got model_type {config.model_type!r}")
    model_class = transformers.SiglipModel if config.model_type == "siglip" else transformers.SiglipVisionModel
    model = model_class.from_pretrained(str(path), dtype=getattr(torch, dtype))
    return model.vision_model if config.model_type == "siglip" else model


def image_processor(vision_config):
    """The transformers processor config written with a checkpoint (for the standard tools; the SDK's own
    preprocessing in `infir_edge.models.images` computes the same pixels)."""
    _, transformers = _transformers()
    size = vision_config.image_size
    return transformers.SiglipImageProcessor(size={"height": size, "width": size}, image_mean=list(IMAGE_MEAN),
                                             image_std=list(IMAGE_STD))


def save_vl_checkpoint(model, tokenizer, out: str | Path, *, overwrite: bool = False,
                       extra: dict | None = None) -> Path:
    """Write the model, tokenizer and a `LlavaProcessor` so `AutoProcessor`/`LlavaForConditionalGeneration` load it."""
    _, transformers = _transformers()
    config = model.config
    processor = transformers.LlavaProcessor(
        image_processor=image_processor(config.vision_config), tokenizer=tokenizer,
        patch_size=config.vision_config.patch_size, vision_feature_select_strategy="full",
        num_additional_image_tokens=0, image_token=IMAGE_TOKEN, chat_template=tokenizer.chat_template,
    )
    with atomic_directory(out, overwrite=overwrite) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        (tmp / "tokenizer.model").unlink(missing_ok=True)
        if extra:
            (tmp / "infir_edge_vl.json").write_text(json.dumps(extra, indent=2) + "\n")
    return Path(out)


def write_vl_checkpoint(out: str | Path, preset: str | VisionShape = "tiny-vl", *, text: str | Path = "default",
                        vision: str | Path | None = None, dtype: str = "float32", seed: int = 0,
                        overwrite: bool = False) -> Path:
    """Build InfiR-VL (`build_vl_model`) and save it as a checkpoint directory."""
    check_output(out, overwrite=overwrite)
    model, tokenizer = build_vl_model(preset, text=text, vision=vision, dtype=dtype, seed=seed)
    shape = vision_shape(preset)
    built_from = {"preset": preset if isinstance(preset, str) else None, "text": str(text),
                  "vision": str(vision) if vision else None, "seed": seed,
                  "vision_shape": asdict(shape) if vision is None else None}
    return save_vl_checkpoint(model, tokenizer, out, overwrite=overwrite, extra=built_from)


def is_vl_checkpoint(path: str | Path) -> bool:
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("model_type") == VL_MODEL_TYPE
    except ValueError:
        return False


def load_vl_checkpoint(path: str | Path, *, dtype: str = "float32"):
    """The model and tokenizer of a checkpoint `save_vl_checkpoint` wrote; `ModelFormatError` if it is not one."""
    torch, transformers = _transformers()
    path = Path(path)
    if not is_vl_checkpoint(path):
        raise ModelFormatError(f"{path}: not an InfiR-VL (LLaVA) checkpoint")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
        model = transformers.LlavaForConditionalGeneration.from_pretrained(str(path), dtype=getattr(torch, dtype))
    except Exception as e:  # safetensors, tokenizers and config errors have no common base
        raise ModelFormatError(f"{path}: transformers could not load the VL model: {e}") from None
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        raise ModelFormatError(f"{path}: the tokenizer has no {IMAGE_TOKEN} token")
    return model, tokenizer
