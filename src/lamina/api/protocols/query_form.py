"""Reading a query-protocol form (``Name.1.Key=...``) as an operation's input shape.

Names follow botocore's ``QuerySerializer``, the writer every query client agrees with: a
member is its ``locationName`` (else its member name) under its parent's prefix; a list is
``Name.member.N`` (or ``Name.<element name>.N``), or ``Name.N`` when flattened, where a
flattened list whose elements have a name takes that name (``AttributeName.1``); an empty
list is ``Name=``; a map is ``Name.entry.N.key/.value`` (or ``Name.N.<key>/<value>`` when
flattened, with the entry's names); nested structures continue the prefix
(``SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue``). Indexes need not
be contiguous; values come in index order. Unknown parameters are ignored.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from lamina.api.protocols.shapes import Ref, Shape

_ABSENT: Any = object()
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_REASONS = {
    "integer": "Must be an integer.",
    "long": "Must be an integer.",
    "boolean": "Must be true or false.",
    "double": "Must be a number.",
    "float": "Must be a number.",
    "blob": "Must be base64-encoded.",
    "timestamp": "Must be an ISO 8601 date.",
}


class BadQueryValue(Exception):
    """A parameter whose text is not of its member's type."""

    def __init__(self, parameter: str, raw: str, shape_type: str) -> None:
        super().__init__(parameter)
        reason = _REASONS.get(shape_type, "Invalid value.")
        self.message = f"Value {raw} for parameter {parameter} is invalid. Reason: {reason}"


class MissingQueryParameter(Exception):
    """A required member absent from the form (``parameter`` is its full query name)."""

    def __init__(self, parameter: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter


class FormIndex:
    """A form's values (first value of each name) and, for each dotted prefix, the names
    found one level below it. Names deeper than ``MAX_DEPTH`` parts match no member of any
    model and are ignored, which keeps indexing linear in the form's size."""

    __slots__ = ("children", "values")

    MAX_DEPTH = 24

    def __init__(self, form: Mapping[str, list[str]]) -> None:
        self.values = {key: items[0] for key, items in form.items() if items}
        children: dict[str, set[str]] = {}
        for key in self.values:
            parts = key.split(".", self.MAX_DEPTH)
            if len(parts) > self.MAX_DEPTH:
                continue
            for depth in range(1, len(parts)):
                children.setdefault(".".join(parts[:depth]), set()).add(parts[depth])
        self.children = children

    def indexes(self, prefix: str) -> list[int]:
        found = self.children.get(prefix, ())
        return sorted(int(name) for name in found if name.isdigit() and len(name) < 10)


def member_key(prefix: str, member: str, ref: Ref) -> str:
    """The query name of a structure member under ``prefix``."""
    name = ref.serialized_name(member)
    element = ref.shape.member
    if ref.shape.type == "list" and ref.flattened and element and element.location_name:
        name = element.location_name
    return f"{prefix}.{name}" if prefix else name


def read_structure(shape: Shape, form: FormIndex, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for member, ref in shape.members.items():
        key = member_key(prefix, member, ref)
        if ref.shape.type == "list":
            # An empty list is sent under the member's own name, even when flattened.
            own_name = ref.serialized_name(member)
            value = _read_list(ref, form, key, f"{prefix}.{own_name}" if prefix else own_name)
        else:
            value = _read(ref, form, key)
        if value is not _ABSENT:
            out[member] = value
    for member in shape.required:
        if member not in out:
            raise MissingQueryParameter(member_key(prefix, member, shape.members[member]))
    return out


def _read(ref: Ref, form: FormIndex, key: str) -> Any:
    shape = ref.shape
    kind = shape.type
    if kind == "structure":
        return read_structure(shape, form, key) if key in form.children else _ABSENT
    if kind == "list":
        return _read_list(ref, form, key, key)
    if kind == "map":
        return _read_map(ref, form, key)
    raw = form.values.get(key)
    return _ABSENT if raw is None else _scalar(kind, raw, key)


def _read_list(ref: Ref, form: FormIndex, key: str, empty_key: str) -> Any:
    element = ref.shape.member
    assert element is not None
    base = key if ref.flattened else f"{key}.{element.location_name or 'member'}"
    indexes = form.indexes(base)
    if not indexes:
        return [] if form.values.get(empty_key) == "" else _ABSENT
    items = (_read(element, form, f"{base}.{index}") for index in indexes)
    return [item for item in items if item is not _ABSENT]


def _read_map(ref: Ref, form: FormIndex, key: str) -> Any:
    key_ref, value_ref = ref.shape.key, ref.shape.value
    assert key_ref is not None and value_ref is not None
    base = key if ref.flattened else f"{key}.entry"
    key_name = key_ref.location_name or "key"
    value_name = value_ref.location_name or "value"
    indexes = form.indexes(base)
    if not indexes:
        return _ABSENT
    out: dict[Any, Any] = {}
    for index in indexes:
        entry_key = _read(key_ref, form, f"{base}.{index}.{key_name}")
        entry_value = _read(value_ref, form, f"{base}.{index}.{value_name}")
        if entry_key is not _ABSENT and entry_value is not _ABSENT:
            out[entry_key] = entry_value
    return out


def _scalar(kind: str, raw: str, key: str) -> Any:
    if kind == "string":
        return raw
    try:
        if kind in ("integer", "long"):
            if not _INTEGER.fullmatch(raw):
                raise ValueError(raw)
            return int(raw)
        if kind == "boolean":
            lowered = raw.lower()
            if lowered not in ("true", "false"):
                raise ValueError(raw)
            return lowered == "true"
        if kind in ("double", "float"):
            return float(raw)
        if kind == "blob":
            return base64.b64decode(raw, validate=True)
        if kind == "timestamp":
            return _timestamp(raw)
    except (ValueError, binascii.Error, OverflowError):
        raise BadQueryValue(key, raw, kind) from None
    return raw


def _timestamp(raw: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(raw), tz=timezone.utc)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
