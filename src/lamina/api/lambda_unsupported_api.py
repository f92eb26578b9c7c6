"""Every operation of botocore's Lambda model answers.

Operations Lamina does not implement (durable executions, capacity providers, function
scaling configs, resource-based policies on other resources...) get a handler that first
validates the request against the model (required members, string lengths and patterns,
enums, number ranges, list sizes: AWS's ``ValidationException`` wording, members in
camelCase as Lambda's validator names them) and then answers HTTP 501
``UnsupportedOperationException``: "Lamina does not support the operation X yet.". botocore
does not retry a 501, so a client sees the error at once; never a 404 of an unknown route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.model import load_model
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.names import constraint_error, validation_exception

Shape = dict[str, Any]


class UnsupportedOperationException(AwsError):
    code = "UnsupportedOperationException"
    status = 501
    message_key = "message"
    typed = False


def unsupported_handlers(implemented: Iterable[str]) -> dict[str, Handler]:
    """A handler for each model operation not in ``implemented``."""
    model = load_model("lambda")
    done = set(implemented)
    out: dict[str, Handler] = {}
    for name, operation in model["operations"].items():
        if name not in done:
            shape = operation.get("input", {}).get("shape")
            out[name] = _unsupported(name, shape, model["shapes"])
    return out


def _unsupported(name: str, input_shape: str | None, shapes: dict[str, Shape]) -> Handler:
    async def handler(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if input_shape is not None:
            errors = model_errors(params, shapes[input_shape], shapes)
            if errors:
                raise validation_exception(errors)
        raise UnsupportedOperationException(f"Lamina does not support the operation {name} yet.")

    return handler


def model_errors(value: Any, shape: Shape, shapes: dict[str, Shape], path: str = "") -> list[str]:
    """The constraint failures of ``value`` against ``shape``, in the model's member order."""
    errors: list[str] = []
    kind = shape.get("type")
    if kind == "structure" and isinstance(value, dict):
        for member in shape.get("required", []):
            if value.get(member) is None:
                errors.append(
                    constraint_error(_join(path, member), None, "Member must not be null")
                )
        for member, ref in shape.get("members", {}).items():
            if value.get(member) is not None:
                errors += model_errors(
                    value[member], shapes[ref["shape"]], shapes, _join(path, member)
                )
    elif kind == "string" and isinstance(value, str):
        if "max" in shape and len(value) > shape["max"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must have length less than or equal to {shape['max']}"
                )
            )
        if "min" in shape and len(value) < shape["min"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must have length greater than or equal to {shape['min']}"
                )
            )
        if "enum" in shape and value not in shape["enum"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]"
                )
            )
        pattern = shape.get("pattern")
        if pattern and not _matches(pattern, value):
            errors.append(
                constraint_error(
                    path, value, f"Member must satisfy regular expression pattern: {pattern}"
                )
            )
    elif kind in ("integer", "long") and isinstance(value, int):
        if "max" in shape and value > shape["max"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must have value less than or equal to {shape['max']}"
                )
            )
        if "min" in shape and value < shape["min"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must have value greater than or equal to {shape['min']}"
                )
            )
    elif kind == "list" and isinstance(value, list):
        if "max" in shape and len(value) > shape["max"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must have length less than or equal to {shape['max']}"
                )
            )
        if "min" in shape and len(value) < shape["min"]:
            errors.append(
                constraint_error(
                    path, value, f"Member must have length greater than or equal to {shape['min']}"
                )
            )
        inner = shapes[shape["member"]["shape"]]
        for item in value:
            errors += model_errors(item, inner, shapes, path)
    return errors


def _join(path: str, member: str) -> str:
    camel = member[:1].lower() + member[1:]
    return f"{path}.{camel}" if path else camel


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:  # a Java-only construct: not checked
        return True
