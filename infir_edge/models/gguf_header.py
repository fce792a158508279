"""A bounded, fast reader of a GGUF file's header: metadata and tensor table, checked against the file.

llama.cpp trusts the header it reads and can abort the whole process on a damaged one, and gguf-py's
`GGUFReader` takes seconds on a real vocabulary. This reader walks the header once with every count and
length checked against the bytes that are actually left, so a truncated or fuzzed file is refused with a
message naming the offset, in milliseconds, before any runtime sees it. Type tags and quantization block
sizes come from gguf-py's own constants.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from infir_edge.errors import ModelFormatError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_TENSOR_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME = 63  # GGML_MAX_NAME - 1

_SCALARS: dict[GGUFValueType, struct.Struct] = {
    GGUFValueType.UINT8: struct.Struct("<B"),
    GGUFValueType.INT8: struct.Struct("<b"),
    GGUFValueType.UINT16: struct.Struct("<H"),
    GGUFValueType.INT16: struct.Struct("<h"),
    GGUFValueType.UINT32: struct.Struct("<I"),
    GGUFValueType.INT32: struct.Struct("<i"),
    GGUFValueType.FLOAT32: struct.Struct("<f"),
    GGUFValueType.BOOL: struct.Struct("<?"),
    GGUFValueType.UINT64: struct.Struct("<Q"),
    GGUFValueType.INT64: struct.Struct("<q"),
    GGUFValueType.FLOAT64: struct.Struct("<d"),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class GGUFTensorInfo:
    name: str
    shape: tuple[int, ...]  # ggml order: shape[0] is the contiguous (row) dimension
    ggml_type: GGMLQuantizationType
    offset: int  # absolute offset in the file
    nbytes: int


@dataclass
class GGUFHeader:
    path: Path
    version: int
    file_size: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[GGUFTensorInfo] = field(default_factory=list)
    data_offset: int = 0

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None

    def arch_value(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.architecture}.{key}", default)


class _Cursor:
    """Reads little-endian values from a buffer, refusing every read that would pass the end."""

    def __init__(self, buf, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.end = len(buf)
        self.path = path

    def fail(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"{self.path}: not a valid GGUF file: {what} (at byte {self.pos})")

    def remaining(self) -> int:
        return self.end - self.pos

    def unpack(self, fmt: struct.Struct, what: str):
        if self.remaining() < fmt.size:
            raise self.fail(f"file ends inside {what}")
        (value,) = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return value

    def string(self, what: str) -> str:
        length = self.unpack(_U64, f"the length of {what}")
        if length > self.remaining():
            raise self.fail(f"{what} claims {length} bytes but only {self.remaining()} remain")
        raw = bytes(self.buf[self.pos : self.pos + length])
        self.pos += length
        # surrogateescape keeps distinct byte strings distinct (the vocabulary check relies on it)
        return raw.decode("utf-8", errors="surrogateescape")

    def count(self, what: str, min_item_bytes: int) -> int:
        n = self.unpack(_U64, f"the count of {what}")
        if n * min_item_bytes > self.remaining():
            raise self.fail(f"{what} count {n} cannot fit in the {self.remaining()} bytes left")
        return n


def _value_type(cur: _Cursor, what: str) -> GGUFValueType:
    tag = cur.unpack(_U32, f"the type of {what}")
    try:
        return GGUFValueType(tag)
    except ValueError:
        raise cur.fail(f"unknown value type {tag} for {what}") from None


def _read_value(cur: _Cursor, vtype: GGUFValueType, key: str, in_array: bool = False) -> Any:
    if vtype in _SCALARS:
        return cur.unpack(_SCALARS[vtype], f"the value of '{key}'")
    if vtype == GGUFValueType.STRING:
        return cur.string(f"the value of '{key}'")
    if vtype == GGUFValueType.ARRAY:
        if in_array:
            raise cur.fail(f"nested arrays are not supported ('{key}')")
        item_type = _value_type(cur, f"the items of '{key}'")
        item_size = _SCALARS[item_type].size if item_type in _SCALARS else 8
        n = cur.count(f"items of '{key}'", item_size)
        if item_type in _SCALARS:
            fmt = _SCALARS[item_type]
            values = list(struct.unpack_from(f"<{n}{fmt.format[-1]}", cur.buf, cur.pos))
            cur.pos += n * fmt.size
            return values
        return [_read_value(cur, item_type, key, in_array=True) for _ in range(n)]
    raise cur.fail(f"unsupported value type {vtype.name} for '{key}'")


def _tensor_nbytes(cur: _Cursor, name: str, shape: tuple[int, ...], ggml_type: GGMLQuantizationType) -> int:
    block_size, type_size = GGML_QUANT_SIZES[ggml_type]
    if shape[0] % block_size:
        raise cur.fail(f"tensor '{name}' row length {shape[0]} is not a multiple of the "
                       f"{ggml_type.name} block size {block_size}")
    n_elements = 1
    for dim in shape:
        n_elements *= dim
    return n_elements // block_size * type_size


def _read_tensor_info(cur: _Cursor) -> tuple[str, tuple[int, ...], GGMLQuantizationType, int]:
    name = cur.string("a tensor name")
    if not name or len(name.encode("utf-8", "surrogateescape")) > MAX_TENSOR_NAME:
        raise cur.fail(f"tensor name {name[:80]!r} is empty or longer than {MAX_TENSOR_NAME} bytes")
    n_dims = cur.unpack(_U32, f"the rank of tensor '{name}'")
    if not 1 <= n_dims <= MAX_TENSOR_DIMS:
        raise cur.fail(f"tensor '{name}' has rank {n_dims} (1..{MAX_TENSOR_DIMS} allowed)")
    shape = tuple(cur.unpack(_U64, f"the shape of tensor '{name}'") for _ in range(n_dims))
    if any(d == 0 or d >= 2**62 for d in shape):
        raise cur.fail(f"tensor '{name}' has an impossible shape {shape}")
    tag = cur.unpack(_U32, f"the type of tensor '{name}'")
    try:
        ggml_type = GGMLQuantizationType(tag)
    except ValueError:
        raise cur.fail(f"tensor '{name}' has unknown ggml type {tag}") from None
    if ggml_type not in GGML_QUANT_SIZES:
        raise cur.fail(f"tensor '{name}' has unsupported ggml type {ggml_type.name}")
    offset = cur.unpack(_U64, f"the offset of tensor '{name}'")
    return name, shape, ggml_type, offset


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """Parse and check the header of a GGUF file; raise `ModelFormatError` on anything inconsistent."""
    path = Path(path)
    file_size = path.stat().st_size
    if file_size < 24:
        raise ModelFormatError(f"{path}: not a valid GGUF file: only {file_size} bytes")
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf, path)
        if buf[:4] != GGUF_MAGIC:
            raise ModelFormatError(f"{path}: not a GGUF file (magic {bytes(buf[:4])!r}, expected b'GGUF')")
        cur.pos = 4
        version = cur.unpack(_U32, "the version")
        if version not in SUPPORTED_VERSIONS:
            raise cur.fail(f"unsupported GGUF version {version} (supported: {SUPPORTED_VERSIONS})")
        header = GGUFHeader(path=path, version=version, file_size=file_size)
        # minimal sizes: a tensor info is a 1-byte name + rank + one dim + type + offset; a pair a
        # 1-byte key + type + a 1-byte value
        n_tensors = cur.count("tensors", 8 + 1 + 4 + 8 + 4 + 8)
        n_kv = cur.count("metadata pairs", 8 + 1 + 4 + 1)
        for _ in range(n_kv):
            key = cur.string("a metadata key")
            if not key or key in header.metadata:
                raise cur.fail(f"metadata key {key!r} is empty or repeated")
            header.metadata[key] = _read_value(cur, _value_type(cur, f"'{key}'"), key)
        raw_tensors = [_read_tensor_info(cur) for _ in range(n_tensors)]

        alignment = header.metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise cur.fail(f"general.alignment {alignment!r} is not a power of two")
        header.data_offset = (cur.pos + alignment - 1) // alignment * alignment

    seen: set[str] = set()
    for name, shape, ggml_type, rel_offset in raw_tensors:
        if name in seen:
            raise cur.fail(f"tensor '{name}' is declared twice")
        seen.add(name)
        if rel_offset % alignment:
            raise cur.fail(f"tensor '{name}' offset {rel_offset} is not aligned to {alignment}")
        nbytes = _tensor_nbytes(cur, name, shape, ggml_type)
        start = header.data_offset + rel_offset
        if start + nbytes > file_size:
            raise ModelFormatError(
                f"{path}: truncated GGUF file: tensor '{name}' needs bytes {start}..{start + nbytes} "
                f"but the file has {file_size} bytes"
            )
        header.tensors.append(GGUFTensorInfo(name, shape, ggml_type, start, nbytes))
    return header
