"""Strict reading of answer JSON: a field that is missing or of the wrong type is a ProtocolError, never a default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ProtocolError


def get(data: Mapping[str, Any], key: str, kind: type, where: str, default: Any = ...) -> Any:
    """``data[key]`` of type ``kind``; without a ``default`` it must be there (a default of None allows null)."""
    value = data.get(key, default)
    if value is ...:
        raise ProtocolError(f"{where}: the answer has no {key!r}")
    if value is not None or default is not None:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise ProtocolError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}"[:300])
    return value


def obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def strs(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = get(data, key, list, where, [])
    if not all(isinstance(x, str) for x in items):
        raise ProtocolError(f"{where}.{key}: expected a list of strings")
    return tuple(items)


def objs(data: Mapping[str, Any], key: str, where: str, default: Any = ...) -> list[tuple[Mapping[str, Any], str]]:
    """The objects of the list ``data[key]``, each with its path (``where.key[i]``) for the errors read under it."""
    return [(obj(item, f"{where}.{key}[{i}]"), f"{where}.{key}[{i}]")
            for i, item in enumerate(get(data, key, list, where, default))]
