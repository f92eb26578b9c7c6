"""What SQS accepts in a message: body characters, attributes, ids, delay and size.

Each check raises the error AWS answers (codes and wording from the recorded responses,
tests/fixtures/aws-recorded/sqs/). The functions are pure: they look at a request and the
queue's settings, never at the queue's contents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lamina.domain.sqs.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    TooManyEntriesInBatchRequest,
)
from lamina.domain.sqs.queue import Queue
from lamina.store.sqs_records import StoredAttribute

MAX_ATTRIBUTES = 10
MAX_BATCH_ENTRIES = 10
MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_TIMEOUT = 43200
MAX_WAIT_SECONDS = 20
BATCH_REQUEST_LIMIT = 1048576

# XML 1.0's characters: what SQS allows in bodies and string attribute values.
_INVALID_CHARACTER = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ALLOWED_CHARACTERS = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
_BATCH_ENTRY_ID = re.compile(r"^[A-Za-z0-9_\-]{1,80}$")
# "alphanumeric and punctuation characters": printable ASCII without the space.
_GROUP_OR_DEDUP_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_DATA_TYPE = re.compile(r"^(String|Number|Binary)(\..+)?$")


def check_body(body: str | None) -> str:
    """A body: present, not empty, only characters SQS allows."""
    if not body:
        raise MissingParameter("The request must contain the parameter MessageBody.")
    bad = _INVALID_CHARACTER.search(body)
    if bad is not None:
        raise InvalidMessageContents(
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body,"
            f" the set of allowed characters is {_ALLOWED_CHARACTERS}"
        )
    return body


def _value(name: str, wire: Mapping[str, Any], kind: str) -> StoredAttribute:
    data_type = wire.get("DataType")
    if not data_type:
        raise InvalidParameterValue(
            f"Message ({kind}) attribute '{name}' must contain a non-empty attribute type."
        )
    match = _DATA_TYPE.match(data_type)
    if match is None or len(data_type) > 256:
        raise InvalidParameterValue(
            f"The type of message ({kind}) attribute '{name}' is invalid. You must use only"
            " the following supported type prefixes: Binary, Number, String."
        )
    base = match.group(1)
    if base == "Binary":
        binary = wire.get("BinaryValue")
        if not binary:
            raise InvalidParameterValue(
                f"Message ({kind}) attribute '{name}' must contain a non-empty value of type"
                " 'Binary'."
            )
        return (data_type, None, bytes(binary))
    text = wire.get("StringValue")
    if not text:
        raise InvalidParameterValue(
            f"Message ({kind}) attribute '{name}' must contain a non-empty value of type '{base}'."
        )
    if base == "Number":
        try:
            float(text)
        except ValueError:
            raise InvalidParameterValue(
                f"Can't cast value '{text}' of message ({kind}) attribute '{name}' to a number."
            ) from None
    if _INVALID_CHARACTER.search(text):
        raise InvalidMessageContents(
            f"Invalid binary character was found in the value of message ({kind}) attribute"
            f" '{name}', the set of allowed characters is {_ALLOWED_CHARACTERS}"
        )
    return (data_type, text, None)


def check_message_attributes(wire: Mapping[str, Any] | None) -> dict[str, StoredAttribute]:
    """User message attributes: at most 10, names as SQS allows, typed non-empty values."""
    if not wire:
        return {}
    if len(wire) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(wire)}] exceeds the allowed maximum"
            f" [{MAX_ATTRIBUTES}]."
        )
    out: dict[str, StoredAttribute] = {}
    for name, value in wire.items():
        lowered = name.lower()
        if (
            not _ATTRIBUTE_NAME.match(name)
            or name.startswith(".")
            or name.endswith(".")
            or ".." in name
        ):
            raise InvalidParameterValue(
                f"Message (user) attribute name '{name}' is invalid. Attribute names can"
                " contain only alphanumeric characters, hyphens, underscores and periods,"
                " cannot start or end with a period and cannot contain consecutive periods."
            )
        if lowered.startswith(("aws.", "amazon.")):
            raise InvalidParameterValue(
                f"Message (user) attribute name '{name}' is reserved for use by SQS."
            )
        out[name] = _value(name, value, "user")
    return out


def check_system_attributes(wire: Mapping[str, Any] | None) -> str | None:
    """The one system attribute a sender may set, ``AWSTraceHeader`` (a String)."""
    if not wire:
        return None
    trace: str | None = None
    for name, value in wire.items():
        if name != "AWSTraceHeader":
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        data_type, text, _ = _value(name, value, "system")
        if data_type != "String" or text is None:
            raise InvalidParameterValue(
                f"Message system attribute '{name}' must be of type 'String'."
            )
        trace = text
    return trace


def message_size(body: str, attributes: Mapping[str, StoredAttribute]) -> int:
    """What counts against MaximumMessageSize: the body and every attribute's parts."""
    size = len(body.encode("utf-8"))
    for name, (data_type, text, binary) in attributes.items():
        size += len(name.encode("utf-8")) + len(data_type.encode("utf-8"))
        size += len(text.encode("utf-8")) if text is not None else len(binary or b"")
    return size


