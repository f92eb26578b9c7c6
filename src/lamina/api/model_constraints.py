"""Input validation from botocore's model: lengths, patterns, enums, ranges and required
members, each failure worded as AWS's validators word it ("Value 'a b' at 'roleName' failed
to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+").

One engine for every service that validates this way. Their validators differ in details
the recordings show, which a ``ConstraintStyle`` names: whether required members are
checked, how a list item's path reads, the order of a string's checks, the order of a
number's bounds, Java's regular-expression classes, and members whose value is not echoed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lamina.domain.names import constraint_error

# Java's Unicode classes as Python's ``re`` has them (inside character classes).
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{Z}": r"\s", r"\p{N}": r"\d"}


@dataclass(frozen=True)
class ConstraintStyle:
    # Absent required members are failures ("Member must not be null").
    required_members: bool = True
    # A list item's path: ``items.1.member`` (the query protocol's), else the list's own.
    indexed_items: bool = True
    # A string's enum is checked first, and alone when it fails; else lengths, enum and
    # pattern are each checked, in that order.
    enum_first: bool = True
    # A number's lower bound is checked before its upper one.
    min_first: bool = False
    # Patterns use Java's Unicode classes (``\p{L}``); ASCII classes otherwise.
    java_patterns: bool = False
    # Members whose value the message does not print.
    quiet: frozenset[str] = frozenset()


class ModelConstraints:
    """The constraint failures of values against one model's shapes."""

    def __init__(self, shapes: Mapping[str, Any], style: ConstraintStyle) -> None:
        self._shapes = shapes
        self._style = style

    def errors(self, value: Any, shape: Mapping[str, Any], path: str = "") -> list[str]:
        """Every failure of ``value`` against ``shape``, in the model's member order."""
        errors: list[str] = []
        self._value(shape, value, path, errors)
        return errors

    def _value(self, shape: Mapping[str, Any], value: Any, path: str, errors: list[str]) -> None:
        kind = shape.get("type")
        if kind == "structure" and isinstance(value, Mapping):
            self._structure(shape, value, path, errors)
        elif kind == "list" and isinstance(value, list):
            self._size(shape, len(value), value, path, errors)
            inner = self._shapes[shape["member"]["shape"]]
            indexed = self._style.indexed_items
            for index, item in enumerate(value):
                self._value(inner, item, f"{path}.{index + 1}.member" if indexed else path, errors)
        elif kind == "string" and isinstance(value, str):
            self._string(shape, value, path, errors)
        elif kind in ("integer", "long") and isinstance(value, int):
            self._number(shape, value, path, errors)

    def _structure(
        self, shape: Mapping[str, Any], value: Mapping[str, Any], path: str, errors: list[str]
    ) -> None:
        if self._style.required_members:
            for member in shape.get("required", ()):
                if value.get(member) is None:
                    errors.append(
                        constraint_error(_join(path, member), None, "Member must not be null")
                    )
        for member, ref in shape.get("members", {}).items():
            item = value.get(member)
            if item is not None:
                self._value(self._shapes[ref["shape"]], item, _join(path, member), errors)

    def _string(self, shape: Mapping[str, Any], value: str, path: str, errors: list[str]) -> None:
        style = self._style
        enum: list[str] = shape.get("enum") or []
        enum_failed = bool(enum) and value not in enum
        if enum_failed and style.enum_first:
            errors.append(_enum_error(path, value, enum))
            return
        self._size(shape, len(value), value, path, errors)
        if enum_failed:
            errors.append(_enum_error(path, value, enum))
        pattern = shape.get("pattern")
        if pattern is not None and not _matches(pattern, value, style.java_patterns):
            constraint = f"Member must satisfy regular expression pattern: {pattern}"
            errors.append(constraint_error(path, value, constraint, sensitive=self._quiet(path)))

    def _number(self, shape: Mapping[str, Any], value: int, path: str, errors: list[str]) -> None:
        checks = []
        if "max" in shape and value > shape["max"]:
            checks.append(f"Member must have value less than or equal to {shape['max']}")
        if "min" in shape and value < shape["min"]:
            checks.append(f"Member must have value greater than or equal to {shape['min']}")
        if self._style.min_first:
            checks.reverse()
        errors += (constraint_error(path, value, constraint) for constraint in checks)

    def _size(
        self, shape: Mapping[str, Any], size: int, value: Any, path: str, errors: list[str]
    ) -> None:
        quiet = self._quiet(path)
        if "max" in shape and size > shape["max"]:
            constraint = f"Member must have length less than or equal to {shape['max']}"
            errors.append(constraint_error(path, value, constraint, sensitive=quiet))
        if "min" in shape and size < shape["min"]:
            constraint = f"Member must have length greater than or equal to {shape['min']}"
            errors.append(constraint_error(path, value, constraint, sensitive=quiet))

    def _quiet(self, path: str) -> bool:
        quiet = self._style.quiet
        return bool(quiet) and path.rpartition(".")[2] in quiet


def _join(path: str, member: str) -> str:
    camel = member[:1].lower() + member[1:]
    return f"{path}.{camel}" if path else camel


def _enum_error(path: str, value: str, enum: list[str]) -> str:
    return constraint_error(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")


def _matches(pattern: str, value: str, java: bool) -> bool:
    regex = _regex(pattern, java)
    return regex is None or regex.fullmatch(value) is not None


@lru_cache(maxsize=512)
def _regex(pattern: str, java: bool) -> re.Pattern[str] | None:
    """The pattern compiled (None: a construct Python lacks, which is then not checked)."""
    flags = 0
    if java:
        translated = pattern
        for java_class, python_class in _JAVA_CLASSES.items():
            translated = translated.replace(java_class, python_class)
        flags = 0 if translated != pattern else re.ASCII
        pattern = translated
    try:
        return re.compile(pattern, flags)
    except re.error:
        return None
