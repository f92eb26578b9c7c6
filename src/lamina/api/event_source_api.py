"""Event source mapping operations -> ``EventSourceMappingService`` (thin adapters).

Each handler takes the request context and the operation's input by the Lambda model's member
names and returns the output shape; only here do wire dicts meet the typed service.
"""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.domain.event_source_mapping import STREAM_ONLY_PARAMETERS, MappingSettings
from lamina.domain.names import parse_taggable_resource
from lamina.services.event_sources.mappings import EventSourceMappingService


def settings_from(params: dict[str, Any]) -> MappingSettings:
    """The settings a Create/Update request gives (absent members: not given)."""
    criteria = params.get("FilterCriteria")
    patterns: tuple[str, ...] = ()
    if isinstance(criteria, dict):
        patterns = tuple(
            str(f.get("Pattern", "")) if isinstance(f, dict) else ""
            for f in criteria.get("Filters") or []
        )
    scaling = params.get("ScalingConfig")
    types = params.get("FunctionResponseTypes")
    return MappingSettings(
        enabled=params.get("Enabled"),
        batch_size=params.get("BatchSize"),
        batching_window=params.get("MaximumBatchingWindowInSeconds"),
        filter_patterns=patterns,
        filters_given=criteria is not None,
        function_response_types=None if types is None else tuple(types),
        maximum_concurrency=scaling.get("MaximumConcurrency")
        if isinstance(scaling, dict)
        else None,
        scaling_given=scaling is not None,
        stream_only=tuple(name for name in STREAM_ONLY_PARAMETERS if _given(params, name)),
    )


def _given(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if name == "DestinationConfig":
        # An empty ``{"OnFailure": {}}`` (what stream mappings echo) names no destination.
        return isinstance(value, dict) and any(
            isinstance(v, dict) and v.get("Destination") for v in value.values()
        )
    return value is not None


def event_source_handlers(service: EventSourceMappingService) -> dict[str, Handler]:
    async def create(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mapping = await service.create(
            ctx,
            params.get("FunctionName", ""),
            params.get("EventSourceArn"),
            settings_from(params),
            params.get("Tags"),
        )
        return mapping.to_wire()

    async def get(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return service.get(ctx, params.get("UUID", "")).to_wire()

    async def list_mappings(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        page, marker = service.list_mappings(
            ctx,
            event_source_arn=params.get("EventSourceArn") or None,
            function_name=params.get("FunctionName") or None,
            marker=params.get("Marker") or None,
            max_items=params.get("MaxItems"),
        )
        out: dict[str, Any] = {"EventSourceMappings": [m.to_wire() for m in page]}
        if marker is not None:
            out["NextMarker"] = marker
        return out

    async def update(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mapping = await service.update(
            ctx,
            params.get("UUID", ""),
            settings_from(params),
            params.get("FunctionName") or None,
        )
        return mapping.to_wire()

    async def delete(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return (await service.delete(ctx, params.get("UUID", ""))).to_wire()

    return {
        "CreateEventSourceMapping": create,
        "GetEventSourceMapping": get,
        "ListEventSourceMappings": list_mappings,
        "UpdateEventSourceMapping": update,
        "DeleteEventSourceMapping": delete,
    }


def with_mapping_tags(
    service: EventSourceMappingService, handlers: dict[str, Handler]
) -> dict[str, Handler]:
    """``TagResource``/``UntagResource``/``ListTags`` of ``handlers`` (the functions'), with
    event source mapping ARNs served by ``service`` (the ARN's shape and location are checked
    the same way first); every other resource goes to the original handler."""

    def route(operation: str, fallback: Handler) -> Handler:
        async def handler(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
            resource = parse_taggable_resource(
                params.get("Resource", ""), ctx.region, ctx.account_id
            )
            if resource.kind != "event-source-mapping":
                return await fallback(ctx, params)
            if operation == "TagResource":
                await service.tag(ctx, resource.name, params.get("Tags") or {})
                return {}
            if operation == "UntagResource":
                await service.untag(ctx, resource.name, params.get("TagKeys"))
                return {}
            return {"Tags": service.tags(ctx, resource.name)}

        return handler

    out = dict(handlers)
    for operation in ("TagResource", "UntagResource", "ListTags"):
        if operation in handlers:
            out[operation] = route(operation, handlers[operation])
    return out
