"""Asynchronous invocation: the invocation record sent to destinations, the retry schedule,
and the validation of destination ARNs. Pure: no I/O.

The record (lambda-spec §5.1, checked against AWS's recordings)::

    {"version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
     "requestContext": {"requestId", "functionArn" (qualified), "condition",
                        "approximateInvokeCount"},
     "requestPayload": <the event>,
     "responseContext": {"statusCode", "executedVersion", ["functionError"]},
     "responsePayload": <the function's result or error>}

``responseContext`` and ``responsePayload`` are absent when the function never ran (an event
refused because the reserved concurrency is 0, or one that expired while throttled).

A ``Destination`` delivers a record (or, for a dead-letter queue, the original event) to one
kind of target, chosen by the service of the target's ARN (``lambda``, ``sqs``, ``sns``,
``events``, ``s3``). ``services.async_invoke`` holds one implementation per service.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from lamina.domain import names
from lamina.domain.errors import InvalidParameterValueException

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
ZERO_RESERVED_CONCURRENCY = "ZeroReservedConcurrency"

# EventInvokeConfig defaults and ranges (botocore: MaximumRetryAttempts 0-2,
# MaximumEventAgeInSeconds 60-21600).
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_EVENT_AGE = 21600
MIN_EVENT_AGE, MAX_EVENT_AGE = 60, 21600
MAX_RETRIES = 2
# AWS retries a function error after about one minute, and again about two minutes later.
FUNCTION_ERROR_DELAYS = (60.0, 120.0)
# Throttles, platform errors and failed deliveries: exponential backoff from 1 s, capped.
BACKOFF_START = 1.0
BACKOFF_CAP = 300.0

DESTINATION_ARN_MAX = 350
DESTINATION_PATTERN = (
    r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
# Services AWS accepts as asynchronous-invocation destinations (S3: on failure only).
DESTINATION_SERVICES = frozenset({"lambda", "sqs", "sns", "events", "s3"})
ERROR_MESSAGE_LIMIT = 1024


def function_error_delay(errors: int) -> float:
    """Seconds before the retry that follows the ``errors``-th function error (1 or 2)."""
    return FUNCTION_ERROR_DELAYS[min(errors, len(FUNCTION_ERROR_DELAYS)) - 1]


def backoff(retries: int) -> float:
    """Seconds before retry number ``retries`` (1, 2, ...) of a throttled event or delivery."""
    return min(BACKOFF_START * 2.0 ** max(retries - 1, 0), BACKOFF_CAP)


def iso_timestamp(epoch: float) -> str:
    """``2019-11-14T18:16:05.568Z``."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- the response of one attempt, and the record ------------------------------------------


