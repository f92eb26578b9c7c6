"""Reserved concurrency on the wire: parameters -> typed requests (shape validation in
AWS's order), results -> output dicts."""

from __future__ import annotations

from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names
from lamina.domain.context import RequestContext
from lamina.domain.requests.concurrency import PutFunctionConcurrency

PUT = "PutFunctionConcurrency"
MEMBER = "reservedConcurrentExecutions"


def put_function_concurrency(ctx: RequestContext, params: dict[str, Any]) -> PutFunctionConcurrency:
    """A bad value is reported with FunctionName's shape errors (those first)."""
    value = params.get("ReservedConcurrentExecutions")
    problems = _value_errors(value)
    if problems:
        name_errors = names.function_name_errors(params.get("FunctionName", ""), PUT)
        raise names.validation_exception(name_errors + problems)
    assert isinstance(value, int)
    return PutFunctionConcurrency(function_ref(ctx, params, PUT).name, value)


def function_name(ctx: RequestContext, params: dict[str, Any], operation: str) -> str:
    """Get/DeleteFunctionConcurrency: an unqualified function name."""
    return function_ref(ctx, params, operation).name


def reserved_out(reserved: int | None) -> dict[str, Any]:
    return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}


def _value_errors(value: object) -> list[str]:
    if value is None:
        return [names.constraint_error(MEMBER, None, "Member must not be null")]
    if not isinstance(value, int) or isinstance(value, bool):
        # The edge coerces JSON to the model's integer; anything else was refused there.
        return [names.constraint_error(MEMBER, value, "Member must be an integer")]
    if value < 0:
        minimum = "Member must have value greater than or equal to 0"
        return [names.constraint_error(MEMBER, value, minimum)]
    return []
