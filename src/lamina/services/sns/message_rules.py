"""What Publish and PublishBatch accept: the message, subject, structure, message
attributes and FIFO ids, with AWS's error messages (recorded in ``test_sns``)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from lamina.services.sns.errors import ParameterValueInvalid, invalid_parameter
from lamina.services.topic_ports import TopicAttribute

# AWS: a message with its attributes is at most 256 KiB.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SUBJECT_CHARS = 100
MAX_ATTRIBUTES = 10
MAX_FIFO_ID_CHARS = 128
_ATTRIBUTE_NAME_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_FIFO_ID = re.compile(r"[!-~]{1,128}")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """One message as Publish (or one PublishBatch entry) gives it."""

    message: str
    subject: str | None
    structure: str | None
    attributes: dict[str, TopicAttribute]
    group_id: str | None
    deduplication_id: str | None
    # The publisher's X-Amzn-Trace-Id (the recursion counter travels in it:
    # services/recursion.py), handed on to the functions it invokes.
    trace_header: str | None = None


def wire_attributes(raw: dict[str, Any] | None) -> dict[str, TopicAttribute]:
    """The wire's ``MessageAttributes`` (``DataType`` with ``StringValue`` or
    ``BinaryValue``) as checked ``TopicAttribute``s (Binary values in base64)."""
    attributes: dict[str, TopicAttribute] = {}
    for name, value in (raw or {}).items():
        check_attribute_name(name)
        data_type = str(value.get("DataType") or "")
        kind = data_type.split(".", 1)[0]
        string_value = value.get("StringValue")
        binary_value = value.get("BinaryValue")
        if kind not in ("String", "Number", "Binary"):
            raise ParameterValueInvalid(
                f"The message attribute '{name}' has an invalid message attribute type, the "
                "set of supported type prefixes is Binary, Number, and String."
            )
        if kind == "Binary":
            if string_value is not None and binary_value is None:
                raise ParameterValueInvalid(
                    f"The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                )
            if not binary_value:
                raise _empty(name, "Binary")
            attributes[name] = TopicAttribute(data_type, base64.b64encode(binary_value).decode())
            continue
        if binary_value is not None and string_value is None:
            raise ParameterValueInvalid(
                f"The message attribute '{name}' with type '{kind}' must use field 'String'."
            )
        if not string_value:
            raise _empty(name, kind)
        if kind == "Number" and not _NUMBER.fullmatch(string_value.strip()):
            raise ParameterValueInvalid(
                f"Could not cast message attribute '{name}' value to number."
            )
        attributes[name] = TopicAttribute(data_type, string_value)
    return attributes


def _empty(name: str, kind: str) -> ParameterValueInvalid:
    return ParameterValueInvalid(
        f"The message attribute '{name}' must contain non-empty message attribute value "
        f"for message attribute type '{kind}'."
    )


def check_attribute_name(name: str) -> None:
    if len(name.encode()) >= 256:
        raise ParameterValueInvalid("Length of message attribute name must be less than 256 bytes.")
    for char in name:
        if not _ATTRIBUTE_NAME_CHAR.fullmatch(char):
            raise ParameterValueInvalid(
                f"Invalid non-alphanumeric character '#x{ord(char):X}' was found in the message "
                "attribute name. Can only include alphanumeric characters, hyphens, "
                "underscores, or dots."
            )
    if name.startswith("."):
        raise ParameterValueInvalid(
            "Invalid message attribute name starting with character '.' was found."
        )
    if name.endswith("."):
        raise ParameterValueInvalid(
            "Invalid message attribute name ending with character '.' was found."
        )
    if ".." in name:
        raise ParameterValueInvalid("Message attribute name can not have successive '.' character.")


def structured_messages(message: str, structure: str | None) -> dict[str, str] | None:
    """Per-protocol messages of MessageStructure ``json`` (None without a structure)."""
    if structure is None:
        return None
    if structure != "json":
        raise invalid_parameter("MessageStructure")
    try:
        parsed = json.loads(message)
    except ValueError:
        raise invalid_parameter("Message Structure - JSON message body failed to parse") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
        raise invalid_parameter("Message Structure - No default entry in JSON message body")
    return {key: value for key, value in parsed.items() if isinstance(value, str)}


def message_bytes(request: MessageRequest) -> int:
    """The size AWS's limit counts: the message and every attribute's name, type, value."""
    total = len(request.message.encode())
    for name, attribute in request.attributes.items():
        total += len(name.encode()) + len(attribute.data_type) + len(attribute.value.encode())
    return total


def check_message(request: MessageRequest, *, fifo: bool, content_dedup: bool) -> None:
    """Everything Publish checks of one message before it is accepted."""
    if request.message == "":
        raise invalid_parameter("Empty message")
    if request.subject is not None:
        subject = request.subject
        if (
            subject == ""
            or len(subject) > MAX_SUBJECT_CHARS
            or not subject.isascii()
            or any(char in subject for char in "\r\n")
            or not subject[0].isprintable()
        ):
            raise invalid_parameter("Subject")
    if len(request.attributes) > MAX_ATTRIBUTES:
        raise invalid_parameter(
            f"MessageAttributes Reason: Number of message attributes [{len(request.attributes)}] "
            f"exceeds the allowed maximum [{MAX_ATTRIBUTES}]."
        )
    if message_bytes(request) > MAX_MESSAGE_BYTES:
        raise invalid_parameter("Message too long")
    structured_messages(request.message, request.structure)
    check_fifo_ids(request, fifo=fifo, content_dedup=content_dedup)


def check_fifo_ids(request: MessageRequest, *, fifo: bool, content_dedup: bool) -> None:
    if not fifo:
        if request.deduplication_id is not None:
            raise invalid_parameter(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
                "parameter that is not valid for this topic type"
            )
        return
    if not request.group_id:
        raise invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
    if not _FIFO_ID.fullmatch(request.group_id):
        raise invalid_parameter("MessageGroupId")
    if request.deduplication_id is None:
        if not content_dedup:
            raise invalid_parameter(
                "The topic should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
    elif not _FIFO_ID.fullmatch(request.deduplication_id):
        raise invalid_parameter("MessageDeduplicationId")
