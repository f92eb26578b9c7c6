"""Function URL configurations on the wire: parameters -> typed changes, configurations ->
output dicts (the shapes of botocore's ``FunctionUrlConfig`` and the operations' outputs).

Every shape error of FunctionName, Qualifier (an alias only: ``$LATEST`` and version
numbers fail its pattern, recorded), AuthType, InvokeMode and Cors is listed in one
ValidationException before the function name's ARN rules run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names
from lamina.domain.context import RequestContext
from lamina.domain.names import FunctionRef
from lamina.services.function_urls import LIST_LIMIT, FunctionUrlService
from lamina.services.url_model import (
    AUTH_TYPES,
    INVOKE_MODES,
    Cors,
    FunctionUrlConfig,
    UrlConfigChange,
    UrlConfigPage,
)

LIST = "ListFunctionUrlConfigs"
MAX_AGE_LIMIT = 86_400
# Cors list members: (wire name, validation name, most items, longest item, shortest item).
_CORS_LISTS = (
    ("AllowHeaders", "allowHeaders", 100, 1024, 0),
    ("AllowMethods", "allowMethods", 6, 6, 0),
    ("AllowOrigins", "allowOrigins", 100, 253, 1),
    ("ExposeHeaders", "exposeHeaders", 100, 1024, 0),
)


def target(ctx: RequestContext, params: dict[str, Any], operation: str) -> FunctionRef:
    """Get/Delete: the function and alias the request names."""
    _raise_errors(_target_errors(params, operation))
    return function_ref(ctx, params, operation)


def change(
    ctx: RequestContext, params: dict[str, Any], operation: str, *, create: bool
) -> tuple[FunctionRef, UrlConfigChange]:
    """Create/Update: the target and the settings given."""
    errors = _target_errors(params, operation)
    auth_type = params.get("AuthType")
    if auth_type is None and create:
        errors.append(names.constraint_error("authType", None, "Member must not be null"))
    errors += _enum_errors("authType", auth_type, AUTH_TYPES)
    errors += _enum_errors("invokeMode", params.get("InvokeMode"), INVOKE_MODES)
    cors = params.get("Cors")
    errors += _cors_errors(cors)
    _raise_errors(errors)
    ref = function_ref(ctx, params, operation)
    return ref, UrlConfigChange(
        auth_type=auth_type,
        invoke_mode=params.get("InvokeMode"),
        cors=None if cors is None else _cors_in(cors),
        cors_given=cors is not None,
    )


def list_request(params: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """``(function name, marker, max items)`` of ListFunctionUrlConfigs."""
    value = params.get("FunctionName", "")
    errors = names.function_name_errors(value, LIST)
    max_items = params.get("MaxItems")
    if max_items is not None and not 1 <= max_items <= LIST_LIMIT:
        low, high = "greater than or equal to 1", f"less than or equal to {LIST_LIMIT}"
        bound = low if max_items < 1 else high
        errors.append(
            names.constraint_error("maxItems", max_items, f"Member must have value {bound}")
        )
    _raise_errors(errors)
    name = names.function_locator(value)[0]
    return name, params.get("Marker") or None, max_items


def config_out(
    ctx: RequestContext,
    service: FunctionUrlService,
    config: FunctionUrlConfig,
    *,
    created_only: bool = False,
    invoke_mode_given: bool = True,
) -> dict[str, Any]:
    """A configuration as AWS renders it. Create's answer has no ``LastModifiedTime``, and
    ``InvokeMode`` only when the request gave one (recorded); ``Cors`` only when set."""
    out: dict[str, Any] = {
        "FunctionUrl": service.url_of(config),
        "FunctionArn": service.arn_of(ctx, config),
        "AuthType": config.auth_type,
        "CreationTime": _timestamp(config.created),
    }
    if config.cors is not None:
        out["Cors"] = _cors_out(config.cors)
    if not created_only:
        out["LastModifiedTime"] = _timestamp(config.modified)
    if invoke_mode_given:
        out["InvokeMode"] = config.invoke_mode
    return out


def page_out(
    ctx: RequestContext, service: FunctionUrlService, page: UrlConfigPage
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "FunctionUrlConfigs": [config_out(ctx, service, config) for config in page.configs]
    }
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out


# --- helpers ------------------------------------------------------------------------------


def _timestamp(epoch: float) -> str:
    """ISO 8601 with microseconds in UTC, as AWS renders a URL's times."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _raise_errors(errors: list[str]) -> None:
    if errors:
        raise names.validation_exception(errors)


def _target_errors(params: dict[str, Any], operation: str) -> list[str]:
    return names.function_name_errors(
        params.get("FunctionName", ""), operation, params.get("Qualifier") or None
    )


def _enum_errors(member: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    if value is None or value in allowed:
        return []
    constraint = f"Member must satisfy enum value set: [{', '.join(allowed)}]"
    return [names.constraint_error(member, value, constraint)]


def _cors_errors(cors: Any) -> list[str]:
    if not isinstance(cors, dict):
        return []
    errors: list[str] = []
    for key, member, most, longest, shortest in _CORS_LISTS:
        values = cors.get(key)
        if values is None:
            continue
        path = f"cors.{member}"
        if len(values) > most:
            text = f"Member must have length less than or equal to {most}"
            errors.append(names.constraint_error(path, values, text))
        for value in values:
            if len(value) > longest:
                text = f"Member must have length less than or equal to {longest}"
                errors.append(names.constraint_error(f"{path}.member", value, text))
            elif len(value) < shortest:
                text = f"Member must have length greater than or equal to {shortest}"
                errors.append(names.constraint_error(f"{path}.member", value, text))
    max_age = cors.get("MaxAge")
    if max_age is not None and not 0 <= max_age <= MAX_AGE_LIMIT:
        bound = (
            "greater than or equal to 0"
            if max_age < 0
            else f"less than or equal to {MAX_AGE_LIMIT}"
        )
        errors.append(
            names.constraint_error("cors.maxAge", max_age, f"Member must have value {bound}")
        )
    return errors


def _strings(values: Any) -> tuple[str, ...] | None:
    return None if values is None else tuple(str(value) for value in values)


def _cors_in(cors: dict[str, Any]) -> Cors:
    return Cors(
        allow_credentials=cors.get("AllowCredentials"),
        allow_headers=_strings(cors.get("AllowHeaders")),
        allow_methods=_strings(cors.get("AllowMethods")),
        allow_origins=_strings(cors.get("AllowOrigins")),
        expose_headers=_strings(cors.get("ExposeHeaders")),
        max_age=cors.get("MaxAge"),
    )


def _cors_out(cors: Cors) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "AllowCredentials": cors.allow_credentials,
        "AllowHeaders": None if cors.allow_headers is None else list(cors.allow_headers),
        "AllowMethods": None if cors.allow_methods is None else list(cors.allow_methods),
        "AllowOrigins": None if cors.allow_origins is None else list(cors.allow_origins),
        "ExposeHeaders": None if cors.expose_headers is None else list(cors.expose_headers),
        "MaxAge": cors.max_age,
    }
    return {key: value for key, value in fields.items() if value is not None}
