"""Hugging Face tokenizers as the torch, onnxruntime and ExecuTorch backends use them (no torch needed)."""

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


class HFTokenizerBackend:
    """The tokenizer half of the Engine backends whose vocabulary is a Hugging Face tokenizer (torch,
    onnxruntime, ExecuTorch): ids, the bytes of each id, the chat template and the special tokens.
    Mixed in before `Engine`; the backend calls `_adopt_tokenizer` once it has loaded its model."""

    def _adopt_tokenizer(self, tokenizer, generation_eos=None) -> None:
        self.tokenizer = tokenizer
        self._pieces = token_bytes_table(tokenizer)
        self.chat_template = tokenizer.chat_template
        self.bos_token = tokenizer.bos_token or ""
        self.eos_token = tokenizer.eos_token or ""
        ids = [generation_eos] if isinstance(generation_eos, int) else list(generation_eos or [])
        if tokenizer.eos_token_id is not None:
            ids.append(tokenizer.eos_token_id)
        self.eog_token_ids = frozenset(ids)  # the generation config's EOS list plus the tokenizer's

    def _special_token_ids(self) -> frozenset[int]:
        return frozenset(i for i, t in self.tokenizer.added_tokens_decoder.items() if t.special) | self.eog_token_ids

    def _tokenize(self, text: str, add_special: bool) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=add_special)["input_ids"])

    def _token_bytes(self, token_id: int) -> bytes:
        return self._pieces[token_id] if token_id < len(self._pieces) else b""  # ids past len(): padding rows
