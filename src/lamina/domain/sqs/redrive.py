"""RedrivePolicy and RedriveAllowPolicy: parsing and AWS's checks of the two JSON attributes
that tie a queue to its dead-letter queue.

Checks run in AWS's order and raise its errors: a document that is not a JSON map is an
``InvalidAttributeValue`` ("Invalid value for the parameter ..."), a map with a bad member an
``InvalidParameterValue`` quoting the value as sent ("Value ... for parameter ... is invalid").
"""

from __future__ import annotations

import json
from typing import Any

from lamina.domain.sqs.errors import InvalidAttributeValue, InvalidParameterValue
from lamina.domain.sqs.queue import RedrivePolicy

MAX_RECEIVE_COUNT = 1000
MAX_SOURCE_QUEUE_ARNS = 10
_REDRIVE_MEMBERS = frozenset({"deadLetterTargetArn", "maxReceiveCount"})
_ALLOW_MEMBERS = frozenset({"redrivePermission", "sourceQueueArns"})
_PERMISSIONS = ("allowAll", "denyAll", "byQueue")
_ALLOW_REFUSED = "Amazon SQS can't create the redrive allow policy"


def _invalid(parameter: str, raw: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Value {raw} for parameter {parameter} is invalid. Reason: {reason}"
    )


def _json_map(raw: str) -> dict[str, Any] | None:
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def parse_redrive_policy(raw: str) -> tuple[RedrivePolicy, str]:
    """The policy in ``raw`` and its normalised text (compact JSON, ``maxReceiveCount`` a
    number, as SQS returns it). Whether the target exists is the registry's check; whether
    it is of the source's type is ``check_target_type``'s."""
    document = _json_map(raw)
    if document is None:
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a "
            "valid JSON map."
        )
    for mandatory in ("maxReceiveCount", "deadLetterTargetArn"):
        if mandatory not in document:
            raise _invalid(
                "RedrivePolicy",
                raw,
                f"Redrive policy does not contain mandatory attribute: {mandatory}.",
            )
    if set(document) - _REDRIVE_MEMBERS:
        raise _invalid(
            "RedrivePolicy",
            raw,
            "Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn].",
        )
    count = document["maxReceiveCount"]
    number = _as_int(count)
    if number is None or not 1 <= number <= MAX_RECEIVE_COUNT:
        raise _invalid(
            "RedrivePolicy",
            raw,
            f"Invalid value for maxReceiveCount: {count}, valid values are from 1 to "
            f"{MAX_RECEIVE_COUNT} both inclusive.",
        )
    target = document["deadLetterTargetArn"]
    if not isinstance(target, str) or not _is_sqs_arn(target):
        raise _invalid(
            "RedrivePolicy", raw, "Only SQS queues are valid resources for deadLetterTargetArn."
        )
    policy = RedrivePolicy(dead_letter_target_arn=target, max_receive_count=number)
    text = json.dumps(
        {"deadLetterTargetArn": target, "maxReceiveCount": number}, separators=(",", ":")
    )
    return policy, text


def check_target_type(raw: str, policy: RedrivePolicy, source_fifo: bool) -> None:
    """A FIFO queue's dead-letter queue is a FIFO queue and a standard one's a standard one
    (judged by the target's name, before its existence, as AWS does)."""
    if policy.dead_letter_target_arn.endswith(".fifo") != source_fifo:
        raise invalid_target(raw, "Dead-letter queue must be same type of queue as the source..")


def _is_sqs_arn(value: str) -> bool:
    parts = value.split(":")
    return len(parts) >= 6 and parts[0] == "arn" and parts[2] == "sqs"


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isascii() and value.lstrip("-").isdigit():
        return int(value)
    return None


def parsed_text(text: str) -> RedrivePolicy:
    """The policy of a stored (already validated, normalised) RedrivePolicy attribute."""
    document = json.loads(text)
    return RedrivePolicy(
        dead_letter_target_arn=str(document["deadLetterTargetArn"]),
        max_receive_count=int(document["maxReceiveCount"]),
    )


def invalid_target(raw: str, reason: str) -> InvalidParameterValue:
    """The error of a policy whose target is missing or unsuitable (``reason`` as AWS words
    it, e.g. "Dead letter target does not exist.")."""
    return _invalid("RedrivePolicy", raw, reason)


def check_redrive_allow_policy(raw: str) -> None:
    """AWS's checks of a RedriveAllowPolicy (the value is stored as sent)."""
    document = _json_map(raw)
    unsupported = InvalidAttributeValue(
        "Invalid value for the parameter RedriveAllowPolicy. Reason: "
        f"{_ALLOW_REFUSED}, as it\u2019s in an unsupported format."
    )
    if document is None or set(document) - _ALLOW_MEMBERS:
        raise unsupported
    permission = document.get("redrivePermission")
    sources = document.get("sourceQueueArns")
    if permission not in _PERMISSIONS:
        raise unsupported
    if sources is not None and (
        not isinstance(sources, list) or not all(isinstance(arn, str) for arn in sources)
    ):
        raise unsupported
    if permission == "byQueue":
        if not sources:
            raise _invalid(
                "RedriveAllowPolicy",
                raw,
                f"{_ALLOW_REFUSED}. When you specify the byQueue permission type, you must "
                "also specify one or more sourceQueueArns values.",
            )
        if len(sources) > MAX_SOURCE_QUEUE_ARNS:
            raise _invalid(
                "RedriveAllowPolicy",
                raw,
                f"{_ALLOW_REFUSED}. The maximum number of source queue ARNs you can specify "
                f"is {MAX_SOURCE_QUEUE_ARNS}.",
            )
    elif sources:
        raise _invalid(
            "RedriveAllowPolicy",
            raw,
            f"{_ALLOW_REFUSED}. To specify one or more source queue ARNs, you must set "
            "redrivePermission to byQueue.",
        )
