"""CloudWatch Logs operations (awsJson1_1) on function logs.

The edge's JSON codec parses the body (``X-Amz-Target: Logs_20140328.<Operation>``) and
renders answers and errors; these handlers validate members as CloudWatch Logs does and call
the log service. ARNs name the request's region and the server's account.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.model import load_model
from lamina.api.protocols.json_protocol import JsonCodec
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.services.logs import (
    RETENTION_DAYS,
    LogGroupInfo,
    LogService,
    LogStoreError,
    LogStreamInfo,
    StoredEvent,
)

log = logging.getLogger("lamina.api.logs")

TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"
_GROUP_NAME = re.compile(r"[\.\-_/#A-Za-z0-9]+")
_GROUP_ARN = re.compile(r"arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(?::\*)?")
_STREAM_NAME = re.compile(r"[^:*]*")

Json = dict[str, Any]


class ApiError(AwsError):
    """A CloudWatch Logs error: its code is the instance's (``__type``)."""

    message_key = "message"
    typed = False

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]  # the class default is only a fallback
        self.status = status  # type: ignore[misc]


def _invalid(field: str, value: Any, constraint: str) -> ApiError:
    return ApiError(
        "InvalidParameterException",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: Member must {constraint}",
    )


class Params:
    """Typed, validated access to the members of a request body."""

    def __init__(self, body: Json) -> None:
        self._body = body

    def _get(self, name: str, kind: type | tuple[type, ...], required: bool) -> Any:
        value = self._body.get(name)
        if value is None:
            if required:
                raise _invalid(name, "null", "not be null")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise ApiError("SerializationException", f"Invalid value type for member {name}")
        return value

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        pattern: re.Pattern[str] | None = None,
        max_len: int = 512,
        min_len: int = 1,
    ) -> str | None:
        value: str | None = self._get(name, str, required)
        if value is None:
            return None
        if len(value) < min_len:
            raise _invalid(name, value, f"have length greater than or equal to {min_len}")
        if len(value) > max_len:
            raise _invalid(name, value, f"have length less than or equal to {max_len}")
        if pattern is not None and not pattern.fullmatch(value):
            raise _invalid(name, value, f"satisfy regular expression pattern: {pattern.pattern}")
        return value

    def integer(self, name: str, lo: int = 0, hi: int = 2**63 - 1) -> int | None:
        value: int | None = self._get(name, int, False)
        if value is not None and value < lo:
            raise _invalid(name, value, f"have value greater than or equal to {lo}")
        if value is not None and value > hi:
            raise _invalid(name, value, f"have value less than or equal to {hi}")
        return value

    def flag(self, name: str) -> bool | None:
        value: bool | None = self._get(name, bool, False)
        return value

    def text_list(self, name: str, lo: int, hi: int) -> list[str] | None:
        value: list[Any] | None = self._get(name, list, False)
        if value is None:
            return None
        if not lo <= len(value) <= hi:
            raise _invalid(name, value, f"have length between {lo} and {hi}")
        if not all(isinstance(item, str) for item in value):
            raise ApiError("SerializationException", f"Invalid value type for member {name}")
        return value

    def group(self, required: bool = True) -> str:
        """``logGroupName`` or ``logGroupIdentifier`` (a name or a log group ARN)."""
        name = self.text("logGroupName", pattern=_GROUP_NAME)
        ident = self.text("logGroupIdentifier", max_len=2048)
        if name is not None and ident is not None:
            raise ApiError(
                "InvalidParameterException",
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )
        if ident is not None:
            m = _GROUP_ARN.fullmatch(ident)
            name = m.group(1) if m else ident
        if name is None:
            raise ApiError(
                "InvalidParameterException",
                "Either logGroupName or logGroupIdentifier must be specified.",
            )
        return name


# --- shapes -------------------------------------------------------------------------------


def _group_arn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}"


def _group_json(ctx: RequestContext, group: LogGroupInfo) -> Json:
    arn = _group_arn(ctx, group.name)
    out: Json = {
        "logGroupName": group.name,
        "creationTime": group.creation_time,
        "metricFilterCount": 0,
        "arn": f"{arn}:*",
        "logGroupArn": arn,
        "storedBytes": group.stored_bytes,
        "logGroupClass": "STANDARD",
    }
    if group.retention_days is not None:
        out["retentionInDays"] = group.retention_days
    return out


def _stream_json(ctx: RequestContext, group: str, stream: LogStreamInfo) -> Json:
    out: Json = {
        "logStreamName": stream.name,
        "creationTime": stream.creation_time,
        "arn": f"{_group_arn(ctx, group)}:log-stream:{stream.name}",
        "storedBytes": stream.stored_bytes,
    }
    for key, value in (
        ("firstEventTimestamp", stream.first_event_timestamp),
        ("lastEventTimestamp", stream.last_event_timestamp),
        ("lastIngestionTime", stream.last_ingestion_time),
    ):
        if value is not None:
            out[key] = value
    return out


def _event_json(event: StoredEvent) -> Json:
    return {
        "timestamp": event.timestamp_ms,
        "message": event.message,
        "ingestionTime": event.ingestion_time_ms,
    }


def _with_token(out: Json, token: str | None) -> Json:
    if token is not None:
        out["nextToken"] = token
    return out


# --- operations ---------------------------------------------------------------------------


