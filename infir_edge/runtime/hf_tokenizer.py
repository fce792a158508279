"""Hugging Face tokenizers as the torch and onnxruntime backends use them (no torch needed)."""

from __future__ import annotations

import json


def token_bytes_table(tokenizer) -> list[bytes]:
    """The bytes each token id stands for, so streamed text can be assembled byte-exactly.

    Byte-level BPE (GPT-2, Llama-3, SmolLM2) maps bytes to printable characters; SentencePiece vocabularies
    write spaces as '▁' and unknown bytes as '<0xNN>'. Added tokens stand for their own text.
    """
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    decoder = json.dumps(json.loads(tokenizer.backend_tokenizer.to_str()).get("decoder"))
    byte_level = "ByteLevel" in decoder
    byte_of = {char: byte for byte, char in bytes_to_unicode().items()}
    added = {i: t.content for i, t in tokenizer.added_tokens_decoder.items()}
    table = []
    for token_id, token in enumerate(tokenizer.convert_ids_to_tokens(range(len(tokenizer)))):
        if token_id in added or token is None:
            table.append((added.get(token_id) or "").encode("utf-8"))
        elif byte_level:
            if all(c in byte_of for c in token):
                table.append(bytes(byte_of[c] for c in token))
            else:
                table.append(token.encode("utf-8"))
        elif len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            table.append(bytes([int(token[3:5], 16)]))
        else:
            table.append(token.replace("▁", " ").encode("utf-8"))
    return table
