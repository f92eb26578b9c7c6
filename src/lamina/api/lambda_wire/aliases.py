"""Alias operations on the wire: parameters -> typed requests (shape validation in AWS's
order, every failed member constraint of a request in one ``ValidationException``), and
aliases -> ``AliasConfiguration`` dicts."""

from __future__ import annotations

from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names, versions
from lamina.domain.aliases import (
    Alias,
    alias_shape_errors,
    validate_alias_name,
    validate_function_version_filter,
    weights_of,
)
from lamina.domain.context import RequestContext
from lamina.domain.requests.aliases import (
    AliasKey,
    AliasPage,
    CreateAlias,
    ListAliases,
    UpdateAlias,
)


def _function(ctx: RequestContext, params: dict[str, Any], operation: str, extra: list[str]) -> str:
    """The function name, after shape validation of FunctionName and ``extra`` errors
    (reported together, FunctionName's first). A qualifier in the name is ignored."""
    errors = names.function_name_errors(params.get("FunctionName", ""), operation) + extra
    if errors:
        raise names.validation_exception(errors)
    return function_ref(ctx, params, operation).name


def _weights(params: dict[str, Any]) -> dict[str, float] | None:
    given = weights_of(params)
    return None if given is None else {key: float(value) for key, value in given.items()}


def create_alias(ctx: RequestContext, params: dict[str, Any]) -> CreateAlias:
    function = _function(ctx, params, "CreateAlias", alias_shape_errors(params, create=True))
    return CreateAlias(
        function=function,
        name=params["Name"],
        function_version=params["FunctionVersion"],
        description=params.get("Description") or "",
        weights=_weights(params) or {},
    )


def alias_key(ctx: RequestContext, params: dict[str, Any], operation: str) -> AliasKey:
    """GetAlias / DeleteAlias: the alias name is checked before the function name."""
    alias_name = validate_alias_name(params.get("Name"))
    return AliasKey(_function(ctx, params, operation, []), alias_name)


def update_alias(ctx: RequestContext, params: dict[str, Any]) -> UpdateAlias:
    function = _function(ctx, params, "UpdateAlias", alias_shape_errors(params, create=False))
    return UpdateAlias(
        function=function,
        name=params["Name"],
        function_version=params.get("FunctionVersion") or None,
        description=params.get("Description"),
        weights=_weights(params),
        revision_id=params.get("RevisionId"),
    )


def list_aliases(ctx: RequestContext, params: dict[str, Any]) -> ListAliases:
    function = _function(ctx, params, "ListAliases", [])
    version = params.get("FunctionVersion")
    validate_function_version_filter(version)
    return ListAliases(
        function=function,
        function_version=version,
        marker=params.get("Marker") or None,
        max_items=versions.max_items(params.get("MaxItems")),
    )


def alias_out(alias: Alias) -> dict[str, Any]:
    return alias.to_wire()


def alias_page_out(page: AliasPage) -> dict[str, Any]:
    out: dict[str, Any] = {"Aliases": [alias.to_wire() for alias in page.aliases]}
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out
