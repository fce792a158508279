"""What `pm install` learns from an APK: its package name and the input methods it declares.

The simulated package manager reads the APK the way Android does, from the binary XML `AndroidManifest.xml` inside the
zip, so installing uiautomator2's own `app-uiautomator.apk` registers `com.github.uiautomator/.AdbKeyboard` because
the APK says so, not because the phone knows that file.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field

_CHUNK_STRING_POOL = 0x0001
_CHUNK_START_ELEMENT = 0x0102
_UTF8_FLAG = 0x100
_TYPE_STRING = 0x03
_NO_STRING = 0xFFFFFFFF
BIND_INPUT_METHOD = "android.permission.BIND_INPUT_METHOD"


class ApkError(ValueError):
    """Not an APK Android could parse: pm answers INSTALL_PARSE_FAILED_*."""


@dataclass
class ApkManifest:
    package: str
    input_methods: list[str] = field(default_factory=list)  # IME ids as `ime list -s` prints them: "pkg/.Service"


def read_manifest(apk: bytes) -> ApkManifest:
    try:
        with zipfile.ZipFile(io.BytesIO(apk)) as archive:
            manifest = archive.read("AndroidManifest.xml")
    except (zipfile.BadZipFile, KeyError) as error:
        raise ApkError(f"not an APK: {error}") from error
    try:
        elements = list(_start_elements(manifest))
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise ApkError(f"corrupt AndroidManifest.xml: {error}") from error
    if not elements or elements[0][0] != "manifest" or not elements[0][1].get("package"):
        raise ApkError("AndroidManifest.xml has no <manifest package=...>")
    package = elements[0][1]["package"]
    input_methods = [
        _component_id(package, attributes["name"])
        for tag, attributes in elements
        if tag == "service" and attributes.get("permission") == BIND_INPUT_METHOD and attributes.get("name")
    ]
    return ApkManifest(package, input_methods)


def _component_id(package: str, class_name: str) -> str:
    if class_name.startswith("."):
        return f"{package}/{class_name}"
    if class_name.startswith(package + "."):
        return f"{package}/{class_name[len(package):]}"
    return f"{package}/{class_name}"


def _start_elements(data: bytes):
    """(tag, {attribute name: string value}) for each element of Android's binary XML, in document order."""
    strings: list[str] = []
    offset = struct.unpack_from("<H", data, 2)[0]  # skip the file header
    while offset + 8 <= len(data):
        chunk_type, header_size, chunk_size = struct.unpack_from("<HHI", data, offset)
        if chunk_size == 0:
            break
        if chunk_type == _CHUNK_STRING_POOL:
            strings = _string_pool(data, offset)
        elif chunk_type == _CHUNK_START_ELEMENT:
            yield _start_element(data, offset, header_size, strings)
        offset += chunk_size


def _start_element(data: bytes, offset: int, header_size: int, strings: list[str]) -> tuple[str, dict[str, str]]:
    _namespace, name, attribute_start, attribute_size, count = struct.unpack_from("<IIHHH", data, offset + header_size)
    attributes = {}
    first = offset + header_size + attribute_start
    for index in range(count):
        _ns, attribute_name, raw_value, _size, _res0, data_type, value = struct.unpack_from(
            "<IIIHBBI", data, first + index * attribute_size
        )
        if raw_value != _NO_STRING:
            attributes[strings[attribute_name]] = strings[raw_value]
        elif data_type == _TYPE_STRING:
            attributes[strings[attribute_name]] = strings[value]
    return strings[name], attributes


def _string_pool(data: bytes, offset: int) -> list[str]:
    count, _styles, flags, strings_start = struct.unpack_from("<IIII", data, offset + 8)
    base = offset + strings_start
    offsets = struct.unpack_from(f"<{count}I", data, offset + 28)
    return [_utf8_string(data, base + o) if flags & _UTF8_FLAG else _utf16_string(data, base + o) for o in offsets]


def _utf8_string(data: bytes, position: int) -> str:
    position += 2 if data[position] & 0x80 else 1  # the length in UTF-16 units, unused
    length = data[position]
    if length & 0x80:
        length = ((length & 0x7F) << 8) | data[position + 1]
        position += 1
    return data[position + 1 : position + 1 + length].decode("utf-8")


def _utf16_string(data: bytes, position: int) -> str:
    length = struct.unpack_from("<H", data, position)[0]
    if length & 0x8000:
        length = ((length & 0x7FFF) << 16) | struct.unpack_from("<H", data, position + 2)[0]
        position += 2
    return data[position + 2 : position + 2 + 2 * length].decode("utf-16-le")
