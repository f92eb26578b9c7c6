"""The edge's adapter of EventBridge's bus, permission, tag, PutEvents and TestEventPattern
operations (rules and targets: ``events_rules_api.py``): wire dicts in and out, as
botocore's ``events`` model names them; members AWS omits when absent are omitted."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from lamina.api.events_archive_api import events_archive_handlers
from lamina.api.events_rules_api import events_rule_handlers
from lamina.domain.context import RequestContext
from lamina.services.events.arns import BusKey, resolve_bus
from lamina.services.events.entries import EntryError
from lamina.services.events.errors import EventsValidationException
from lamina.services.events.model import EventBus
from lamina.services.events.service import EventsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def bus_output(bus: EventBus, *, policy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": bus.key.name, "Arn": bus.arn}
    if bus.description is not None:
        out["Description"] = bus.description
    if policy and bus.policy:
        out["Policy"] = json.dumps(bus.policy)
    out["CreationTime"] = _time(bus.created)
    out["LastModifiedTime"] = _time(bus.modified)
    return out


def tags_in(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def tags_out(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _statement(ctx: RequestContext, bus: BusKey, params: dict[str, Any]) -> dict[str, Any]:
    missing = [m for m in ("Action", "Principal", "StatementId") if not params.get(m)]
    if missing:
        raise EventsValidationException(
            "Parameter(s) Action, Principal, StatementId must be specified."
        )
    if params["Action"] != "events:PutEvents":
        raise EventsValidationException("Provided value in parameter 'action' is not supported.")
    principal = str(params["Principal"])
    statement: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
        "Action": params["Action"],
        "Resource": bus.arn,
    }
    condition = params.get("Condition")
    if condition:
        statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
    del ctx
    return statement


def events_handlers(service: EventsService) -> dict[str, Handler]:
    registry = service.registry

    def bus_key(ctx: RequestContext, name: str | None) -> BusKey:
        return resolve_bus(ctx.region, ctx.account_id, name)

    async def create_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = BusKey(ctx.region, ctx.account_id, params["Name"])
        bus = await registry.create_bus(key, params.get("Description"), tags_in(params.get("Tags")))
        out: dict[str, Any] = {"EventBusArn": bus.arn}
        if bus.description is not None:
            out["Description"] = bus.description
        return out

    async def describe_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return bus_output(registry.bus(bus_key(ctx, params.get("Name"))), policy=True)

    async def list_event_buses(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        buses, token = registry.list_buses(
            ctx.region,
            ctx.account_id,
            params.get("NamePrefix"),
            params.get("Limit"),
            params.get("NextToken"),
        )
        out: dict[str, Any] = {"EventBuses": [bus_output(b, policy=True) for b in buses]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def update_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = await registry.update_bus(bus_key(ctx, params.get("Name")), params.get("Description"))
        out: dict[str, Any] = {"Arn": bus.arn, "Name": bus.key.name}
        if bus.description is not None:
            out["Description"] = bus.description
        return out

    async def delete_event_bus(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await registry.delete_bus(BusKey(ctx.region, ctx.account_id, params["Name"]))
        return {}

    async def put_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = bus_key(ctx, params.get("EventBusName"))
        registry.bus(key)
        policy = params.get("Policy")
        statement = None if policy is not None else _statement(ctx, key, params)
        await registry.put_permission(key, policy=policy, statement=statement)
        return {}

    async def remove_permission(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = bus_key(ctx, params.get("EventBusName"))
        await registry.remove_permission(
            key, params.get("StatementId"), bool(params.get("RemoveAllPermissions"))
        )
        return {}

    async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await registry.tag(params["ResourceARN"], tags_in(params.get("Tags")))
        return {}

    async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await registry.untag(params["ResourceARN"], list(params.get("TagKeys") or []))
        return {}

    async def list_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": tags_out(registry.tags_of(params["ResourceARN"]))}

    async def put_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        results = await service.put_events(ctx, list(params.get("Entries") or []))
        entries: list[dict[str, str]] = []
        failed = 0
        for result in results:
            if isinstance(result, EntryError):
                failed += 1
                entries.append({"ErrorCode": result.code, "ErrorMessage": result.message})
            else:
                entries.append({"EventId": result})
        return {"FailedEntryCount": failed, "Entries": entries}

    async def test_event_pattern(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Result": service.test_event_pattern(params["EventPattern"], params["Event"])}

    return {
        "CreateEventBus": create_event_bus,
        "DescribeEventBus": describe_event_bus,
        "ListEventBuses": list_event_buses,
        "UpdateEventBus": update_event_bus,
        "DeleteEventBus": delete_event_bus,
        "PutPermission": put_permission,
        "RemovePermission": remove_permission,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTagsForResource": list_tags,
        "PutEvents": put_events,
        "TestEventPattern": test_event_pattern,
        **events_rule_handlers(service),
        **events_archive_handlers(service),
    }
