"""GGUF -> Hugging Face checkpoint: the embedded default (or any Llama GGUF) as a model training can start from.

transformers dequantizes the GGUF to dense weights; the checkpoint then holds exactly the GGUF's numbers,
with the tokenizer and chat template that came with it, written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from infir_edge.errors import BackendUnavailableError, InvalidRequestError, ModelFormatError
from infir_edge.files import atomic_directory, check_output
from infir_edge.models.gguf_model import inspect_gguf
from infir_edge.models.sources import resolve_model

# Saving a tokenizer loaded from a GGUF writes the whole GGUF again as tokenizer.model (98 MB for the
# default): tokenizer.json carries everything a fast tokenizer needs.
REDUNDANT_FILES = ("tokenizer.model",)
PROVENANCE_FILE = "infir_edge_source.json"


def gguf_to_checkpoint(source: str | Path, out: str | Path, *, overwrite: bool = False, dtype: str = "float32") -> Path:
    """Write the GGUF model `source` (`"default"` or a path) as a checkpoint directory `out`."""
    check_output(out, overwrite=overwrite)
    model_source = resolve_model(source)
    if model_source.format != "gguf":
        raise ModelFormatError(
            f"{model_source.path}: convert --to checkpoint needs a GGUF model, got {model_source.format}"
        )
    gguf = inspect_gguf(model_source.path)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise BackendUnavailableError("torch", "torch", str(e)) from None

    where = {"pretrained_model_name_or_path": str(gguf.path.parent), "gguf_file": gguf.path.name}
    try:
        tokenizer = AutoTokenizer.from_pretrained(**where)
        model = AutoModelForCausalLM.from_pretrained(**where, dtype=getattr(torch, dtype))
    except Exception as e:  # safetensors, tokenizers and config errors have no common base
        raise ModelFormatError(f"{gguf.path}: transformers could not read this GGUF: {e}") from None
    align_tokenizer_with_gguf(tokenizer, gguf)
    model.generation_config.eos_token_id = sorted(end_of_generation_ids(gguf))

    try:
        with atomic_directory(out, overwrite=overwrite) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            for name in REDUNDANT_FILES:
                (tmp / name).unlink(missing_ok=True)
            provenance = {
                "source": str(gguf.path),
                "format": "gguf",
                "quantization": gguf.quantization,
                "tokenizer_pre": gguf.header.metadata.get("tokenizer.ggml.pre"),  # for GGUF export later
            }
            (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
    except OSError as e:  # a full disk, a permission that changed meanwhile
        raise InvalidRequestError(f"cannot write {out}: {e.strerror or e}") from None
    return Path(out)


def align_tokenizer_with_gguf(tokenizer, gguf) -> None:
    """Give a tokenizer that transformers built from a GGUF the special tokens the GGUF declares.

    transformers 4.57 sets both BOS and EOS of SmolLM2 to <|im_start|> and adds a BOS the GGUF says not to
    add; llama.cpp follows the metadata, so the metadata wins.
    """
    meta = gguf.header.metadata
    tokens = meta["tokenizer.ggml.tokens"]
    special = (("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("pad_token", "padding"))
    for attribute, key in special:
        token_id = meta.get(f"tokenizer.ggml.{key}_token_id")
        if isinstance(token_id, int):
            setattr(tokenizer, attribute, tokens[token_id])
    if hasattr(tokenizer, "add_bos_token"):
        tokenizer.add_bos_token = gguf.add_bos_token
    if gguf.chat_template:
        tokenizer.chat_template = gguf.chat_template


def end_of_generation_ids(gguf) -> set[int]:
    """EOS plus the end-of-turn tokens llama.cpp also stops on (ChatML's <|im_end|>, Llama-3's <|eot_id|>)."""
    tokens = gguf.header.metadata["tokenizer.ggml.tokens"]
    ids = {gguf.eos_token_id} if gguf.eos_token_id is not None else set()
    eot = gguf.header.metadata.get("tokenizer.ggml.eot_token_id")
    if isinstance(eot, int):
        ids.add(eot)
    # the names llama.cpp's vocabulary loader treats as end of generation (llama-vocab.cpp)
    end_markers = {"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<|end_of_text|>", "<|endoftext|>",
                   "<end_of_turn>", "<EOT>", "<eos>", "<end_of_utterance>", "<reponame>", "<|repo_name|>",
                   "<|fim_repo|>", "<|fim_pad|>"}
    ids |= {i for i, t in enumerate(tokens) if t in end_markers}
    return ids
