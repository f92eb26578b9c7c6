"""The values the SQS store ports (``store/ports.py``: ``SqsQueueStore``, ``SqsMessageStore``)
exchange with the queue service: stored queues, messages, deduplication ids and moves.

They hold no SQL and no connection: any backend returns and accepts the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A message attribute as stored: (DataType, StringValue or None, BinaryValue or None).
StoredAttribute = tuple[str, str | None, bytes | None]

# A message's payload: its body and its message attributes.
Payload = tuple[str, dict[str, StoredAttribute]]


@dataclass(frozen=True, slots=True)
class StoredQueue:
    """One stored queue: identity, settings (attributes as SQS returns them) and tags."""

    id: int
    region: str
    account_id: str
    name: str
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]
    created: float
    last_modified: float


@dataclass(slots=True)
class MessageRecord:
    """One message as stored (and as the message engine indexes it).

    ``seq`` names the message in the store and orders it (the engine assigns it, increasing:
    FIFO order and standard-queue age follow it); ``visible_at_ms`` is when it may be received
    next (delay or visibility timeout); ``receipt_token`` names its latest receive."""

    seq: int
    queue_id: int
    message_id: str
    body: str
    message_attributes: dict[str, StoredAttribute]
    trace_header: str | None
    sender_id: str
    sent_ms: int
    visible_at_ms: int
    receive_count: int = 0
    first_receive_ms: int | None = None
    receipt_token: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    dlq_source_arn: str | None = None
    # Not stored: what the engine keeps in memory. ``cached`` False: body and attributes
    # were left in the store (``load_payloads``) to bound memory; ``body`` is then "".
    cached: bool = field(default=True)
    payload_size: int = field(default=0)
    state: int = field(default=0)  # the engine's index: visible, delayed or in flight
    version: int = field(default=0)  # bumped at each index change (stale heap entries)


@dataclass(frozen=True, slots=True)
class DedupEntry:
    """A FIFO deduplication id claimed by a message, until ``expires_ms``."""

    queue_id: int
    scope: str
    dedup_id: str
    message_id: str
    seq: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class MessageMove:
    """A message leaving its queue for another (dead-letter redrive, move tasks): the stored
    message ``from_seq`` becomes ``record`` (its new ``seq``, queue and receive state; body
    and attributes stay as stored)."""

    from_seq: int
    record: MessageRecord


@dataclass(frozen=True, slots=True)
class StoredMessages:
    """What the message engine rebuilds its state from at start."""

    # The highest ``seq`` ever stored (messages or deduplication ids), 0 if none: new
    # messages continue after it.
    last_seq: int
    # Every stored message in ``seq`` order, without payload (``cached`` False, ``body`` "").
    messages: list[MessageRecord]
    # The deduplication ids still live at the time given to ``load_messages``.
    dedup: list[DedupEntry]
