"""Typed decoding of a JSON request body against an input shape (AWS JSON 1.0/1.1).

``compile_decoder(shape)`` builds, once per shape, a function that checks a ``json.loads``
value against the shape and returns it with Python types: strings, ints (integer/long, not
bools, within their range), bools, floats, ``bytes`` (blobs, base64-decoded), ``datetime``
(timestamps: epoch seconds, UTC), lists, dicts and nested structures. Unknown members and
``null`` members are dropped. A structure missing a ``required`` member raises
``MissingMember``; a value of the wrong type raises ``BadValue``: the codec turns both into
the service's errors.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from lamina.api.protocols.shapes import Shape

Decoder = Callable[[Any, str], Any]

_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_TYPE_WORDS = {
    "structure": "an object",
    "map": "an object",
    "list": "a list",
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "boolean": "a boolean",
    "double": "a number",
    "float": "a number",
    "blob": "a base64 string",
    "timestamp": "a number of seconds",
}


class BadValue(Exception):
    """A member whose JSON value is not of the member's type."""

    def __init__(self, member: str, shape_type: str) -> None:
        super().__init__(member)
        self.member = member
        self.message = f"Value of member {member} must be {_TYPE_WORDS.get(shape_type, 'valid')}."


class MissingMember(Exception):
    """A required member absent from a structure."""

    def __init__(self, member: str) -> None:
        super().__init__(member)
        self.member = member


def _document(value: Any, path: str) -> Any:
    return value


def _string(value: Any, path: str) -> Any:
    if type(value) is not str:
        raise BadValue(path, "string")
    return value


def _boolean(value: Any, path: str) -> Any:
    if type(value) is not bool:
        raise BadValue(path, "boolean")
    return value


def _number(value: Any, path: str) -> Any:
    if type(value) is float:
        return value
    if type(value) is not int:
        raise BadValue(path, "double")
    return float(value)


def _blob(value: Any, path: str) -> Any:
    if type(value) is not str:
        raise BadValue(path, "blob")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue(path, "blob") from None


def _timestamp(value: Any, path: str) -> Any:
    if type(value) not in (int, float):
        raise BadValue(path, "timestamp")
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise BadValue(path, "timestamp") from None


def _integer(kind: str) -> Decoder:
    low, high = _INT_BOUNDS[kind]

    def decode(value: Any, path: str) -> Any:
        if type(value) is not int or not low <= value <= high:
            raise BadValue(path, kind)
        return value

    return decode


_SCALARS: dict[str, Decoder] = {
    "string": _string,
    "boolean": _boolean,
    "double": _number,
    "float": _number,
    "blob": _blob,
    "timestamp": _timestamp,
    "integer": _integer("integer"),
    "long": _integer("long"),
}


def compile_decoder(shape: Shape, cache: dict[str, Decoder]) -> Decoder:
    """The decoder of ``shape`` (cached by shape name in ``cache``)."""
    existing = cache.get(shape.name)
    if existing is not None:
        return existing
    scalar = _SCALARS.get(shape.type)
    if scalar is not None:
        cache[shape.name] = scalar
        return scalar
    if shape.type == "structure":
        return _structure(shape, cache)
    if shape.type == "list":
        return _list(shape, cache)
    if shape.type == "map":
        return _map(shape, cache)
    cache[shape.name] = _document
    return _document


def _structure(shape: Shape, cache: dict[str, Decoder]) -> Decoder:
    if shape.document:
        cache[shape.name] = _document
        return _document
    # Filled after registering the decoder, so recursive shapes resolve to it.
    fields: dict[str, tuple[str, Decoder]] = {}
    required = shape.required

    def decode(value: Any, path: str) -> Any:
        if type(value) is not dict:
            raise BadValue(path, "structure")
        out: dict[str, Any] = {}
        for key, item in value.items():
            spec = fields.get(key)
            if spec is None or item is None:
                continue
            out[spec[0]] = spec[1](item, spec[0])
        for member in required:
            if member not in out:
                raise MissingMember(member)
        return out

    cache[shape.name] = decode
    for member, ref in shape.members.items():
        fields[ref.serialized_name(member)] = (member, compile_decoder(ref.shape, cache))
    return decode


def _list(shape: Shape, cache: dict[str, Decoder]) -> Decoder:
    cell: list[Decoder] = []

    def decode(value: Any, path: str) -> Any:
        if type(value) is not list:
            raise BadValue(path, "list")
        item_decoder = cell[0]
        return [item_decoder(item, path) for item in value if item is not None]

    cache[shape.name] = decode
    assert shape.member is not None
    cell.append(compile_decoder(shape.member.shape, cache))
    return decode


def _map(shape: Shape, cache: dict[str, Decoder]) -> Decoder:
    cell: list[Decoder] = []

    def decode(value: Any, path: str) -> Any:
        if type(value) is not dict:
            raise BadValue(path, "map")
        value_decoder = cell[0]
        return {key: value_decoder(item, path) for key, item in value.items() if item is not None}

    cache[shape.name] = decode
    assert shape.value is not None
    cell.append(compile_decoder(shape.value.shape, cache))
    return decode
