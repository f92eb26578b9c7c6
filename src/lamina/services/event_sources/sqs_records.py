"""The SQS event a function receives, exactly as Lambda shapes it.

``{"Records": [record, ...]}``, each record (recorded: lambda/test_lambda_integration_sqs)::

    {"messageId", "receiptHandle", "body", "attributes": {ApproximateReceiveCount, SentTimestamp,
     [SequenceNumber, MessageGroupId,] SenderId, [MessageDeduplicationId,]
     ApproximateFirstReceiveTimestamp}, "messageAttributes": {name: {"stringValue" |
     "binaryValue" (base64), "stringListValues": [], "binaryListValues": [], "dataType"}},
     "md5OfMessageAttributes": null | hex, "md5OfBody", "eventSource": "aws:sqs",
     "eventSourceARN", "awsRegion"}

``filter_view`` is what FilterCriteria patterns see: the same record with ``body`` parsed when
it is a JSON object or array (a plain-string body stays a string, so a JSON body filter drops
it and a plain-string filter drops a JSON body, as Lambda's format rules say).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from lamina.services.queue_ports import MessageAttribute, ReceivedMessage

EVENT_SOURCE = "aws:sqs"
# Lambda's order of the system attributes; any others (AWSTraceHeader, ...) follow.
_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
)
# Bytes of the ``{"Records":[`` ... ``]}`` envelope and of each separator.
ENVELOPE_BYTES = len('{"Records":[]}')


def sqs_record(message: ReceivedMessage, queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": _attributes(message.attributes),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.message_attributes.items()
        },
        "md5OfMessageAttributes": message.md5_of_message_attributes,
        "md5OfBody": message.md5_of_body,
        "eventSource": EVENT_SOURCE,
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def encode_record(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def encode_event(encoded_records: list[bytes]) -> bytes:
    """The invocation payload from records already encoded by ``encode_record``."""
    return b'{"Records":[' + b",".join(encoded_records) + b"]}"


def filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(record)
    body = record.get("body")
    if isinstance(body, str) and body[:1] in ("{", "["):
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return view
        if isinstance(parsed, dict | list):
            view["body"] = parsed
    return view


def _attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    out = {name: attributes[name] for name in _ATTRIBUTE_ORDER if name in attributes}
    for name, value in attributes.items():
        if name not in out:
            out[name] = value
    return out


def _message_attribute(attribute: MessageAttribute) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if attribute.binary_value is not None:
        out["binaryValue"] = base64.b64encode(attribute.binary_value).decode()
    else:
        out["stringValue"] = attribute.string_value
    out["stringListValues"] = []
    out["binaryListValues"] = []
    out["dataType"] = attribute.data_type
    return out
