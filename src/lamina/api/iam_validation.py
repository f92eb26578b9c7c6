"""IAM's input validation, from botocore's model of each operation's input: lengths,
patterns, enums and ranges, every failure collected into one ``ValidationError`` worded as
AWS's validator words it ("1 validation error detected: Value 'a b' at 'roleName' failed to
satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from lamina.domain.names import constraint_error, validation_message
from lamina.services.iam.errors import ValidationError

# Java's Unicode classes as Python's ``re`` has them (inside character classes).
_UNICODE_CLASSES = {r"\p{L}": r"\w", r"\p{Z}": r"\s", r"\p{N}": r"\d"}
# Members whose value AWS does not print (documents are long; Java prints them anyway,
# but a policy is not worth echoing).
_QUIET = frozenset({"policyDocument", "assumeRolePolicyDocument"})


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    translated = pattern
    for java, python in _UNICODE_CLASSES.items():
        translated = translated.replace(java, python)
    flags = 0 if translated != pattern else re.ASCII
    return re.compile(translated, flags)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


class IamValidator:
    def __init__(self, model: Mapping[str, Any]) -> None:
        self._shapes: Mapping[str, Any] = model["shapes"]
        self._operations: Mapping[str, Any] = model["operations"]

    def check(self, operation: str, params: Mapping[str, Any]) -> None:
        spec = self._operations[operation].get("input")
        if not spec:
            return
        errors: list[str] = []
        self._structure(self._shapes[spec["shape"]], params, "", errors)
        if errors:
            raise ValidationError(validation_message(errors))

    def _structure(
        self, shape: Mapping[str, Any], value: Mapping[str, Any], path: str, errors: list[str]
    ) -> None:
        for member, ref in shape.get("members", {}).items():
            item = value.get(member)
            if item is not None:
                member_path = f"{path}.{_camel(member)}" if path else _camel(member)
                self._value(self._shapes[ref["shape"]], item, member_path, errors)

    def _value(self, shape: Mapping[str, Any], value: Any, path: str, errors: list[str]) -> None:
        kind = shape["type"]
        if kind == "structure" and isinstance(value, Mapping):
            self._structure(shape, value, path, errors)
        elif kind == "list" and isinstance(value, list):
            self._size(shape, len(value), value, path, errors)
            inner = self._shapes[shape["member"]["shape"]]
            for index, item in enumerate(value):
                self._value(inner, item, f"{path}.{index + 1}.member", errors)
        elif kind == "string" and isinstance(value, str):
            self._string(shape, value, path, errors)
        elif kind in ("integer", "long") and isinstance(value, int):
            if "min" in shape and value < shape["min"]:
                constraint = f"Member must have value greater than or equal to {shape['min']}"
                errors.append(constraint_error(path, value, constraint))
            if "max" in shape and value > shape["max"]:
                constraint = f"Member must have value less than or equal to {shape['max']}"
                errors.append(constraint_error(path, value, constraint))

    def _string(self, shape: Mapping[str, Any], value: str, path: str, errors: list[str]) -> None:
        if "enum" in shape and value not in shape["enum"]:
            allowed = ", ".join(shape["enum"])
            constraint = f"Member must satisfy enum value set: [{allowed}]"
            errors.append(constraint_error(path, value, constraint))
            return
        self._size(shape, len(value), value, path, errors)
        pattern = shape.get("pattern")
        if pattern is not None and not _regex(pattern).fullmatch(value):
            constraint = f"Member must satisfy regular expression pattern: {pattern}"
            quiet = path.rpartition(".")[2] in _QUIET
            errors.append(constraint_error(path, value, constraint, sensitive=quiet))

    def _size(
        self, shape: Mapping[str, Any], size: int, value: Any, path: str, errors: list[str]
    ) -> None:
        quiet = path.rpartition(".")[2] in _QUIET
        if "max" in shape and size > shape["max"]:
            constraint = f"Member must have length less than or equal to {shape['max']}"
            errors.append(constraint_error(path, value, constraint, sensitive=quiet))
        if "min" in shape and size < shape["min"]:
            constraint = f"Member must have length greater than or equal to {shape['min']}"
            errors.append(constraint_error(path, value, constraint, sensitive=quiet))
