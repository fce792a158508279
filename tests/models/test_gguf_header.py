"""The header reader refuses every malformed GGUF with ModelFormatError, fast."""

from __future__ import annotations

import struct

import pytest

from infir_edge.errors import ModelFormatError
from infir_edge.models.gguf_header import read_gguf_header


def _copy_with(src, dst, edit):
    data = bytearray(src.read_bytes())
    edit(data)
    dst.write_bytes(bytes(data))
    return dst


def test_reads_the_default_model(default_gguf):
    header = read_gguf_header(default_gguf)
    assert header.architecture == "llama"
    assert len(header.tensors) == 272
    assert len(header.metadata["tokenizer.ggml.tokens"]) == 49152


def test_tensor_extents_end_inside_the_file(default_gguf):
    header = read_gguf_header(default_gguf)
    assert max(t.offset + t.nbytes for t in header.tensors) <= header.file_size


def test_empty_file(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"")
    with pytest.raises(ModelFormatError, match="only 0 bytes"):
        read_gguf_header(tmp_path / "m.gguf")


def test_random_bytes(tmp_path):
    (tmp_path / "m.gguf").write_bytes(bytes(range(256)) * 64)
    with pytest.raises(ModelFormatError, match="magic"):
        read_gguf_header(tmp_path / "m.gguf")


def test_unknown_version(tiny_gguf, tmp_path):
    bad = _copy_with(tiny_gguf, tmp_path / "m.gguf", lambda d: d.__setitem__(slice(4, 8), struct.pack("<I", 99)))
    with pytest.raises(ModelFormatError, match="unsupported GGUF version 99"):
        read_gguf_header(bad)


@pytest.mark.parametrize("offset,what", [(8, "tensors"), (16, "metadata pairs")])
def test_absurd_counts(tiny_gguf, tmp_path, offset, what):
    bad = _copy_with(tiny_gguf, tmp_path / "m.gguf", lambda d: d.__setitem__(slice(offset, offset + 8), b"\xff" * 8))
    with pytest.raises(ModelFormatError, match=f"{what} count .* cannot fit"):
        read_gguf_header(bad)


def test_absurd_string_length(tiny_gguf, tmp_path):
    # the first metadata key's length sits right after the 24-byte fixed header
    bad = _copy_with(tiny_gguf, tmp_path / "m.gguf", lambda d: d.__setitem__(slice(24, 32), struct.pack("<Q", 2**60)))
    with pytest.raises(ModelFormatError, match="claims"):
        read_gguf_header(bad)


def test_wrong_value_type_tag(tiny_gguf, tmp_path):
    header = read_gguf_header(tiny_gguf)
    key = next(iter(header.metadata)).encode()
    type_at = 24 + 8 + len(key)
    tag = struct.pack("<I", 77)
    bad = _copy_with(tiny_gguf, tmp_path / "m.gguf", lambda d: d.__setitem__(slice(type_at, type_at + 4), tag))
    with pytest.raises(ModelFormatError, match="unknown value type 77"):
        read_gguf_header(bad)


@pytest.mark.parametrize("where", ["header", "metadata", "tensor infos", "tensor data"])
def test_truncated_anywhere(tiny_gguf, tmp_path, where):
    header = read_gguf_header(tiny_gguf)
    cut = {
        "header": 20,
        "metadata": header.data_offset // 3,
        "tensor infos": header.data_offset - 40,
        "tensor data": header.file_size - 1000,
    }[where]
    bad = tmp_path / "m.gguf"
    bad.write_bytes(tiny_gguf.read_bytes()[:cut])
    with pytest.raises(ModelFormatError):
        read_gguf_header(bad)
