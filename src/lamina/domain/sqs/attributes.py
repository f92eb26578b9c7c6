"""Queue attributes: names, defaults, AWS's validation of values, and how SQS renders them.

Settable attributes are kept as the strings SQS returns (``Queue.attributes``); the typed
fields of ``Queue`` are views of them (``apply_typed_views``). Validation raises AWS's errors
(recorded in tests/fixtures/aws-recorded/sqs/) and never mutates anything: callers apply
the result only once everything is valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from lamina.domain.sqs.errors import InvalidAttributeName, InvalidAttributeValue
from lamina.domain.sqs.policy import check_policy_document
from lamina.domain.sqs.queue import Queue, QueueCounts, RedrivePolicy
from lamina.domain.sqs.redrive import (
    check_redrive_allow_policy,
    check_target_type,
    parse_redrive_policy,
)

# Every name GetQueueAttributes knows (botocore's QueueAttributeName, without ``All``).
KNOWN_NAMES: Final = (
    "Policy",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "ApproximateNumberOfMessagesDelayed",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
)
_KNOWN = frozenset(KNOWN_NAMES)

# Integer attributes and their inclusive ranges.
INTEGER_RANGES: Final[Mapping[str, tuple[int, int]]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}
_SETTABLE = frozenset(
    {
        *INTEGER_RANGES,
        "Policy",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "KmsMasterKeyId",
        "SqsManagedSseEnabled",
    }
)
_FIFO_SETTABLE = frozenset(
    {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
)
# Attributes a standard queue refuses as "only when FifoQueue is set to true".
_FIFO_ONLY_WORDED = ("DeduplicationScope", "FifoThroughputLimit")
_CHOICES: Final[Mapping[str, tuple[str, ...]]] = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
_INTEGER = re.compile(r"-?[0-9]+")
_BOOLEANS = frozenset({"ContentBasedDeduplication", "SqsManagedSseEnabled", "FifoQueue"})

# What a new queue has before its CreateQueue attributes apply (recorded defaults).
STANDARD_DEFAULTS: Final[Mapping[str, str]] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
FIFO_DEFAULTS: Final[Mapping[str, str]] = {
    **STANDARD_DEFAULTS,
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
DEFAULT_KMS_REUSE_PERIOD = "300"
_EMPTY_CLEARS = frozenset({"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId"})


def fifo_of_create(name: str, attributes: Mapping[str, str]) -> bool:
    """Whether CreateQueue makes a FIFO queue: ``FifoQueue`` true and a ``.fifo`` name.

    Any other use of ``FifoQueue`` (false, or a name without the suffix) is an unknown
    attribute to AWS; a ``.fifo`` name without it is refused by the name check.
    """
    if "FifoQueue" not in attributes:
        return False
    if attributes["FifoQueue"].lower() == "true" and name.endswith(".fifo"):
        return True
    raise InvalidAttributeName("Unknown Attribute FifoQueue.")


def validate(
    changes: Mapping[str, str], *, fifo: bool, creating: bool
) -> tuple[dict[str, str], RedrivePolicy | None]:
    """AWS's checks of CreateQueue/SetQueueAttributes attributes, in request order.

    Returns the values as SQS returns them (booleans lower case, integers without
    padding, RedrivePolicy as compact JSON, Policy and RedriveAllowPolicy as sent) and the
    parsed redrive policy if one is set (its type is checked here, from the target's name;
    the target's existence is the registry's check). Raises ``InvalidAttributeName``/
    ``InvalidAttributeValue``/``InvalidParameterValue``.
    """
    out: dict[str, str] = {}
    redrive: RedrivePolicy | None = None
    for name, value in changes.items():
        _check_name(name, fifo=fifo, creating=creating, value=value)
        if name == "FifoQueue":
            out[name] = "true"
            continue
        if name == "RedrivePolicy" and value != "":
            redrive, out[name] = parse_redrive_policy(value)
            check_target_type(value, redrive, fifo)
            continue
        out[name] = _normalise(name, value)
    if out.get("KmsMasterKeyId") and out.get("SqsManagedSseEnabled") == "true":
        raise InvalidAttributeName(
            "You can use one type of server-side encryption (SSE) at one time. You can either "
            "enable KMS SSE or SQS SSE."
        )
    return out, redrive


def _check_name(name: str, *, fifo: bool, creating: bool, value: str) -> None:
    if name == "FifoQueue":
        # Recorded: a standard queue never accepts it; a FIFO queue accepts it only on
        # CreateQueue, and SetQueueAttributes refuses a change of type.
        if fifo and creating:
            return
        if fifo and value.lower() == "false":
            raise InvalidAttributeValue(
                "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is "
                "not supported."
            )
        raise InvalidAttributeName(f"Unknown Attribute {name}.")
    if name in _SETTABLE or (fifo and name in _FIFO_SETTABLE):
        return
    if name in _FIFO_ONLY_WORDED:
        raise InvalidAttributeName(
            f"You can specify the {name} only when FifoQueue is set to true."
        )
    raise InvalidAttributeName(f"Unknown Attribute {name}.")


def _invalid(name: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.")


def _normalise(name: str, value: str) -> str:
    if name in INTEGER_RANGES:
        low, high = INTEGER_RANGES[name]
        if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
            raise _invalid(name)
        return str(int(value))
    if name in _BOOLEANS:
        if value.lower() not in ("true", "false"):
            raise _invalid(name)
        return value.lower()
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise _invalid(name)
        return value
    if value != "":
        if name == "Policy":
            check_policy_document(value)
        elif name == "RedriveAllowPolicy":
            check_redrive_allow_policy(value)
    return value


def apply(current: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    """The attributes after ``changes`` (validated) apply: an empty policy or KMS key
    removes it; a KMS key turns SQS-managed encryption off, and turning that on drops the
    key."""
    out = dict(current)
    for name, value in changes.items():
        if name in _EMPTY_CLEARS and value == "":
            out.pop(name, None)
            if name == "KmsMasterKeyId":
                out.pop("KmsDataKeyReusePeriodSeconds", None)
            continue
        out[name] = value
        if name == "KmsMasterKeyId":
            out["SqsManagedSseEnabled"] = "false"
        elif name == "SqsManagedSseEnabled" and value == "true":
            out.pop("KmsMasterKeyId", None)
            out.pop("KmsDataKeyReusePeriodSeconds", None)
    return out


def current_value(attributes: Mapping[str, str], name: str) -> str | None:
    """The value CreateQueue compares a requested attribute with: an absent policy or KMS
    key equals the empty string that would clear it."""
    if name in _EMPTY_CLEARS:
        return attributes.get(name, "")
    return attributes.get(name)


def apply_typed_views(queue: Queue, redrive: RedrivePolicy | None) -> None:
    """Recompute ``queue``'s typed fields from its attributes (after any change)."""
    attributes = queue.attributes
    queue.delay_seconds = int(attributes["DelaySeconds"])
    queue.maximum_message_size = int(attributes["MaximumMessageSize"])
    queue.message_retention_period = int(attributes["MessageRetentionPeriod"])
    queue.receive_wait_time_seconds = int(attributes["ReceiveMessageWaitTimeSeconds"])
    queue.visibility_timeout = int(attributes["VisibilityTimeout"])
    queue.redrive_policy = redrive if "RedrivePolicy" in attributes else None
    queue.content_based_deduplication = attributes.get("ContentBasedDeduplication") == "true"
    queue.deduplication_scope = attributes.get("DeduplicationScope", "queue")
    queue.fifo_throughput_limit = attributes.get("FifoThroughputLimit", "perQueue")


