"""SQS queues as destinations and dead-letter queues of asynchronous invocations.

AWS sends a queue destination the invocation record as the message body; a dead-letter
queue gets the original event as the body with the message attributes ``RequestID``,
``ErrorCode`` and ``ErrorMessage`` (``domain.destinations.dead_letter_attributes``). A
missing queue is a failed delivery: retried with backoff, counted, and kept once the event is
too old (``services.async_invoke``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.domain.destinations import DeliveryFailed
from lamina.services.queue_ports import MessageAttribute, QueueNotFound, QueueSink


class QueueDestination:
    def __init__(self, sink: QueueSink) -> None:
        self.sink = sink

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        attributes = _attributes(delivery.get("attributes") or {})
        text = body.decode("utf-8", "replace")
        try:
            await self.sink.send(
                target,
                text,
                attributes or None,
                # For a FIFO queue: one group per function keeps its failures in order; the
                # request id deduplicates a delivery retried after a restart.
                message_group_id=str(delivery.get("function") or "lambda"),
                deduplication_id=str(delivery.get("requestId") or "") or None,
            )
        except QueueNotFound:
            raise DeliveryFailed(f"the queue {target} does not exist") from None
        except Exception as exc:  # noqa: BLE001 - any refusal of the queue is a failed delivery
            raise DeliveryFailed(f"the queue {target} refused the message: {exc}") from None


def _attributes(raw: Mapping[str, Any]) -> dict[str, MessageAttribute]:
    out: dict[str, MessageAttribute] = {}
    for name, value in raw.items():
        if isinstance(value, Mapping):
            out[name] = MessageAttribute(
                str(value.get("DataType", "String")), string_value=value.get("StringValue")
            )
    return out