async def _describe_log_groups(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    prefix = p.text("logGroupNamePrefix", pattern=_GROUP_NAME)
    pattern = p.text("logGroupNamePattern", min_len=0)
    if prefix is not None and pattern:
        raise ApiError(
            "InvalidParameterException",
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        )
    page = await logs.describe_log_groups(
        prefix, p.integer("limit", 1, 50) or 50, p.text("nextToken", max_len=4096), pattern
    )
    return _with_token({"logGroups": [_group_json(ctx, g) for g in page.items]}, page.next_token)


async def _describe_log_streams(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    group = p.group()
    order_by = p.text("orderBy") or "LogStreamName"
    if order_by not in ("LogStreamName", "LastEventTime"):
        raise _invalid(
            "orderBy", order_by, "satisfy enum value set: [LogStreamName, LastEventTime]"
        )
    page = await logs.describe_log_streams(
        group,
        p.text("logStreamNamePrefix", pattern=_STREAM_NAME),
        order_by,
        bool(p.flag("descending")),
        p.integer("limit", 1, 50) or 50,
        p.text("nextToken", max_len=4096),
    )
    streams = [_stream_json(ctx, group, s) for s in page.items]
    return _with_token({"logStreams": streams}, page.next_token)


async def _get_log_events(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    group = p.group()
    page = await logs.get_log_events(
        group,
        p.text("logStreamName", required=True, pattern=_STREAM_NAME) or "",
        p.integer("startTime"),
        p.integer("endTime"),
        p.integer("limit", 1, 10_000),
        bool(p.flag("startFromHead")),
        p.text("nextToken", max_len=4096),
    )
    return {
        "events": [_event_json(e) for e in page.events],
        "nextForwardToken": page.next_forward_token,
        "nextBackwardToken": page.next_backward_token,
    }


async def _filter_log_events(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    group = p.group()
    page = await logs.filter_log_events(
        group,
        p.text_list("logStreamNames", 1, 100),
        p.text("logStreamNamePrefix", pattern=_STREAM_NAME),
        p.integer("startTime"),
        p.integer("endTime"),
        p.text("filterPattern", min_len=0, max_len=1024),
        p.integer("limit", 1, 10_000),
        p.text("nextToken", max_len=4096),
    )
    events = [
        {"logStreamName": e.stream, **_event_json(e), "eventId": e.event_id} for e in page.items
    ]
    return _with_token({"events": events, "searchedLogStreams": []}, page.next_token)


async def _create_log_group(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    await logs.create_log_group(p.text("logGroupName", required=True, pattern=_GROUP_NAME) or "")
    return {}


async def _delete_log_group(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    await logs.delete_log_group(p.text("logGroupName", required=True, pattern=_GROUP_NAME) or "")
    return {}


async def _put_retention_policy(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    name = p.text("logGroupName", required=True, pattern=_GROUP_NAME) or ""
    days = p.integer("retentionInDays", -(2**63))
    if days is None:
        raise _invalid("retentionInDays", "null", "not be null")
    if days not in RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in RETENTION_DAYS)
        raise _invalid("retentionInDays", days, f"satisfy enum value set: [{allowed}]")
    await logs.put_retention_policy(name, days)
    return {}


async def _delete_retention_policy(logs: LogService, ctx: RequestContext, p: Params) -> Json:
    name = p.text("logGroupName", required=True, pattern=_GROUP_NAME) or ""
    await logs.put_retention_policy(name, None)
    return {}


OPERATIONS: dict[str, Callable[[LogService, RequestContext, Params], Awaitable[Json]]] = {
    "DescribeLogGroups": _describe_log_groups,
    "DescribeLogStreams": _describe_log_streams,
    "GetLogEvents": _get_log_events,
    "FilterLogEvents": _filter_log_events,
    "CreateLogGroup": _create_log_group,
    "DeleteLogGroup": _delete_log_group,
    "PutRetentionPolicy": _put_retention_policy,
    "DeleteRetentionPolicy": _delete_retention_policy,
}


# --- entry point --------------------------------------------------------------------------


def missing_member(operation: str, member: str) -> AwsError:
    """A required member absent, as CloudWatch Logs' validator words it."""
    del operation
    return _invalid(member, "null", "not be null")


def serialization_error(message: str) -> AwsError:
    """A body that is not JSON or a member of the wrong type (CloudWatch Logs' ``__type``
    carries no namespace)."""
    return ApiError("SerializationException", message)


def logs_codec() -> JsonCodec:
    """The JSON 1.1 codec of botocore's Logs model, with CloudWatch Logs' error wording."""
    return JsonCodec(
        load_model("logs"),
        missing_parameter=missing_member,
        serialization_error=serialization_error,
    )


def internal_error(message: str) -> AwsError:
    """What CloudWatch Logs answers for a failure of its own."""
    return ApiError("ServiceUnavailableException", message, 500)


def logs_handlers(logs: LogService) -> dict[str, Handler]:
    """The edge's handlers: one per operation, with the log store's errors as the API's."""

    def bind(operation: Callable[[LogService, RequestContext, Params], Awaitable[Json]]) -> Handler:
        async def handler(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
            try:
                return await operation(logs, ctx, Params(params))
            except LogStoreError as exc:
                raise ApiError(exc.code, exc.message) from None

        return handler

    return {name: bind(operation) for name, operation in OPERATIONS.items()}