def check_names(names: list[str]) -> None:
    """GetQueueAttributes' names: ``All`` or known names; else ``InvalidAttributeName``."""
    for name in names:
        if name != "All" and name not in _KNOWN:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")


def render(queue: Queue, names: list[str], counts: QueueCounts | None) -> dict[str, str]:
    """GetQueueAttributes' answer: the named attributes the queue has (``All``: every one).

    ``counts`` is None when no Approximate* counter was asked for.
    """
    wanted = set(KNOWN_NAMES) if "All" in names else set(names)
    out: dict[str, str] = {}
    if counts is not None:
        computed = {
            "ApproximateNumberOfMessages": str(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": str(counts.not_visible),
            "ApproximateNumberOfMessagesDelayed": str(counts.delayed),
        }
        out.update({k: v for k, v in computed.items() if k in wanted})
    if "CreatedTimestamp" in wanted:
        out["CreatedTimestamp"] = str(int(queue.created))
    if "LastModifiedTimestamp" in wanted:
        out["LastModifiedTimestamp"] = str(int(queue.last_modified))
    if "QueueArn" in wanted:
        out["QueueArn"] = queue.arn
    for name, value in queue.attributes.items():
        if name in wanted and name != "KmsDataKeyReusePeriodSeconds":
            out[name] = value
    if "KmsMasterKeyId" in queue.attributes and "KmsDataKeyReusePeriodSeconds" in wanted:
        out["KmsDataKeyReusePeriodSeconds"] = queue.attributes.get(
            "KmsDataKeyReusePeriodSeconds", DEFAULT_KMS_REUSE_PERIOD
        )
    return out


def wants_counts(names: list[str]) -> bool:
    """Whether GetQueueAttributes asked for any Approximate* counter."""
    return any(name == "All" or name.startswith("ApproximateNumberOf") for name in names)
