"""The edge's adapter of EventBridge's rule and target operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lamina.domain.context import RequestContext
from lamina.services.events.arns import BusKey, resolve_bus
from lamina.services.events.model import Rule
from lamina.services.events.service import EventsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def rule_output(rule: Rule, *, described: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": rule.name, "Arn": rule.arn}
    if rule.event_pattern is not None:
        out["EventPattern"] = rule.event_pattern
    if rule.schedule is not None:
        out["ScheduleExpression"] = rule.schedule
    out["State"] = rule.state
    if rule.description is not None:
        out["Description"] = rule.description
    if rule.role_arn is not None:
        out["RoleArn"] = rule.role_arn
    out["EventBusName"] = rule.bus.name
    if described:
        out["CreatedBy"] = rule.bus.account
    return out


def _failed(entries: list[dict[str, str]]) -> dict[str, Any]:
    return {"FailedEntryCount": len(entries), "FailedEntries": entries}


def events_rule_handlers(service: EventsService) -> dict[str, Handler]:
    book = service.rules

    def bus_key(ctx: RequestContext, params: dict[str, Any]) -> BusKey:
        return resolve_bus(ctx.region, ctx.account_id, params.get("EventBusName"))

    async def put_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rule = await book.put_rule(
            bus_key(ctx, params),
            params["Name"],
            event_pattern=params.get("EventPattern"),
            schedule=params.get("ScheduleExpression"),
            state=params.get("State"),
            description=params.get("Description"),
            role_arn=params.get("RoleArn"),
            tags={t["Key"]: t["Value"] for t in params.get("Tags") or []},
        )
        return {"RuleArn": rule.arn}

    async def describe_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return rule_output(book.rule(bus_key(ctx, params), params["Name"]), described=True)

    async def list_rules(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rules, token = book.list_rules(
            bus_key(ctx, params),
            params.get("NamePrefix"),
            params.get("Limit"),
            params.get("NextToken"),
        )
        out: dict[str, Any] = {"Rules": [rule_output(r, described=False) for r in rules]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def list_rule_names(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        names, token = book.rule_names_by_target(
            bus_key(ctx, params),
            params["TargetArn"],
            params.get("Limit"),
            params.get("NextToken"),
        )
        out: dict[str, Any] = {"RuleNames": names}
        if token is not None:
            out["NextToken"] = token
        return out

    async def enable_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await book.set_state(bus_key(ctx, params), params["Name"], "ENABLED")
        return {}

    async def disable_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await book.set_state(bus_key(ctx, params), params["Name"], "DISABLED")
        return {}

    async def delete_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await book.delete_rule(bus_key(ctx, params), params["Name"])
        return {}

    async def put_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        failed = await book.put_targets(
            bus_key(ctx, params), params["Rule"], list(params["Targets"])
        )
        return _failed(failed)

    async def remove_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        failed = await book.remove_targets(
            bus_key(ctx, params), params["Rule"], list(params["Ids"])
        )
        return _failed(failed)

    async def list_targets(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        targets, token = book.list_targets(
            bus_key(ctx, params), params["Rule"], params.get("Limit"), params.get("NextToken")
        )
        out: dict[str, Any] = {"Targets": [t.wire for t in targets]}
        if token is not None:
            out["NextToken"] = token
        return out

    return {
        "PutRule": put_rule,
        "DescribeRule": describe_rule,
        "ListRules": list_rules,
        "ListRuleNamesByTarget": list_rule_names,
        "EnableRule": enable_rule,
        "DisableRule": disable_rule,
        "DeleteRule": delete_rule,
        "PutTargets": put_targets,
        "RemoveTargets": remove_targets,
        "ListTargetsByRule": list_targets,
    }
