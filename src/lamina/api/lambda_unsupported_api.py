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

from collections.abc import Iterable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.model import load_model
from lamina.api.model_constraints import ConstraintStyle, ModelConstraints
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.names import validation_exception

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


# Lambda's validator (and KMS's): required members, then each member's lengths, enum and
# pattern; a list's items under the list's own name.
LAMBDA_STYLE = ConstraintStyle(required_members=True, indexed_items=False, enum_first=False)


def model_errors(value: Any, shape: Shape, shapes: dict[str, Shape], path: str = "") -> list[str]:
    """The constraint failures of ``value`` against ``shape``, in the model's member order."""
    return ModelConstraints(shapes, LAMBDA_STYLE).errors(value, shape, path)
