"""A queue as every part of the SQS service sees it: identity, settings, typed views."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    """Where a queue's messages go after ``max_receive_count`` receives."""

    dead_letter_target_arn: str
    max_receive_count: int


@dataclass(slots=True)
class Queue:
    """One queue of (region, account, name).

    ``attributes`` holds the settable attributes exactly as SQS returns them (strings);
    the typed fields below are views of them, recomputed whenever the attributes change
    (``lamina.domain.sqs.attributes.typed_views``), so the hot path reads plain fields.
    """

    id: int  # store row id (messages reference it)
    region: str
    account_id: str
    name: str
    arn: str  # arn:aws:sqs:<region>:<account>:<name>
    url: str  # <base_url>/<account>/<name>
    fifo: bool
    attributes: dict[str, str]
    tags: dict[str, str]
    created: float
    last_modified: float
    delay_seconds: int = 0
    maximum_message_size: int = 1048576
    message_retention_period: int = 345600
    receive_wait_time_seconds: int = 0
    visibility_timeout: int = 30
    redrive_policy: RedrivePolicy | None = None
    content_based_deduplication: bool = False
    deduplication_scope: str = "queue"
    fifo_throughput_limit: str = "perQueue"
    # Whether the queue was deleted (objects held across a DeleteQueue see it).
    deleted: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """The Approximate* counters of GetQueueAttributes, as the message engine counts them."""

    visible: int = 0  # ApproximateNumberOfMessages
    not_visible: int = 0  # ApproximateNumberOfMessagesNotVisible (in flight)
    delayed: int = 0  # ApproximateNumberOfMessagesDelayed