@dataclass(frozen=True)
class Response:
    """What the function answered on an attempt (kept with the event between attempts)."""

    executed_version: str
    function_error: str | None
    payload: bytes
    status_code: int = 200

    def to_json(self) -> str:
        return json.dumps(
            {
                "statusCode": self.status_code,
                "executedVersion": self.executed_version,
                "functionError": self.function_error,
                "payload": base64.b64encode(self.payload).decode(),
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> Response | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(
            executed_version=data["executedVersion"],
            function_error=data.get("functionError"),
            payload=base64.b64decode(data["payload"]),
            status_code=int(data.get("statusCode", 200)),
        )

    def error_message(self) -> str:
        """The error's ``errorMessage`` (for a dead-letter message's ErrorMessage)."""
        document = _json_or_text(self.payload)
        if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
            text = str(document["errorMessage"])
        else:
            text = self.payload.decode("utf-8", "replace")
        return text.encode()[:ERROR_MESSAGE_LIMIT].decode("utf-8", "ignore")


def _json_or_text(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode("utf-8", "replace")


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    response: Response | None,
    timestamp: float,
) -> dict[str, Any]:
    """The record of an asynchronous invocation, in AWS's member order."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_timestamp(timestamp),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _json_or_text(request_payload),
    }
    if response is not None:
        context: dict[str, Any] = {
            "statusCode": response.status_code,
            "executedVersion": response.executed_version,
        }
        if response.function_error is not None:
            context["functionError"] = response.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(response.payload)
    return record


def dead_letter_attributes(
    request_id: str, response: Response | None, condition: str
) -> dict[str, Any]:
    """The message attributes AWS puts on a dead-letter message (RequestID, ErrorCode,
    ErrorMessage; lambda-spec §5.1). Without a response (never ran): 429 and the condition."""
    if response is not None:
        code, message = str(response.status_code), response.error_message()
    else:
        code, message = "429", condition
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": code},
        "ErrorMessage": {"DataType": "String", "StringValue": message},
    }


# --- destination ARNs ---------------------------------------------------------------------


class DeliveryFailed(Exception):
    """A destination could not take a record now (retried with backoff, and counted)."""


class Destination(Protocol):
    """Delivers to the targets of one ARN service."""

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        """Deliver ``body`` to ``target`` or raise ``DeliveryFailed``. ``delivery`` describes
        it: ``kind`` (``destination`` or ``dead-letter``), ``function``, ``requestId`` and,
        for a dead letter, the message ``attributes``."""
        ...


def arn_service(arn: str) -> str | None:
    """The service of an ``arn:partition:service:...`` ARN, or None."""
    parts = arn.split(":", 3)
    if len(parts) < 4 or parts[0] != "arn":
        return None
    return parts[2]


@dataclass(frozen=True)
class DestinationConfig:
    on_success: str | None = None
    on_failure: str | None = None

    def to_wire(self) -> dict[str, Any]:
        def one(arn: str | None) -> dict[str, str]:
            return {"Destination": arn} if arn else {}

        return {"OnSuccess": one(self.on_success), "OnFailure": one(self.on_failure)}


def destination_errors(config: Any) -> list[str]:
    """Shape errors of a DestinationConfig (pattern, length), as the validator lists them."""
    errors: list[str] = []
    if not isinstance(config, dict):
        return errors
    for key, member in (("OnSuccess", "onSuccess"), ("OnFailure", "onFailure")):
        target = config.get(key)
        if not isinstance(target, dict):
            continue
        arn = target.get("Destination")
        if not isinstance(arn, str):
            continue
        path = f"destinationConfig.{member}.destination"
        if len(arn) > DESTINATION_ARN_MAX:
            errors.append(
                names.constraint_error(
                    path,
                    arn,
                    f"Member must have length less than or equal to {DESTINATION_ARN_MAX}",
                )
            )
        if not re.fullmatch(DESTINATION_PATTERN, arn):
            errors.append(
                names.constraint_error(
                    path,
                    arn,
                    f"Member must satisfy regular expression pattern: {DESTINATION_PATTERN}",
                )
            )
    return errors


def parse_destination_config(config: Any) -> tuple[DestinationConfig, bool, bool]:
    """The ARNs of a (shape-valid) DestinationConfig, and whether OnSuccess / OnFailure were
    given at all (an Update replaces only what it names)."""
    if not isinstance(config, dict):
        return DestinationConfig(), False, False

    def arn(key: str) -> str | None:
        target = config.get(key)
        value = target.get("Destination") if isinstance(target, dict) else None
        return value or None

    return (
        DestinationConfig(on_success=arn("OnSuccess"), on_failure=arn("OnFailure")),
        "OnSuccess" in config,
        "OnFailure" in config,
    )


def invalid_destination_config(config: DestinationConfig) -> InvalidParameterValueException:
    """AWS's message (recorded: put_destination_invalid_service_arn), Java's toString."""

    def one(kind: str, arn: str | None) -> str:
        return f"{kind}(destination={arn})" if arn else "null"

    text = (
        f"DestinationConfig(onSuccess={one('OnSuccess', config.on_success)}, "
        f"onFailure={one('OnFailure', config.on_failure)})"
    )
    return InvalidParameterValueException(f"The provided destination config {text} is invalid.")


def check_destination_services(config: DestinationConfig) -> None:
    """Only services AWS delivers to (S3 only on failure); anything else is AWS's error."""
    success = arn_service(config.on_success) if config.on_success else None
    failure = arn_service(config.on_failure) if config.on_failure else None
    if config.on_success and (success not in DESTINATION_SERVICES or success == "s3"):
        raise invalid_destination_config(config)
    if config.on_failure and failure not in DESTINATION_SERVICES:
        raise invalid_destination_config(config)
