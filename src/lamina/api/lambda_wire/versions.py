"""PublishVersion / ListVersionsByFunction wire forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.api.lambda_wire.refs import function_ref
from lamina.domain import names, versions
from lamina.domain.context import RequestContext
from lamina.domain.requests.versions import PublishVersionRequest, VersionPage


def publish_request(ctx: RequestContext, params: Mapping[str, Any]) -> PublishVersionRequest:
    """Every shape failure (FunctionName's first, then Description's and PublishTo's) in one
    ValidationException, then the name's account/region."""
    errors = names.function_name_errors(params.get("FunctionName", ""), "PublishVersion")
    errors += versions.publish_shape_errors(params)
    if errors:
        raise names.validation_exception(errors)
    ref = function_ref(ctx, params, "PublishVersion")
    return PublishVersionRequest(
        name=ref.name,
        qualifier=ref.qualifier,
        description=params.get("Description"),
        revision_id=params.get("RevisionId"),
        code_sha256=params.get("CodeSha256"),
        publish_to=params.get("PublishTo"),
    )


def list_versions_options(
    ctx: RequestContext, params: Mapping[str, Any]
) -> tuple[str, str | None, int | None]:
    """``(function name, marker, max_items)`` of ListVersionsByFunction."""
    ref = function_ref(ctx, params, "ListVersionsByFunction")
    max_items = versions.max_items(params.get("MaxItems"))
    return ref.name, params.get("Marker") or None, max_items


def page_to_wire(page: VersionPage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Versions": [config.to_wire(listing=True, qualified=True) for config in page.versions]
    }
    if page.next_marker is not None:
        out["NextMarker"] = page.next_marker
    return out
