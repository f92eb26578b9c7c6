"""FunctionEventInvokeConfig on the wire: parameters -> typed requests, configurations ->
output dicts.

AWS's order (recorded: TestLambdaEventInvokeConfig): every shape error of FunctionName,
Qualifier and the settings in one ValidationException, then "at least one setting", then the
function name's ARN rules; what needs data (the function, the destinations) is the
service's."""

from __future__ import annotations

from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.destinations import (
    MAX_EVENT_AGE,
    MAX_RETRIES,
    MIN_EVENT_AGE,
    destination_errors,
    parse_destination_config,
)
from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.requests.event_invoke_config import (
    EventInvokeTarget,
    ListEventInvokeConfigs,
    PutEventInvokeConfig,
    UpdateEventInvokeConfig,
)
from lamina.services.event_invoke_config import LIST_LIMIT, EventInvokeConfigPage
from lamina.store.records import EventInvokeConfig

PUT = "PutFunctionEventInvokeConfig"
UPDATE = "UpdateFunctionEventInvokeConfig"
LIST = "ListFunctionEventInvokeConfigs"
SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
NOTHING_TO_SET = "You must specify at least one of error handling or destination setting."


def target(ctx: RequestContext, params: dict[str, Any], operation: str) -> EventInvokeTarget:
    ref = function_ref(ctx, params, operation)
    return EventInvokeTarget(ref.name, ref.qualifier)


def put_config(ctx: RequestContext, params: dict[str, Any]) -> PutEventInvokeConfig:
    where = _settings_target(ctx, params, PUT)
    destinations, _, _ = parse_destination_config(params.get("DestinationConfig"))
    return PutEventInvokeConfig(
        target=where,
        max_retries=params.get("MaximumRetryAttempts"),
        max_age=params.get("MaximumEventAgeInSeconds"),
        destinations=destinations,
    )


def update_config(ctx: RequestContext, params: dict[str, Any]) -> UpdateEventInvokeConfig:
    where = _settings_target(ctx, params, UPDATE)
    destinations, success_given, failure_given = parse_destination_config(
        params.get("DestinationConfig")
    )
    return UpdateEventInvokeConfig(
        target=where,
        max_retries=params.get("MaximumRetryAttempts"),
        max_age=params.get("MaximumEventAgeInSeconds"),
        destinations=destinations,
        on_success_given=success_given,
        on_failure_given=failure_given,
    )


def list_configs(ctx: RequestContext, params: dict[str, Any]) -> ListEventInvokeConfigs:
    value = params.get("FunctionName", "")
    max_items = params.get("MaxItems")
    errors = names.function_name_errors(value, LIST) + _range_error(
        "maxItems", max_items, 1, LIST_LIMIT
    )
    if errors:
        raise names.validation_exception(errors)
    return ListEventInvokeConfigs(
        function=function_ref(ctx, params, LIST).name,
        marker=params.get("Marker") or None,
        max_items=max_items,
    )


def config_out(ctx: RequestContext, config: EventInvokeConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "LastModified": config.last_modified,
        "FunctionArn": function_arn(ctx.region, ctx.account_id, config.function, config.qualifier),
    }
    if config.max_retries is not None:
        out["MaximumRetryAttempts"] = config.max_retries
    if config.max_age is not None:
        out["MaximumEventAgeInSeconds"] = config.max_age
    out["DestinationConfig"] = config.destinations.to_wire()
    return out


def config_page_out(ctx: RequestContext, page: EventInvokeConfigPage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "FunctionEventInvokeConfigs": [config_out(ctx, config) for config in page.configs]
    }
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out


# --- validation ---------------------------------------------------------------------------


def _settings_target(
    ctx: RequestContext, params: dict[str, Any], operation: str
) -> EventInvokeTarget:
    """Put/Update: the request's shape and settings, then the function name's rules."""
    errors = names.function_name_errors(
        params.get("FunctionName", ""), operation, params.get("Qualifier") or None
    )
    errors += _setting_errors(params)
    if errors:
        raise names.validation_exception(errors)
    if not any(params.get(key) is not None for key in SETTINGS):
        raise InvalidParameterValueException(NOTHING_TO_SET)
    return target(ctx, params, operation)


def _range_error(member: str, value: Any, low: int, high: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [names.constraint_error(member, value, "Member must be an integer")]
    if value < low:
        text = f"Member must have value greater than or equal to {low}"
    elif value > high:
        text = f"Member must have value less than or equal to {high}"
    else:
        return []
    return [names.constraint_error(member, value, text)]


def _setting_errors(params: dict[str, Any]) -> list[str]:
    return (
        _range_error("maximumRetryAttempts", params.get("MaximumRetryAttempts"), 0, MAX_RETRIES)
        + _range_error(
            "maximumEventAgeInSeconds",
            params.get("MaximumEventAgeInSeconds"),
            MIN_EVENT_AGE,
            MAX_EVENT_AGE,
        )
        + destination_errors(params.get("DestinationConfig"))
    )
