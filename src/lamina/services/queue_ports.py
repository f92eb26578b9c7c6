"""What Lamina's own components need from the queue service, as interfaces.

The SQS-compatible service (``lamina.services.sqs``) implements both; event source mappings
(the poller) depend on ``QueueSource``, asynchronous-invocation destinations and dead-letter
queues on ``QueueSink``. Queues are named by ARN (``arn:aws:sqs:<region>:<account>:<name>``),
so the region and account of a mapping or destination select the queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class QueueNotFound(Exception):
    """No queue has this ARN (never created, or deleted)."""


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """A message attribute as SQS's API has it (``DataType`` ``String``, ``Number``,
    ``Binary`` or one of those with a ``.custom`` suffix)."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class QueueInfo:
    arn: str
    url: str
    fifo: bool
    visibility_timeout: int


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    # System attributes by SQS's names: ApproximateReceiveCount, SentTimestamp, SenderId,
    # ApproximateFirstReceiveTimestamp; FIFO queues add SequenceNumber, MessageGroupId,
    # MessageDeduplicationId. Values as SQS renders them (strings).
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)
    md5_of_message_attributes: str | None = None


class QueueSource(Protocol):
    """Reading a queue as a consumer (an event source mapping's poller)."""

    def describe(self, arn: str) -> QueueInfo:
        """The queue's identity and settings; ``QueueNotFound`` if there is none."""
        ...

    async def receive(
        self,
        arn: str,
        max_messages: int,
        wait_seconds: float,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        """Up to ``max_messages`` (may exceed SQS's API limit of 10) visible messages, made
        invisible for ``visibility_timeout`` (the queue's default when None), with every
        system attribute. Waits up to ``wait_seconds`` for the first message, waking the
        moment one arrives (no polling loop). FIFO queues obey their group rules.
        ``QueueNotFound`` if the queue is gone."""
        ...

    async def delete(self, arn: str, receipt_handles: list[str]) -> None:
        """Delete received messages (stale or unknown handles are ignored)."""
        ...

    async def change_visibility(self, arn: str, receipt_handles: list[str], timeout: int) -> None:
        """Make received messages visible again after ``timeout`` seconds (0: now)."""
        ...


class QueueSink(Protocol):
    """Sending to a queue as a producer (destinations, dead-letter queues)."""

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
        """Store a message durably; returns its id. ``QueueNotFound`` if there is no queue
        with this ARN. FIFO queues need ``message_group_id`` (deduplicated by content
        when the queue has content-based deduplication and no id is given); standard queues
        ignore both ids, so a producer may pass them whatever the queue's type.
        ``trace_header``: the message's ``AWSTraceHeader`` (the X-Ray header of what caused
        it: the recursion counter travels in it, services/recursion.py)."""
        ...


class QueuePorts(QueueSource, QueueSink, Protocol):
    """Both sides, as the queue service offers them to a region's Lambda."""
