"""The InfiR language-model family as transformers `LlamaConfig`s, buildable random-init without a download.

InfiR-1B continues pretraining Llama-3.2-1B, so it has that model's shape; `tiny` is the same architecture small
enough for unit tests. A preset is only a shape: weights come from a checkpoint, or random init for smoke runs.
"""

from __future__ import annotations

from infir_edge.errors import InvalidRequestError

PRESETS: dict[str, dict] = {
    # Llama-3.2-1B's config.json: 1.24 B parameters with its 128,256-token vocabulary
    "infir-1b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192},
        "tie_word_embeddings": True,
        "vocab_size": 128256,
    },
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "vocab_size": 49152,
    },
}


def preset_config(name: str, *, vocab_size: int | None = None, bos_token_id: int | None = None,
                  eos_token_id: int | list[int] | None = None):
    """The `LlamaConfig` of preset `name`; `vocab_size` and the special ids follow the tokenizer it is paired with."""
    if name not in PRESETS:
        raise InvalidRequestError(f"unknown model preset {name!r}: choose from {', '.join(PRESETS)}")
    from transformers import LlamaConfig

    fields = dict(PRESETS[name])
    if vocab_size is not None:
        fields["vocab_size"] = vocab_size
    return LlamaConfig(**fields, bos_token_id=bos_token_id, eos_token_id=eos_token_id)
