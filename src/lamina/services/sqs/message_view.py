"""A received message as a receiver sees it: the attributes it asked for, and their MD5.

``Delivery`` is a snapshot taken at the receive (the stored message keeps changing: later
receives bump its count); ``system_attributes`` and ``selected_attributes`` pick what a
ReceiveMessage's ``MessageSystemAttributeNames``/``AttributeNames`` and
``MessageAttributeNames`` select, as SQS does (``All``; ``*``/``.*``; ``prefix.*``; exact
names; names that match nothing select nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lamina.services.sqs.md5 import md5_of_attributes, md5_of_body
from lamina.store.sqs_records import MessageRecord, StoredAttribute

SYSTEM_ATTRIBUTE_NAMES = (
    "ApproximateFirstReceiveTimestamp",
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
    "MessageDeduplicationId",
    "MessageGroupId",
    "SenderId",
    "SentTimestamp",
    "SequenceNumber",
)


def sequence_number(seq: int) -> str:
    """A FIFO message's SequenceNumber: 20 digits, increasing with the send order."""
    return str(10**19 + seq)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to one receive."""

    message: MessageRecord
    receipt_handle: str
    receive_count: int
    first_receive_ms: int
    fifo: bool
    body: str
    attributes: dict[str, StoredAttribute]

    @property
    def md5_of_body(self) -> str:
        return md5_of_body(self.body)

    def all_system_attributes(self) -> dict[str, str]:
        m = self.message
        out = {
            "ApproximateFirstReceiveTimestamp": str(self.first_receive_ms),
            "ApproximateReceiveCount": str(self.receive_count),
            "SenderId": m.sender_id,
            "SentTimestamp": str(m.sent_ms),
        }
        if m.trace_header is not None:
            out["AWSTraceHeader"] = m.trace_header
        if m.dlq_source_arn is not None:
            out["DeadLetterQueueSourceArn"] = m.dlq_source_arn
        if m.group_id is not None:
            out["MessageGroupId"] = m.group_id
        if self.fifo:
            if m.dedup_id is not None:
                out["MessageDeduplicationId"] = m.dedup_id
            out["SequenceNumber"] = sequence_number(m.seq)
        return out

    def system_attributes(self, names: Iterable[str]) -> dict[str, str]:
        wanted = set(names)
        if not wanted:
            return {}
        everything = self.all_system_attributes()
        if "All" in wanted:
            return everything
        return {name: value for name, value in everything.items() if name in wanted}


def selected_attributes(
    attributes: dict[str, StoredAttribute], names: Iterable[str]
) -> dict[str, StoredAttribute]:
    """The message attributes ``MessageAttributeNames`` selects."""
    if not attributes:
        return {}
    exact: set[str] = set()
    prefixes: list[str] = []
    for name in names:
        if name in ("All", "*", ".*"):
            return attributes
        if name.endswith(".*"):
            prefixes.append(name[:-2])
        else:
            exact.add(name)
    if not exact and not prefixes:
        return {}
    return {
        name: value
        for name, value in attributes.items()
        if name in exact or any(name.startswith(prefix) for prefix in prefixes)
    }


def wire_attributes(attributes: dict[str, StoredAttribute]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name, (data_type, text, binary) in attributes.items():
        value: dict[str, object] = {"DataType": data_type}
        if text is not None:
            value["StringValue"] = text
        if binary is not None:
            value["BinaryValue"] = binary
        out[name] = value
    return out


def render(
    delivery: Delivery, system_names: Iterable[str], attribute_names: Iterable[str]
) -> dict[str, object]:
    """The ``Message`` shape of a ReceiveMessage answer."""
    m = delivery.message
    out: dict[str, object] = {
        "MessageId": m.message_id,
        "ReceiptHandle": delivery.receipt_handle,
        "MD5OfBody": delivery.md5_of_body,
        "Body": delivery.body,
    }
    system = delivery.system_attributes(system_names)
    if system:
        out["Attributes"] = system
    selected = selected_attributes(delivery.attributes, attribute_names)
    if selected:
        out["MD5OfMessageAttributes"] = md5_of_attributes(selected)
        out["MessageAttributes"] = wire_attributes(selected)
    return out
