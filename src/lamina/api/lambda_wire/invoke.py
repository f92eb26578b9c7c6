"""Invoke / InvokeAsync wire forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain.context import RequestContext
from lamina.domain.errors import ValidationException
from lamina.domain.requests.invoke import (
    EVENT,
    INVOCATION_TYPES,
    LOG_TYPES,
    REQUEST_RESPONSE,
    InvokeRequest,
    InvokeResult,
)


def invoke_request(ctx: RequestContext, params: Mapping[str, Any]) -> InvokeRequest:
    """The enums first (InvocationType, then LogType), then the function's name."""
    invocation_type = params.get("InvocationType") or REQUEST_RESPONSE
    if invocation_type not in INVOCATION_TYPES:
        raise ValidationException(
            f"1 validation error detected: Value '{invocation_type}' at 'invocationType' "
            "failed to satisfy constraint: Member must satisfy enum value set: "
            "[Event, RequestResponse, DryRun]"
        )
    log_type = params.get("LogType") or "None"
    if log_type not in LOG_TYPES:
        raise ValidationException(
            f"1 validation error detected: Value '{log_type}' at 'logType' failed to "
            "satisfy constraint: Member must satisfy enum value set: [None, Tail]"
        )
    ref = function_ref(ctx, params, "Invoke")
    return InvokeRequest(
        name=ref.name,
        qualifier=ref.qualifier,
        invocation_type=invocation_type,
        log_type=log_type,
        payload=params.get("Payload") or b"",
        client_context=params.get("ClientContext"),
    )


def invoke_async_request(ctx: RequestContext, params: Mapping[str, Any]) -> InvokeRequest:
    """The deprecated InvokeAsync: an Event invocation of the function's $LATEST."""
    ref = function_ref(ctx, {"FunctionName": params.get("FunctionName", "")}, "Invoke")
    return InvokeRequest(
        name=ref.name,
        qualifier=ref.qualifier,
        invocation_type=EVENT,
        payload=params.get("InvokeArgs") or b"",
    )


def result_to_wire(result: InvokeResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": result.executed_version,
        "Payload": result.payload,
    }
    if result.function_error:
        out["FunctionError"] = result.function_error
    if result.log_result is not None:
        out["LogResult"] = result.log_result
    return out
