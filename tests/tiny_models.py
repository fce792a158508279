"""Tiny random-init models for fast tests: a GGUF llama.cpp loads and a checkpoint transformers loads,
both with the real SmolLM2 vocabulary and chat template so tokenization and templates are the real ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import gguf
import numpy as np

from infir_edge.models.gguf_model import inspect_gguf
from infir_edge.models.sources import default_model_path

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "infir_edge_source.json",
)


def write_tiny_gguf(
    path: Path,
    *,
    n_embd: int = 64,
    n_layer: int = 2,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    seed: int = 0,
    tokens: list[str] | None = None,
    block_count: int | None = None,
    context_length: int = 512,
) -> Path:
    """A 2-layer llama GGUF (f16 embedding, f32 rest) with the default model's tokenizer metadata."""
    meta = inspect_gguf(default_model_path()).header.metadata
    tokens = tokens if tokens is not None else meta["tokenizer.ggml.tokens"]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(block_count if block_count is not None else n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(meta["tokenizer.ggml.token_type"])
    writer.add_token_merges(meta["tokenizer.ggml.merges"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(meta["tokenizer.chat_template"])

    rng = np.random.default_rng(seed)

    def weight(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)

    kv_dim = n_embd // n_head * n_head_kv
    writer.add_tensor("token_embd.weight", weight(len(tokens), n_embd).astype(np.float16))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    for i in range(n_layer):
        block = {
            "attn_norm.weight": np.ones(n_embd, dtype=np.float32),
            "attn_q.weight": weight(n_embd, n_embd),
            "attn_k.weight": weight(kv_dim, n_embd),
            "attn_v.weight": weight(kv_dim, n_embd),
            "attn_output.weight": weight(n_embd, n_embd),
            "ffn_norm.weight": np.ones(n_embd, dtype=np.float32),
            "ffn_gate.weight": weight(n_ff, n_embd),
            "ffn_up.weight": weight(n_ff, n_embd),
            "ffn_down.weight": weight(n_embd, n_ff),
        }
        for name, tensor in block.items():
            writer.add_tensor(f"blk.{i}.{name}", tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_tiny_checkpoint(path: Path, tokenizer_dir: Path, *, seed: int = 0) -> Path:
    """A 2-layer random-init LlamaForCausalLM with the tokenizer files of `tokenizer_dir`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, path / name)
    return path


# RoPE scalings exaggerated for tiny checkpoints: a trained context of 64 tokens, so that the verification prompts
# reach the frequencies each scaling changes
LLAMA3_SCALING = {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 64}
LINEAR_SCALING = {"rope_type": "linear", "factor": 4.0}


def manifest_of(bundle: Path) -> dict:
    import json

    return json.loads((bundle / "manifest.json").read_text())


def write_tiny_family_checkpoint(path: Path, tokenizer_dir: Path, family: str, **options) -> Path:
    """A 2-layer random-init checkpoint of `family` (benchmarks.families: random norms and biases, q/k sharpened
    by `sharpen`, optional `rope_scaling`) with the tokenizer files of `tokenizer_dir`."""
    from benchmarks.families import write_family_checkpoint

    return write_family_checkpoint(path, tokenizer_dir, family, **options)


def write_tiny_vl_checkpoint(path: Path, text_checkpoint: Path, *, seed: int = 0) -> Path:
    """A tiny random-init InfiR-VL: a 2-layer SigLIP tower (16 patches of 16 px) over a tiny LM checkpoint."""
    from infir_edge.models.vl import VisionShape, write_vl_checkpoint

    shape = VisionShape(image_size=64, patch_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=2)
    return write_vl_checkpoint(path, shape, text=text_checkpoint, seed=seed)


def write_gguf_bundle(
    path: Path, model_file: Path, source_sha: str, *, passed: bool = True, quant: str = "q8_0"
) -> Path:
    """A bundle directory holding a copy of `model_file`, its manifest naming `source_sha` as the source."""
    from infir_edge.models.bundle import Manifest, describe_files

    path.mkdir(parents=True)
    shutil.copy(model_file, path / "model.gguf")
    manifest = Manifest(format="gguf", quantization=quant, model_file="model.gguf", context_length=256,
                        source={"path": str(model_file), "format": "gguf", "sha256": source_sha},
                        files=describe_files(path), export_settings={"format": "gguf", "quant": quant},
                        verification={"passed": passed})
    (path / "manifest.json").write_text(manifest.to_json())
    return path


# the chain model's tokens: greedy, any prompt that ends in a newline (a chat prompt's generation prompt too) continues
# "<<48/2=>> clips", a calculator call
CHAIN = ["Ċ", "<<", "4", "8", "/", "2", "=", ">>", "Ġclips"]
CHAIN_PROMPT = "Compute\n"


def write_chain_checkpoint(path: Path, tokenizer_dir: Path, chain: list[str]) -> Path:
    """A 1-layer Llama that, greedy, continues each token of `chain` (texts of single tokens, no token twice)
    with the next one and the last with EOS, whatever came before: attention and MLP write nothing, each token's
    embedding is a one-hot direction, and the output head maps that direction to the next token."""
    import torch
    from tokenizers import Tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    ids = [tokenizer.token_to_id(token) for token in chain]
    assert None not in ids and len(set(ids)) == len(ids), f"not distinct single tokens: {chain}"
    config = LlamaConfig(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.embed_tokens.weight.normal_(0, 0.02)
        model.lm_head.weight.zero_()
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        for k, (token, following) in enumerate(zip(ids, [*ids[1:], config.eos_token_id], strict=True)):
            model.model.embed_tokens.weight[token] = torch.nn.functional.one_hot(torch.tensor(k), 64).float()
            model.lm_head.weight[following, k] = 5.0  # the normed one-hot is 8 in its direction: a logit of 40
    model.save_pretrained(path)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, path / name)
    return path
