"""The model an export starts from: a checkpoint directory, a GGUF, or the embedded default.

Whatever the source, export works from a dense Hugging Face model and its tokenizer; a GGUF source is
dequantized by transformers (its tokenizer aligned with the GGUF's metadata). The source's sha256 goes
into the bundle's manifest so a bundle can always be traced back to what it was made from.

An InfiR-VL (LLaVA) checkpoint exports in two parts: its language model, which every text exporter takes as it
takes any Llama (`ExportSource.model`, split off by `split_vl_model`), and its vision tower + projector
(`ExportSource.vl_model`, the whole LLaVA model), which each format's vision writer takes.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

from infir_edge.errors import BackendUnavailableError, ModelFormatError
from infir_edge.models.bundle import sha256_of
from infir_edge.models.convert import PROVENANCE_FILE
from infir_edge.models.families import family_of
from infir_edge.models.sources import resolve_model

_GENERATION_MARKERS = re.compile(r"\{%-?\s*(?:end)?generation\s*-?%\}")


def strip_generation_markers(template: str | None) -> str | None:
    """TRL's `{% generation %}` tags (for assistant-only loss) are not Jinja that llama.cpp, ExecuTorch or
    other runtimes know: no exported bundle carries them."""
    return _GENERATION_MARKERS.sub("", template) if template else template


@dataclass
class ExportSource:
    path: Path
    format: str  # gguf | checkpoint
    sha256: str
    model: object  # transformers PreTrainedModel, fp32, eval mode
    tokenizer: object
    tokenizer_pre: str  # llama.cpp's pre-tokenizer name for this vocabulary
    # an InfiR-VL source: the whole LlavaForConditionalGeneration (model is then its LM, sharing the weights)
    vl_model: object | None = None

    @property
    def is_vl(self) -> bool:
        return self.vl_model is not None

    @property
    def family(self):
        return family_of(self.model.config)


def split_vl_model(vl_model):
    """The language model of a `LlavaForConditionalGeneration` as a causal LM that shares its weights
    (the embedding keeps the `<image>` row): what a text exporter writes for an InfiR-VL source.
    (The LM can be of any family export takes.)"""
    import torch
    from transformers import AutoModelForCausalLM

    text_config = copy.deepcopy(vl_model.config.get_text_config())
    family_of(text_config)
    text_config.vocab_size = int(vl_model.lm_head.weight.shape[0])  # with `<image>`, whatever the config says
    with torch.device("meta"):  # a shell: its modules are replaced by the VL model's own
        lm = AutoModelForCausalLM.from_config(text_config, dtype=vl_model.dtype)
    lm.model = vl_model.model.language_model  # the same modules: no copy of the weights
    lm.lm_head = vl_model.lm_head
    lm.generation_config = vl_model.generation_config
    return lm.eval()


def guess_tokenizer_pre(tokenizer, checkpoint: Path | None) -> str:
    """llama.cpp picks its pre-tokenizer regex by name; a wrong one tokenizes digits and spaces differently
    (which export verification then catches). Our own checkpoints record it; otherwise known vocabularies, told
    apart by their special tokens (the names are llama.cpp's, as its converter picks them for these models)."""
    if checkpoint is not None and (checkpoint / PROVENANCE_FILE).is_file():
        pre = json.loads((checkpoint / PROVENANCE_FILE).read_text()).get("tokenizer_pre")
        if pre:
            return pre
    vocab = tokenizer.get_vocab()
    if "<|begin_of_text|>" in vocab:  # Llama 3.x
        return "llama-bpe"
    if "<|im_start|>" in vocab and "<jupyter_code>" in vocab:  # SmolLM / SmolLM2
        return "smollm"
    if "<|im_start|>" in vocab and "<|endoftext|>" in vocab and len(vocab) >= 151643:  # Qwen 1.5, 2, 2.5, 3
        return "qwen2"
    return "default"


def _load_vl_source(path: Path) -> ExportSource:
    from infir_edge.models.vl import load_vl_checkpoint

    vl_model, tokenizer = load_vl_checkpoint(path, dtype="float32")
    vl_model.eval()
    tokenizer.chat_template = strip_generation_markers(tokenizer.chat_template)
    lm = split_vl_model(vl_model)
    return ExportSource(path, "checkpoint", sha256_of(path), lm, tokenizer, guess_tokenizer_pre(tokenizer, path),
                        vl_model=vl_model)


def source_config(source: str | Path):
    """The transformers config of an export source, read without its weights (export's refusals come first)."""
    from infir_edge.models.vl import is_vl_checkpoint

    resolved = resolve_model(source)
    if resolved.format not in ("gguf", "checkpoint"):
        raise ModelFormatError(f"{resolved.path}: export starts from a checkpoint or a GGUF, not {resolved.format}")
    try:
        from transformers import AutoConfig
    except ImportError as e:
        raise BackendUnavailableError("torch", "torch", str(e)) from None
    where = {"pretrained_model_name_or_path": str(resolved.path)}
    if resolved.format == "gguf":
        where = {"pretrained_model_name_or_path": str(resolved.path.parent), "gguf_file": resolved.path.name}
    try:
        config = AutoConfig.from_pretrained(**where)
    except Exception as e:  # JSON, GGUF and unknown-architecture errors have no common base
        raise ModelFormatError(f"{resolved.path}: transformers could not read the model's config: {e}") from None
    if resolved.format == "checkpoint" and is_vl_checkpoint(resolved.path):
        return config.get_text_config()
    return config


def load_export_source(source: str | Path) -> ExportSource:
    """The source as a dense fp32 model and its tokenizer; an InfiR-VL checkpoint with `vl_model` set."""
    from infir_edge.models.vl import is_vl_checkpoint

    resolved = resolve_model(source)
    if resolved.format == "checkpoint" and is_vl_checkpoint(resolved.path):
        return _load_vl_source(resolved.path)
    if resolved.format not in ("gguf", "checkpoint"):
        raise ModelFormatError(f"{resolved.path}: export starts from a checkpoint or a GGUF, not {resolved.format}")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise BackendUnavailableError("torch", "torch", str(e)) from None
    if resolved.format == "gguf":
        from infir_edge.models.convert import align_tokenizer_with_gguf
        from infir_edge.models.gguf_model import inspect_gguf

        gguf = inspect_gguf(resolved.path)
        where = {"pretrained_model_name_or_path": str(resolved.path.parent), "gguf_file": resolved.path.name}
    else:
        where = {"pretrained_model_name_or_path": str(resolved.path)}
    try:
        tokenizer = AutoTokenizer.from_pretrained(**where)
        model = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32).eval()
    except Exception as e:  # safetensors, tokenizers and config errors have no common base
        raise ModelFormatError(f"{resolved.path}: transformers could not load the model: {e}") from None
    if resolved.format == "gguf":
        align_tokenizer_with_gguf(tokenizer, gguf)
        pre = gguf.header.metadata.get("tokenizer.ggml.pre") or guess_tokenizer_pre(tokenizer, None)
    else:
        pre = guess_tokenizer_pre(tokenizer, resolved.path)
    tokenizer.chat_template = strip_generation_markers(tokenizer.chat_template)
    return ExportSource(resolved.path, resolved.format, sha256_of(resolved.path), model, tokenizer, pre)
