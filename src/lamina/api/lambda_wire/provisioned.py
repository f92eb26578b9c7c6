"""Provisioned concurrency on the wire: parameters -> typed requests (shape validation in
AWS's order), configurations -> output dicts."""

from __future__ import annotations

from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.provisioned import LIST, PUT, list_max_items, requested_errors, to_wire
from lamina.domain.requests.provisioned import (
    ListProvisionedConcurrency,
    ProvisionedPage,
    ProvisionedTarget,
    ProvisionedView,
    PutProvisionedConcurrency,
)


def target(ctx: RequestContext, params: dict[str, Any], operation: str) -> ProvisionedTarget:
    ref = function_ref(ctx, params, operation)
    return ProvisionedTarget(ref.name, ref.qualifier)


def put_provisioned(ctx: RequestContext, params: dict[str, Any]) -> PutProvisionedConcurrency:
    """A bad value is reported with FunctionName's and Qualifier's shape errors (first)."""
    value = params.get("ProvisionedConcurrentExecutions")
    problems = requested_errors(value)
    if problems:
        qualifier = params.get("Qualifier") or None
        name_errors = names.function_name_errors(params.get("FunctionName", ""), PUT, qualifier)
        raise names.validation_exception(name_errors + problems)
    assert isinstance(value, int)
    return PutProvisionedConcurrency(target(ctx, params, PUT), value)


def list_provisioned(ctx: RequestContext, params: dict[str, Any]) -> ListProvisionedConcurrency:
    function = function_ref(ctx, params, LIST).name
    return ListProvisionedConcurrency(
        function=function,
        marker=params.get("Marker") or None,
        max_items=list_max_items(params.get("MaxItems")),
    )


def provisioned_out(view: ProvisionedView) -> dict[str, Any]:
    """The body of Put/GetProvisionedConcurrencyConfig."""
    return to_wire(view.config, view.status)


def provisioned_page_out(ctx: RequestContext, page: ProvisionedPage) -> dict[str, Any]:
    items = []
    for view in page.configs:
        config = view.config
        arn = function_arn(ctx.region, ctx.account_id, config.function, config.qualifier)
        items.append({"FunctionArn": arn, **to_wire(config, view.status)})
    out: dict[str, Any] = {"ProvisionedConcurrencyConfigs": items}
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out
