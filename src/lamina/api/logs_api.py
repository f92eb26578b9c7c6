"""The CloudWatch Logs wire protocol (awsJson1_1) for function logs.

``POST /`` with ``X-Amz-Target: Logs_20140328.<Operation>`` and a JSON body. Errors are
``{"__type": ..., "message": ...}`` with status 400; an unexpected exception is logged and
answered with a generic 500 body, never a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

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


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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


def _group_arn(logs: LogService, name: str) -> str:
    return f"arn:aws:logs:{logs.region}:{logs.account}:log-group:{name}"


def _group_json(logs: LogService, group: LogGroupInfo) -> Json:
    arn = _group_arn(logs, group.name)
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


def _stream_json(logs: LogService, group: str, stream: LogStreamInfo) -> Json:
    out: Json = {
        "logStreamName": stream.name,
        "creationTime": stream.creation_time,
        "arn": f"{_group_arn(logs, group)}:log-stream:{stream.name}",
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


async def _describe_log_groups(logs: LogService, p: Params) -> Json:
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
    return _with_token({"logGroups": [_group_json(logs, g) for g in page.items]}, page.next_token)


async def _describe_log_streams(logs: LogService, p: Params) -> Json:
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
    streams = [_stream_json(logs, group, s) for s in page.items]
    return _with_token({"logStreams": streams}, page.next_token)


async def _get_log_events(logs: LogService, p: Params) -> Json:
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


async def _filter_log_events(logs: LogService, p: Params) -> Json:
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


async def _create_log_group(logs: LogService, p: Params) -> Json:
    await logs.create_log_group(p.text("logGroupName", required=True, pattern=_GROUP_NAME) or "")
    return {}


async def _delete_log_group(logs: LogService, p: Params) -> Json:
    await logs.delete_log_group(p.text("logGroupName", required=True, pattern=_GROUP_NAME) or "")
    return {}


async def _put_retention_policy(logs: LogService, p: Params) -> Json:
    name = p.text("logGroupName", required=True, pattern=_GROUP_NAME) or ""
    days = p.integer("retentionInDays", -(2**63))
    if days is None:
        raise _invalid("retentionInDays", "null", "not be null")
    if days not in RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in RETENTION_DAYS)
        raise _invalid("retentionInDays", days, f"satisfy enum value set: [{allowed}]")
    await logs.put_retention_policy(name, days)
    return {}


async def _delete_retention_policy(logs: LogService, p: Params) -> Json:
    name = p.text("logGroupName", required=True, pattern=_GROUP_NAME) or ""
    await logs.put_retention_policy(name, None)
    return {}


OPERATIONS: dict[str, Callable[[LogService, Params], Awaitable[Json]]] = {
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


def _response(status: int, payload: Json) -> tuple[int, dict[str, str], bytes]:
    headers = {"content-type": CONTENT_TYPE, "x-amzn-requestid": str(uuid.uuid4())}
    return status, headers, json.dumps(payload, separators=(",", ":")).encode()


def _error(error: ApiError) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = _response(
        error.status, {"__type": error.code, "message": error.message}
    )
    headers["x-amzn-errortype"] = error.code
    return status, headers, body


def _parse_body(body: bytes) -> Json:
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise ApiError("SerializationException", "The request body is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    return payload


async def handle_logs_request(
    target: str, body: bytes, logs: LogService
) -> tuple[int, dict[str, str], bytes]:
    """Serve one CloudWatch Logs request: ``(status, headers, body)``."""
    try:
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        handler = OPERATIONS.get(operation)
        if handler is None:
            name = operation or target or "(none)"
            raise ApiError(
                "UnknownOperationException", f"Lamina does not support the operation {name}."
            )
        return _response(200, await handler(logs, Params(_parse_body(body))))
    except ApiError as exc:
        return _error(exc)
    except LogStoreError as exc:
        return _error(ApiError(exc.code, exc.message))
    except Exception:
        log.exception("unexpected error serving CloudWatch Logs %s", target)
        return _error(ApiError("ServiceUnavailableException", "An internal error occurred.", 500))
