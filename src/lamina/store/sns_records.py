"""The SNS store's rows and its port (``SnsStore``): what the topic service needs from
persistence. Every write is ``async`` and returns once committed (durable as
``--queue-durability`` defines it); loaders block and are called at start, off the loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredTopic:
    arn: str
    region: str
    account_id: str
    name: str
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    arn: str
    topic_arn: str
    owner: str
    protocol: str
    endpoint: str
    attributes: dict[str, str]
    confirmed: bool
    token: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A published notification (``body``: the service's JSON form of it)."""

    message_id: str
    topic_arn: str
    body: str


@dataclass(frozen=True, slots=True)
class NewDelivery:
    message_id: str
    subscription_arn: str
    due: float


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    delivery_id: int
    message_id: str
    subscription_arn: str
    attempts: int
    due: float


@dataclass(frozen=True, slots=True)
class DedupEntry:
    topic_arn: str
    deduplication_id: str
    message_id: str
    expires: float


@dataclass(frozen=True, slots=True)
class PendingState:
    """What a restart resumes: undelivered deliveries, their messages, live dedup ids."""

    messages: list[StoredMessage]
    deliveries: list[StoredDelivery]
    dedup: list[DedupEntry]


class SnsStore(Protocol):
    def load_topics(self) -> list[StoredTopic]: ...

    def load_subscriptions(self) -> list[StoredSubscription]: ...

    def load_pending(self, now: float) -> PendingState:
        """Deliveries not yet finished (with their messages) and dedup ids alive at ``now``."""
        ...

    async def put_topic(self, topic: StoredTopic) -> None:
        """Insert or replace a topic's row."""
        ...

    async def delete_topic(self, arn: str) -> None:
        """The topic, its subscriptions and their pending deliveries, in one transaction."""
        ...

    async def put_subscription(self, subscription: StoredSubscription) -> None:
        """Insert or replace a subscription's row."""
        ...

    async def delete_subscription(self, arn: str) -> None:
        """The subscription and its pending deliveries, in one transaction."""
        ...

    async def publish(
        self,
        messages: list[StoredMessage],
        deliveries: list[NewDelivery],
        dedup: list[DedupEntry],
    ) -> list[int]:
        """Store messages, their fan-out and the dedup ids they claim in one transaction;
        returns the deliveries' ids (in order)."""
        ...

    async def finish_deliveries(self, finished: list[tuple[int, str]]) -> None:
        """Forget finished deliveries, given as (delivery id, message id) pairs (and the
        messages no delivery needs any more)."""
        ...

    async def reschedule(self, delivery_id: int, attempts: int, due: float) -> None: ...

    async def expire_dedup(self, now: float) -> None: ...

    def close(self) -> None: ...
