"""YAML mappings into dataclasses, every key checked: an unknown key or a value of the wrong type raises the caller's
error naming it, so a typo in a recipe never silently falls back to a default. Shared by the data and training recipes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any


def read_yaml(path: str | Path, error: type[Exception]) -> dict:
    """The mapping in a YAML file; `error` for a missing file, invalid YAML or a non-mapping."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise error(f"recipe {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise error(f"recipe {path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return raw


def no_unknown_keys(raw: dict, known: set[str], where: str, error: type[Exception]) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise error(f"{where}: unknown keys {unknown} (known: {sorted(known)})")


def dataclass_from(cls: type, raw, where: str, error: type[Exception], **nested: typing.Callable):
    """`cls(**raw)` with every key and value checked against the field's type hint. A field typed as a dataclass (or
    a list of them) is built from its own mapping the same way; `nested` maps a field name to a function
    `(value, where) -> object` that builds that field itself instead."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise error(f"{where}: expected a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    no_unknown_keys(raw, set(fields), where, error)
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        hint, at = hints[key], f"{where}.{key}"
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list and typing.get_args(hint) else None
        if key in nested:
            values[key] = nested[key](value, at)
        elif dataclasses.is_dataclass(hint):
            values[key] = dataclass_from(hint, value, at, error)
        elif item is not None and dataclasses.is_dataclass(item):
            if not isinstance(value, list):
                raise error(f"{at}: expected a list, got {value!r}")
            values[key] = [dataclass_from(item, v, f"{at}[{i}]", error) for i, v in enumerate(value)]
        else:
            values[key] = checked(value, hint, at, error)
    try:
        return cls(**values)
    except TypeError as e:  # a required field left out
        raise error(f"{where}: {e}") from None


def checked(value, hint, where: str, error: type[Exception]):
    """`value` if it fits the type hint (ints pass as floats; a list passes as a tuple), else `error`."""
    if _fits(value, hint):
        return tuple(value) if typing.get_origin(hint) is tuple else value
    raise error(f"{where}: expected {_name(hint)}, got {value!r}")


def _fits(value, hint) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args, strict=True))
        return not args or all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and (not args or all(_fits(v, args[1]) for v in value.values()))
    if hint is dict:
        return isinstance(value, dict)
    if hint is list:
        return isinstance(value, list)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
