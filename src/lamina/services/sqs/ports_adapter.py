"""The SQS service as Lamina's own components use it: ``QueueSource`` and ``QueueSink``.

Event source mappings receive through ``QueueSource`` (up to 10,000 messages a call, waiting
on the same waiters as ReceiveMessage: no polling loop) and destinations send through
``QueueSink``. Queues are named by ARN; a missing (or deleted) queue is ``QueueNotFound``.
Messages sent here are validated by the same rules as SendMessage (an invalid one raises the
SQS error a client would get).
"""

from __future__ import annotations

from collections.abc import Mapping

from lamina.domain.sqs.errors import QueueDoesNotExist
from lamina.domain.sqs.queue import Queue
from lamina.services.queue_ports import (
    MessageAttribute,
    QueueInfo,
    QueueNotFound,
    ReceivedMessage,
)
from lamina.services.sqs import message_rules as rules
from lamina.services.sqs.md5 import md5_of_attributes
from lamina.services.sqs.message_view import Delivery
from lamina.services.sqs.messages import MAX_RECEIVE, MessageEngine, OutgoingMessage
from lamina.store.sqs_records import StoredAttribute


def _received(delivery: Delivery) -> ReceivedMessage:
    message = delivery.message
    return ReceivedMessage(
        message_id=message.message_id,
        receipt_handle=delivery.receipt_handle,
        body=delivery.body,
        md5_of_body=delivery.md5_of_body,
        attributes=delivery.all_system_attributes(),
        message_attributes={
            name: MessageAttribute(data_type, text, binary)
            for name, (data_type, text, binary) in delivery.attributes.items()
        },
        md5_of_message_attributes=md5_of_attributes(delivery.attributes),
    )


class SqsQueuePorts:
    """``QueueSource`` and ``QueueSink`` over the message engine."""

    def __init__(self, engine: MessageEngine) -> None:
        self.engine = engine

    def _queue(self, arn: str) -> Queue:
        queue = self.engine.queues.by_arn(arn)
        if queue is None or queue.deleted:
            raise QueueNotFound(arn)
        return queue

    def describe(self, arn: str) -> QueueInfo:
        queue = self._queue(arn)
        return QueueInfo(queue.arn, queue.url, queue.fifo, queue.visibility_timeout)

    async def receive(
        self,
        arn: str,
        max_messages: int,
        wait_seconds: float,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        queue = self._queue(arn)
        limit = max(1, min(max_messages, MAX_RECEIVE))
        try:
            deliveries = await self.engine.receive(queue, limit, wait_seconds, visibility_timeout)
        except QueueDoesNotExist:
            raise QueueNotFound(arn) from None
        return [_received(delivery) for delivery in deliveries]

    async def delete(self, arn: str, receipt_handles: list[str]) -> None:
        queue = self._queue(arn)
        try:
            await self.engine.delete(queue, receipt_handles)
        except QueueDoesNotExist:
            raise QueueNotFound(arn) from None

    async def change_visibility(self, arn: str, receipt_handles: list[str], timeout: int) -> None:
        queue = self._queue(arn)
        timeout = max(0, min(timeout, rules.MAX_VISIBILITY_TIMEOUT))
        try:
            await self.engine.change_visibility(
                queue, [(handle, timeout) for handle in receipt_handles]
            )
        except QueueDoesNotExist:
            raise QueueNotFound(arn) from None

    async def send(
        self,
        arn: str,
        body: str,
        message_attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        message_group_id: str | None = None,
        deduplication_id: str | None = None,
        trace_header: str | None = None,
    ) -> str:
        queue = self._queue(arn)
        if not queue.fifo:
            # Groups and deduplication ids are FIFO queues' (the port's contract): a producer
            # need not know the queue's type.
            message_group_id = deduplication_id = None
        wire = {
            name: _wire_attribute(attribute)
            for name, attribute in (message_attributes or {}).items()
        }
        attributes: dict[str, StoredAttribute] = rules.check_message_attributes(wire)
        checked = rules.check_body(body)
        rules.check_size(rules.message_size(checked, attributes), queue)
        rules.check_group_and_dedup_ids(queue, message_group_id, deduplication_id)
        message = OutgoingMessage(
            checked,
            attributes,
            trace_header=trace_header,
            delay_seconds=queue.delay_seconds,
            group_id=message_group_id,
            dedup_id=deduplication_id,
        )
        try:
            [result] = await self.engine.send(queue, queue.account_id, [message])
        except QueueDoesNotExist:
            raise QueueNotFound(arn) from None
        return result.message_id


def _wire_attribute(attribute: MessageAttribute) -> dict[str, object]:
    out: dict[str, object] = {"DataType": attribute.data_type}
    if attribute.string_value is not None:
        out["StringValue"] = attribute.string_value
    if attribute.binary_value is not None:
        out["BinaryValue"] = attribute.binary_value
    return out