def check_size(size: int, queue: Queue, *, batch_entry: bool = False) -> None:
    if size > queue.maximum_message_size:
        lead = "cannot be validated" if batch_entry else "are invalid"
        raise InvalidParameterValue(
            f"One or more parameters {lead}. Reason: Message must be shorter than"
            f" {queue.maximum_message_size} bytes."
        )


def check_delay(delay: int | None, queue: Queue) -> int:
    """The message's delay: its own (standard queues only) or the queue's."""
    if delay is None:
        return queue.delay_seconds
    if not 0 <= delay <= MAX_DELAY_SECONDS:
        raise InvalidParameterValue(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must"
            f" be >= 0 and <= {MAX_DELAY_SECONDS}."
        )
    if queue.fifo:
        if delay != 0:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request"
                " include parameter that is not valid for this queue type."
            )
        return queue.delay_seconds
    return delay


def check_group_and_dedup_ids(
    queue: Queue, group_id: str | None, dedup_id: str | None, *, in_batch: bool = False
) -> None:
    """FIFO queues need a group id and a deduplication id (or content-based dedup);
    standard queues take a group id (fair queues) but no deduplication id."""
    for parameter, value in (("MessageGroupId", group_id), ("MessageDeduplicationId", dedup_id)):
        if value is not None and not _GROUP_OR_DEDUP_ID.match(value):
            raise InvalidParameterValue(
                f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can"
                " only include alphanumeric and punctuation characters. 1 to 128 in length."
            )
    if not queue.fifo:
        if dedup_id is not None:
            raise InvalidParameterValue(
                f"Value {dedup_id} for parameter MessageDeduplicationId is invalid. Reason: The"
                " request include parameter that is not valid for this queue type."
            )
        return
    if group_id is None:
        error = InvalidParameterValue if in_batch else MissingParameter
        raise error("The request must contain the parameter MessageGroupId.")
    if dedup_id is None and not queue.content_based_deduplication:
        raise InvalidParameterValue(
            "The queue should either have ContentBasedDeduplication enabled or"
            " MessageDeduplicationId provided explicitly"
        )


def check_batch_ids(ids: list[str], entry_shape: str) -> None:
    """A batch's entry ids: 1 to 10 entries, each id well-formed, all distinct."""
    if not ids:
        raise EmptyBatchRequest(f"There should be at least one {entry_shape} in the request.")
    if len(ids) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent"
            f" {len(ids)}."
        )
    seen: set[str] = set()
    for entry_id in ids:
        if not _BATCH_ENTRY_ID.match(entry_id):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and"
                " underscores. It can be at most 80 letters long."
            )
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)


def check_range(parameter: str, value: int | None, low: int, high: int, reason: str) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidParameterValue(
            f"Value {value} for parameter {parameter} is invalid. Reason: {reason}"
        )


def check_visibility_timeout(value: int | None) -> None:
    check_range(
        "VisibilityTimeout",
        value,
        0,
        MAX_VISIBILITY_TIMEOUT,
        f"Must be >= 0 and <= {MAX_VISIBILITY_TIMEOUT}, if provided.",
    )
