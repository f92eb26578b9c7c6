"""EventBridge Scheduler's handlers (rest-json): wire dicts in, typed calls to
``SchedulerService``, wire dicts out (timestamps as epoch seconds).

Each request is first checked against botocore's model of its input (required members,
lengths, patterns, enums, ranges), every failure collected into one ValidationException
("N validation error(s) detected: Value ... at 'member' failed to satisfy constraint: ...",
the wording of AWS's model validation; member paths in lowerCamelCase).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from lamina.api.model import load_model
from lamina.api.model_constraints import ConstraintStyle, ModelConstraints
from lamina.domain.context import RequestContext
from lamina.domain.names import constraint_error, validation_message
from lamina.services.scheduler.errors import SchedulerValidationException
from lamina.services.scheduler.records import (
    DEFAULT_GROUP,
    GroupRecord,
    ScheduleRecord,
    TargetRecord,
)
from lamina.services.scheduler.service import SchedulerService, ScheduleSpec

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]
KNOWN_TARGET_MEMBERS = ("Arn", "RoleArn", "Input", "RetryPolicy", "DeadLetterConfig")


def scheduler_handlers(service: SchedulerService) -> dict[str, Handler]:
    """The operations Lamina serves, by botocore's operation name."""

    async def create_schedule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("CreateScheduleInput", params)
        schedule = await service.create(ctx.region, ctx.account_id, _spec(params))
        return {"ScheduleArn": schedule.arn}

    async def update_schedule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("UpdateScheduleInput", params)
        schedule = await service.update(ctx.region, ctx.account_id, _spec(params))
        return {"ScheduleArn": schedule.arn}

    async def get_schedule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("GetScheduleInput", params)
        schedule = service.get(ctx.region, ctx.account_id, params.get("GroupName"), params["Name"])
        return schedule_output(schedule)

    async def delete_schedule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("DeleteScheduleInput", params)
        await service.delete(ctx.region, ctx.account_id, params.get("GroupName"), params["Name"])
        return {}

    async def list_schedules(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("ListSchedulesInput", params)
        schedules, token = service.listing(
            ctx.region,
            ctx.account_id,
            group=params.get("GroupName"),
            prefix=params.get("NamePrefix"),
            state=params.get("State"),
            max_results=params.get("MaxResults"),
            next_token=params.get("NextToken"),
        )
        out: dict[str, Any] = {"Schedules": [_schedule_summary(s) for s in schedules]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def create_group(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("CreateScheduleGroupInput", params)
        group = await service.groups.create(
            ctx.region,
            ctx.account_id,
            params["Name"],
            _tags(params),
            service.clock.timestamp(),
            params.get("ClientToken"),
        )
        return {"ScheduleGroupArn": group.arn}

    async def get_group(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("GetScheduleGroupInput", params)
        return _group_output(service.groups.get(ctx.region, ctx.account_id, params["Name"]))

    async def delete_group(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("DeleteScheduleGroupInput", params)
        await service.delete_group(ctx.region, ctx.account_id, params["Name"])
        return {}

    async def list_groups(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("ListScheduleGroupsInput", params)
        groups, token = service.groups.listing(
            ctx.region,
            ctx.account_id,
            params.get("NamePrefix"),
            params.get("MaxResults"),
            params.get("NextToken"),
        )
        out: dict[str, Any] = {"ScheduleGroups": [_group_output(g) for g in groups]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("TagResourceInput", params)
        now = service.clock.timestamp()
        await service.groups.tag(
            ctx.region, ctx.account_id, params["ResourceArn"], _tags(params), now
        )
        return {}

    async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("UntagResourceInput", params)
        now = service.clock.timestamp()
        keys = list(params["TagKeys"])
        await service.groups.untag(ctx.region, ctx.account_id, params["ResourceArn"], keys, now)
        return {}

    async def list_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _validate("ListTagsForResourceInput", params)
        group = service.groups.by_arn(ctx.region, ctx.account_id, params["ResourceArn"])
        return {"Tags": [{"Key": key, "Value": value} for key, value in group.tags]}

    return {
        "CreateSchedule": create_schedule,
        "UpdateSchedule": update_schedule,
        "GetSchedule": get_schedule,
        "DeleteSchedule": delete_schedule,
        "ListSchedules": list_schedules,
        "CreateScheduleGroup": create_group,
        "GetScheduleGroup": get_group,
        "DeleteScheduleGroup": delete_group,
        "ListScheduleGroups": list_groups,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTagsForResource": list_tags,
    }


# --- wire -> typed ----------------------------------------------------------------------------


def _spec(params: dict[str, Any]) -> ScheduleSpec:
    window = params["FlexibleTimeWindow"]
    minutes = window.get("MaximumWindowInMinutes")
    if window["Mode"] == "FLEXIBLE" and minutes is None:
        raise SchedulerValidationException(
            "MaximumWindowInMinutes must be provided when the flexible time window mode is"
            " FLEXIBLE."
        )
    return ScheduleSpec(
        name=params["Name"],
        group=params.get("GroupName") or DEFAULT_GROUP,
        expression=params["ScheduleExpression"],
        timezone=params.get("ScheduleExpressionTimezone") or "UTC",
        target=_target(params["Target"]),
        state=params.get("State") or "ENABLED",
        description=params.get("Description"),
        start_date=_epoch(params.get("StartDate"), "startDate"),
        end_date=_epoch(params.get("EndDate"), "endDate"),
        flexible_window_minutes=minutes if window["Mode"] == "FLEXIBLE" else None,
        action_after_completion=params.get("ActionAfterCompletion") or "NONE",
        kms_key_arn=params.get("KmsKeyArn"),
        client_token=params.get("ClientToken"),
    )


def _target(target: dict[str, Any]) -> TargetRecord:
    retry = target.get("RetryPolicy") or {}
    sqs = target.get("SqsParameters") or {}
    events = target.get("EventBridgeParameters") or {}
    defaults = TargetRecord("", "")
    other = {k: v for k, v in target.items() if k not in KNOWN_TARGET_MEMBERS}
    return TargetRecord(
        arn=target["Arn"],
        role_arn=target["RoleArn"],
        input=target.get("Input"),
        max_retry_attempts=retry.get("MaximumRetryAttempts", defaults.max_retry_attempts),
        max_event_age=retry.get("MaximumEventAgeInSeconds", defaults.max_event_age),
        dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
        message_group_id=sqs.get("MessageGroupId"),
        detail_type=events.get("DetailType"),
        source=events.get("Source"),
        other=other,
    )


def _tags(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(tag["Key"], tag["Value"]) for tag in params.get("Tags") or ()]


def _epoch(value: Any, member: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise SchedulerValidationException(
        validation_message([constraint_error(member, value, "Member must be a timestamp")])
    )


# --- typed -> wire ----------------------------------------------------------------------------


def schedule_output(schedule: ScheduleRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ActionAfterCompletion": schedule.action_after_completion,
        "Arn": schedule.arn,
        "CreationDate": schedule.created,
        "FlexibleTimeWindow": (
            {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": schedule.flexible_window_minutes}
            if schedule.flexible_window_minutes
            else {"Mode": "OFF"}
        ),
        "GroupName": schedule.group,
        "LastModificationDate": schedule.modified,
        "Name": schedule.name,
        "ScheduleExpression": schedule.expression,
        "ScheduleExpressionTimezone": schedule.timezone,
        "State": schedule.state,
        "Target": _target_output(schedule.target),
    }
    optional = {
        "Description": schedule.description,
        "StartDate": schedule.start_date,
        "EndDate": schedule.end_date,
        "KmsKeyArn": schedule.kms_key_arn,
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    return out


def _target_output(target: TargetRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Arn": target.arn,
        "RoleArn": target.role_arn,
        "RetryPolicy": {
            "MaximumEventAgeInSeconds": target.max_event_age,
            "MaximumRetryAttempts": target.max_retry_attempts,
        },
    }
    if target.input is not None:
        out["Input"] = target.input
    if target.dead_letter_arn is not None:
        out["DeadLetterConfig"] = {"Arn": target.dead_letter_arn}
    out.update(target.other)
    return out


def _schedule_summary(schedule: ScheduleRecord) -> dict[str, Any]:
    return {
        "Arn": schedule.arn,
        "CreationDate": schedule.created,
        "GroupName": schedule.group,
        "LastModificationDate": schedule.modified,
        "Name": schedule.name,
        "State": schedule.state,
        "Target": {"Arn": schedule.target.arn},
    }


def _group_output(group: GroupRecord) -> dict[str, Any]:
    return {
        "Arn": group.arn,
        "CreationDate": group.created,
        "LastModificationDate": group.modified,
        "Name": group.name,
        "State": "ACTIVE",
    }


# --- shape validation -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _shapes() -> dict[str, Any]:
    shapes: dict[str, Any] = load_model("scheduler")["shapes"]
    return shapes


def _validate(shape_name: str, params: dict[str, Any]) -> None:
    shapes = _shapes()
    errors = ModelConstraints(shapes, ConstraintStyle()).errors(params, shapes[shape_name])
    if errors:
        raise SchedulerValidationException(validation_message(errors))
