"""EventBridge's and EventBridge Scheduler's operations as IAM sees them: rule operations act
on the rule's ARN (``rule/<name>`` on the default bus, ``rule/<bus>/<name>`` on another),
``PutEvents`` on each bus its entries name (with ``events:source`` and
``events:detail-type``), schedules on ``schedule/<group>/<name>``.
"""

from __future__ import annotations

from lamina.domain.iam_actions.rules import (
    ContextValue,
    Params,
    RequiredAccess,
    ResourceOf,
    Rule,
    Scope,
    anywhere,
    arn_param,
    table,
    text,
)

DEFAULT_BUS = "default"


def _head(scope: Scope) -> str:
    return f"arn:aws:events:{scope.region}:{scope.account}"


def bus_arn(value: str, scope: Scope) -> str:
    """The ARN of the bus a name or ARN names (the default bus when empty)."""
    if value.startswith("arn:"):
        return value
    return f"{_head(scope)}:event-bus/{value or DEFAULT_BUS}"


def _bus_name(value: str) -> str:
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def rule_arn(name: str, bus: str, scope: Scope) -> str:
    bus_name = _bus_name(bus) or DEFAULT_BUS
    if bus_name == DEFAULT_BUS:
        return f"{_head(scope)}:rule/{name}"
    return f"{_head(scope)}:rule/{bus_name}/{name}"


def _rule_named(member: str) -> ResourceOf:
    def resource(params: Params, scope: Scope) -> str:
        name = text(params, member)
        return rule_arn(name, text(params, "EventBusName"), scope) if name else "*"

    return resource


def _named(kind: str, member: str = "Name") -> ResourceOf:
    """``<kind>/<name>`` of the request's ``member``."""

    def resource(params: Params, scope: Scope) -> str:
        name = text(params, member)
        if not name:
            return "*"
        return name if name.startswith("arn:") else f"{_head(scope)}:{kind}/{name}"

    return resource


def bus(member: str) -> ResourceOf:
    def resource(params: Params, scope: Scope) -> str:
        return bus_arn(text(params, member), scope)

    return resource


def put_events(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
    """One ``events:PutEvents`` per bus the entries name, with the entries' sources and
    detail types on that bus."""
    entries = params.get("Entries")
    by_bus: dict[str, tuple[list[str], list[str]]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        sources, types = by_bus.setdefault(bus_arn(text(entry, "EventBusName"), scope), ([], []))
        if text(entry, "Source"):
            sources.append(text(entry, "Source"))
        if text(entry, "DetailType"):
            types.append(text(entry, "DetailType"))
    if not by_bus:
        return [RequiredAccess("events:PutEvents", bus_arn("", scope))]
    needs: list[RequiredAccess] = []
    for arn, (sources, types) in by_bus.items():
        keys: dict[str, ContextValue] = {}
        if sources:
            keys["events:source"] = sources
        if types:
            keys["events:detail-type"] = types
        needs.append(RequiredAccess("events:PutEvents", arn, keys))
    return needs


rule: ResourceOf = _rule_named("Name")
targets_rule: ResourceOf = _rule_named("Rule")

EVENTS: dict[str, Rule] = table(
    "events",
    {
        rule: "DeleteRule DescribeRule DisableRule EnableRule PutRule",
        targets_rule: "ListTargetsByRule PutTargets RemoveTargets",
        bus("Name"): "CreateEventBus DeleteEventBus DescribeEventBus UpdateEventBus",
        bus("EventBusName"): "PutPermission RemovePermission",
        _named("archive", "ArchiveName"): (
            "CreateArchive DeleteArchive DescribeArchive UpdateArchive"
        ),
        _named("replay", "ReplayName"): "CancelReplay DescribeReplay StartReplay",
        _named("connection"): (
            "CreateConnection DeauthorizeConnection DeleteConnection DescribeConnection "
            "UpdateConnection"
        ),
        _named("api-destination"): (
            "CreateApiDestination DeleteApiDestination DescribeApiDestination UpdateApiDestination"
        ),
        _named("endpoint"): "CreateEndpoint DeleteEndpoint DescribeEndpoint UpdateEndpoint",
        _named("event-source"): ("ActivateEventSource DeactivateEventSource DescribeEventSource"),
        arn_param("ResourceARN"): "ListTagsForResource TagResource UntagResource",
        anywhere: (
            "CreatePartnerEventSource DeletePartnerEventSource DescribePartnerEventSource "
            "ListApiDestinations ListArchives ListConnections ListEndpoints ListEventBuses "
            "ListEventSources ListPartnerEventSourceAccounts ListPartnerEventSources "
            "ListReplays ListRuleNamesByTarget ListRules PutPartnerEvents TestEventPattern"
        ),
    },
    PutEvents=put_events,
)


def _scheduler_head(scope: Scope) -> str:
    return f"arn:aws:scheduler:{scope.region}:{scope.account}"


def schedule(params: Params, scope: Scope) -> str:
    name = text(params, "Name")
    group = text(params, "GroupName", DEFAULT_BUS)
    return f"{_scheduler_head(scope)}:schedule/{group}/{name}" if name else "*"


def schedule_group(params: Params, scope: Scope) -> str:
    name = text(params, "Name")
    return f"{_scheduler_head(scope)}:schedule-group/{name}" if name else "*"


SCHEDULER: dict[str, Rule] = table(
    "scheduler",
    {
        schedule: "CreateSchedule DeleteSchedule GetSchedule UpdateSchedule",
        schedule_group: "CreateScheduleGroup DeleteScheduleGroup GetScheduleGroup",
        arn_param("ResourceArn"): "ListTagsForResource TagResource UntagResource",
        anywhere: "ListScheduleGroups ListSchedules",
    },
)
