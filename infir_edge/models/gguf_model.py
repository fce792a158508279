"""What a GGUF language model declares, checked for the inconsistencies runtimes choke on.

`read_gguf_header` proves the file is well-formed; `inspect_gguf` proves it describes a coherent
decoder model: hyperparameters that agree with the tensor shapes, one block of tensors per layer, and a
vocabulary with no duplicated token and special-token ids inside it (llama.cpp aborts the process on a
duplicated token). What still slips through is caught by the llama.cpp backend's child-process probe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gguf import LlamaFileType

from infir_edge.errors import ModelFormatError
from infir_edge.models.gguf_header import GGUFHeader, read_gguf_header

_BLOCK_TENSOR = re.compile(r"blk\.([0-9]+)\.")
REQUIRED_ARCH_KEYS = ("context_length", "embedding_length", "block_count", "attention.head_count")
SPECIAL_TOKEN_KEYS = ("bos", "eos", "unknown", "padding", "eot", "eom", "sep", "cls", "mask")


@dataclass(frozen=True)
class GGUFModelInfo:
    path: Path
    architecture: str
    n_ctx_train: int
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    n_params: int
    quantization: str
    chat_template: str | None
    bos_token_id: int | None
    eos_token_id: int | None
    add_bos_token: bool
    header: GGUFHeader

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def _positive_int(header: GGUFHeader, key: str, fail) -> int:
    value = header.metadata.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail(f"'{key}' must be a positive integer, found {value!r}")
    return value


def _quantization_name(header: GGUFHeader) -> str:
    file_type = header.metadata.get("general.file_type")
    try:
        return LlamaFileType(file_type).name.removeprefix("MOSTLY_")
    except (ValueError, TypeError):
        types = {t.ggml_type.name for t in header.tensors if len(t.shape) > 1}
        return "+".join(sorted(types)) or "unknown"


def _check_vocabulary(header: GGUFHeader, n_vocab_tensor: int, fail) -> int:
    tokens = header.metadata.get("tokenizer.ggml.tokens")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise fail("'tokenizer.ggml.tokens' is missing or not a list of strings")
    if not isinstance(header.metadata.get("tokenizer.ggml.model"), str):
        raise fail("'tokenizer.ggml.model' is missing")
    n_vocab = len(tokens)
    if n_vocab != n_vocab_tensor:
        raise fail(f"the vocabulary has {n_vocab} tokens but token_embd.weight has {n_vocab_tensor} rows")
    if any("\x00" in t for t in tokens):
        # llama.cpp reads token text as C strings: a NUL cuts a token short and makes a duplicate
        raise fail("a token of the vocabulary contains a NUL byte")
    if len(set(tokens)) != n_vocab:
        seen: set[str] = set()
        duplicate = next(t for t in tokens if t in seen or seen.add(t))
        raise fail(f"the vocabulary repeats the token {duplicate!r}")
    for key in ("tokenizer.ggml.token_type", "tokenizer.ggml.scores"):
        values = header.metadata.get(key)
        if values is not None and (not isinstance(values, list) or len(values) != n_vocab):
            raise fail(f"'{key}' does not have one entry per token ({n_vocab})")
    merges = header.metadata.get("tokenizer.ggml.merges")
    if merges is not None and (
        not isinstance(merges, list) or not all(isinstance(m, str) and " " in m[1:] for m in merges)
    ):
        raise fail("'tokenizer.ggml.merges' holds an entry that is not a 'left right' pair")
    for name in SPECIAL_TOKEN_KEYS:
        key = f"tokenizer.ggml.{name}_token_id"
        if key in header.metadata:
            token_id = header.metadata[key]
            if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 <= token_id < n_vocab:
                raise fail(f"'{key}' = {token_id!r} is outside the vocabulary of {n_vocab} tokens")
    return n_vocab


def inspect_gguf(path: str | Path) -> GGUFModelInfo:
    """Read a GGUF language model's header and check that it is coherent; raise `ModelFormatError` if not."""
    header = read_gguf_header(path)

    def fail(what: str) -> ModelFormatError:
        return ModelFormatError(f"{header.path}: unusable GGUF model: {what}")

    arch = header.architecture
    if not arch:
        raise fail("'general.architecture' is missing")
    n_ctx_train, n_embd, n_layer, n_head = (
        _positive_int(header, f"{arch}.{key}", fail) for key in REQUIRED_ARCH_KEYS
    )
    n_head_kv = header.arch_value("attention.head_count_kv", n_head)
    if isinstance(n_head_kv, bool) or not isinstance(n_head_kv, int) or n_head_kv <= 0:
        raise fail(f"'{arch}.attention.head_count_kv' must be a positive integer, found {n_head_kv!r}")
    if n_embd % n_head or n_head % n_head_kv:
        raise fail(f"{n_head} heads / {n_head_kv} KV heads do not divide the width {n_embd}")

    tensors = {t.name: t for t in header.tensors}
    embedding = tensors.get("token_embd.weight")
    if embedding is None or len(embedding.shape) != 2 or embedding.shape[0] != n_embd:
        raise fail(f"'token_embd.weight' is missing or not [{n_embd}, n_vocab]")
    layers = {int(m.group(1)) for m in map(_BLOCK_TENSOR.match, tensors) if m}
    if layers != set(range(n_layer)):
        raise fail(f"'{arch}.block_count' is {n_layer} but the file has tensors for {len(layers)} blocks")
    n_vocab = _check_vocabulary(header, embedding.shape[1], fail)

    template = header.metadata.get("tokenizer.chat_template")
    bos = header.metadata.get("tokenizer.ggml.bos_token_id")
    eos = header.metadata.get("tokenizer.ggml.eos_token_id")
    n_params = 0
    for t in header.tensors:
        count = 1
        for dim in t.shape:
            count *= dim
        n_params += count
    return GGUFModelInfo(
        path=header.path,
        architecture=arch,
        n_ctx_train=n_ctx_train,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_vocab=n_vocab,
        n_params=n_params,
        quantization=_quantization_name(header),
        chat_template=template if isinstance(template, str) else None,
        bos_token_id=bos,
        eos_token_id=eos,
        add_bos_token=bool(header.metadata.get("tokenizer.ggml.add_bos_token", False)),
        header=header,
    )
