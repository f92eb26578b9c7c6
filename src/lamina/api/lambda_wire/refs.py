"""``FunctionName`` (and ``Qualifier``) on the wire -> the function a request names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.domain import names
from lamina.domain.context import RequestContext


def function_ref(
    ctx: RequestContext, params: Mapping[str, Any], operation: str
) -> names.FunctionRef:
    """The function and qualifier of an operation's ``FunctionName``/``Qualifier``: shape
    errors, then an ARN of another account (AccessDeniedException) or region, then the
    operation's own rules (``names.parse_function_name``)."""
    return names.parse_function_name(
        params.get("FunctionName", ""),
        operation=operation,
        qualifier=params.get("Qualifier"),
        region=ctx.region,
        account=ctx.account_id,
    )
