"""Damaged and fuzzed model files: `load` + one `generate` either work or raise an InfirEdgeError.

Never another exception type, never a hang, never a process abort: llama.cpp aborts the whole process on
some damaged files, so the SDK validates the header itself and probes a file in a child process before
loading it here. If this test process dies, that promise is broken.
"""

from __future__ import annotations

import random
import struct
import time

import pytest
from tiny_models import write_tiny_gguf

import infir_edge
from infir_edge.errors import InfirEdgeError, ModelFormatError
from infir_edge.models.gguf_header import read_gguf_header

FUZZ_CASES = 120


def _load_and_generate(path) -> None:
    with infir_edge.load(path, n_ctx=128) as engine:
        engine.generate("Hello", max_new_tokens=2)
        engine.generate([{"role": "user", "content": "Hi"}], max_new_tokens=2)  # the file's chat template


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 4096, bytes(random.Random(0).randbytes(100_000)), b"GGML" + b"\x00" * 100, b"hello world\n" * 100],
    ids=["empty", "zeros", "random", "wrong-magic", "text"],
)
def test_not_a_model(tmp_path, content):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError):
        infir_edge.load(path)


@pytest.mark.parametrize("name", ["model.onnx", "model.pte"])
def test_exported_file_that_is_really_text(tmp_path, name):
    (tmp_path / name).write_text("definitely not a model\n" * 20)
    with pytest.raises(ModelFormatError):
        infir_edge.load(tmp_path / name)


@pytest.mark.parametrize("fraction", [0.001, 0.1, 0.5, 0.95, 0.999])
def test_gguf_cut_anywhere(tiny_gguf, tmp_path, fraction):
    data = tiny_gguf.read_bytes()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFormatError):
        infir_edge.load(path)


def test_a_file_llama_cpp_refuses_is_reported_with_its_reason(tmp_path):
    path = write_tiny_gguf(tmp_path / "arch.gguf")
    data = bytearray(path.read_bytes())
    at = data.index(b"general.architecture") + len(b"general.architecture") + 4 + 8
    assert data[at : at + 5] == b"llama"
    data[at : at + 5] = b"llamo"  # an architecture llama.cpp does not know, with consistent llama.* keys
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="llama.cpp"):
        infir_edge.load(path)


def _mutations(header, data: bytes, rng: random.Random):
    """Damage confined to the header and metadata, in the ways a broken download or a bad writer does."""
    end = header.data_offset
    token_start = data.index(b"tokenizer.ggml.tokens")
    kinds = ["bitflip", "extreme", "type-tag", "truncate", "vocabulary", "bytes"]
    for i in range(FUZZ_CASES):
        kind = kinds[i % len(kinds)]
        out = bytearray(data)
        if kind == "bitflip":
            for _ in range(rng.randint(1, 8)):
                at = rng.randrange(4, end)
                out[at] ^= 1 << rng.randrange(8)
        elif kind == "extreme":  # a count or length field set to an absurd value
            at = rng.randrange(8, end - 8)
            out[at : at + 8] = struct.pack("<Q", rng.choice([2**63 - 1, 2**32 - 1, 2**40, 0]))
        elif kind == "type-tag":
            at = rng.randrange(24, end - 4)
            out[at : at + 4] = struct.pack("<I", rng.choice([13, 255, 2**31, 6, 8, 9]))
        elif kind == "truncate":
            out = out[: rng.randrange(4, end)]
        elif kind == "vocabulary":  # rewrite bytes inside the token strings
            for _ in range(rng.randint(1, 20)):
                at = rng.randrange(token_start, end)
                out[at] = rng.randrange(256)
        else:
            at = rng.randrange(4, end - 16)
            out[at : at + 16] = rng.randbytes(16)
        yield f"{i}-{kind}", bytes(out)


def test_fuzzed_headers_never_escape_the_sdk(tiny_gguf, tmp_path):
    data = tiny_gguf.read_bytes()
    header = read_gguf_header(tiny_gguf)
    outcomes: dict[str, int] = {"worked": 0, "refused": 0}
    start = time.perf_counter()
    for name, damaged in _mutations(header, data, random.Random(1234)):
        path = tmp_path / f"fuzz-{name}.gguf"
        path.write_bytes(damaged)
        try:
            _load_and_generate(path)
            outcomes["worked"] += 1
        except InfirEdgeError:
            outcomes["refused"] += 1
        path.unlink()
    elapsed = time.perf_counter() - start
    print(f"{FUZZ_CASES} fuzzed files: {outcomes}, {elapsed / FUZZ_CASES:.2f} s per file")
    assert outcomes["refused"] > 0
    assert elapsed / FUZZ_CASES < 10, "loading a damaged file should take seconds at most"


def test_probe_turns_a_llama_cpp_abort_into_an_error(tmp_path, default_gguf):
    """A NUL inside a token makes llama.cpp abort (GGML_ASSERT in its vocabulary loader); the header
    check refuses such files, and so does the child-process probe, which is what catches the aborts
    no check foresaw."""
    from infir_edge.models.gguf_model import inspect_gguf
    from infir_edge.runtime.llamacpp import ensure_loadable

    tokens = list(inspect_gguf(default_gguf).header.metadata["tokenizer.ggml.tokens"])
    tokens[5000] = tokens[5000][:1] + "\x00" + tokens[5000][1:]
    path = write_tiny_gguf(tmp_path / "nul.gguf", tokens=tokens)
    with pytest.raises(ModelFormatError, match="NUL"):
        infir_edge.load(path)
    with pytest.raises(ModelFormatError, match=r"crashed \(SIG"):
        ensure_loadable(path)
