"""How other services (EventBridge targets, asynchronous invocation destinations) publish to an
SNS topic. The contract only: the SNS service implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TopicNotFound(Exception):
    """No topic has that ARN (or it names an account or region Lamina does not serve)."""


class TopicRejected(Exception):
    """The topic exists but refused the message (too large, a FIFO topic without a group
    id, ...): retrying the same message cannot succeed. The message says why."""


@dataclass(frozen=True, slots=True)
class TopicAttribute:
    """One message attribute as SNS takes it: ``data_type`` String, String.Array, Number or
    Binary; ``value`` the string form (Binary: base64)."""

    data_type: str
    value: str


class TopicSink(Protocol):
    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: dict[str, TopicAttribute] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        """Publish one message; returns its message id once the fan-out is durable. Raises
        ``TopicNotFound`` or ``TopicRejected``."""
        ...
