"""The message engine's state, shared by its parts (sending and receiving, acknowledgements,
maintenance): one ``QueueIndex`` per queue, FIFO deduplication ids and receive attempts,
the last purge of each queue and the sequence counter (``seq``: the order messages entered
their queues, persisted with them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Protocol

from lamina.domain.sqs.errors import QueueDoesNotExist
from lamina.domain.sqs.queue import Queue, QueueCounts
from lamina.services.sqs import fifo
from lamina.services.sqs.payload_budget import DEFAULT_BUDGET_BYTES, PayloadBudget
from lamina.services.sqs.queue_index import QueueIndex
from lamina.services.sqs.queues import Page
from lamina.store.ports import SqsMessageStore
from lamina.store.sqs_records import MessageRecord


class QueueDirectory(Protocol):
    """What the engine needs of the queue registry (``services.sqs.queues.QueueRegistry``)."""

    def by_arn(self, arn: str) -> Queue | None: ...

    def all_queues(self) -> list[Queue]: ...

    def on_deleted(self, hook: Callable[[Queue], None]) -> None: ...

    def dead_letter_sources(
        self, queue: Queue, max_results: int | None = None, next_token: str | None = None
    ) -> Page: ...


def now_ms() -> int:
    return int(time.time() * 1000)


# Messages the engine holds at most, in every queue together (``--queue-max-messages``): each
# costs about half a kilobyte of memory even when its body is only in the store.
DEFAULT_MAX_MESSAGES = 1_000_000


class EngineState:
    """The engine's state: one index per queue, deduplication ids, sequence numbers."""

    def __init__(
        self,
        store: SqsMessageStore,
        queues: QueueDirectory,
        clock: Callable[[], int] = now_ms,
        payload_budget_bytes: int = DEFAULT_BUDGET_BYTES,
        max_messages: int = DEFAULT_MAX_MESSAGES,
    ) -> None:
        self.store = store
        self.max_messages = max_messages
        self.queues = queues
        self.clock = clock
        self.budget = PayloadBudget(payload_budget_bytes)
        self._indexes: dict[int, QueueIndex] = {}
        self._queue_of: dict[int, Queue] = {}  # the queues with an index
        self._dedup: dict[int, fifo.DedupCache] = {}
        self._attempts: dict[int, fifo.ReceiveAttempts] = {}
        self._purged_at: dict[int, int] = {}
        self._seq = 0

    # --- indexes --------------------------------------------------------------------------

    def index(self, queue: Queue) -> QueueIndex:
        """The queue's index (created on first use); ``QueueDoesNotExist`` once deleted."""
        index = self._indexes.get(queue.id)
        if index is None:
            if queue.deleted:
                raise QueueDoesNotExist()
            index = self._indexes[queue.id] = QueueIndex(queue.id, queue.fifo, self.budget)
            self._queue_of[queue.id] = queue
        return index

    def _dedup_cache(self, queue_id: int) -> fifo.DedupCache:
        cache = self._dedup.get(queue_id)
        if cache is None:
            cache = self._dedup[queue_id] = fifo.DedupCache()
        return cache

    def counts(self, queue: Queue) -> QueueCounts:
        """The Approximate* counters (in memory)."""
        index = self._indexes.get(queue.id)
        if index is None:
            return QueueCounts()
        index.promote(self.clock())
        return QueueCounts(index.visible, index.in_flight, index.delayed)

    def queue_deleted(self, queue: Queue) -> None:
        """Forget a deleted queue's messages (the store deleted them with the queue);
        waiting receives wake and fail."""
        index = self._indexes.pop(queue.id, None)
        self._queue_of.pop(queue.id, None)
        self._dedup.pop(queue.id, None)
        self._attempts.pop(queue.id, None)
        self._purged_at.pop(queue.id, None)
        if index is not None:
            index.clear()
            index.waiters.notify_all()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _admit(self, queue: Queue, index: QueueIndex, records: list[MessageRecord]) -> None:
        """Committed messages enter the index; waiting receives wake."""
        if self._indexes.get(queue.id) is not index:
            return  # deleted (or purged away) while committing
        now = self.clock()
        for record in records:
            index.add(record, now)
        index.waiters.notify(len(records))

    def _copy_into(
        self, message: MessageRecord, target: Queue, source_arn: str | None, now: int
    ) -> MessageRecord:
        """The message as it enters another queue (a new position, visible at once)."""
        return dataclasses.replace(
            message,
            seq=self.next_seq(),
            queue_id=target.id,
            visible_at_ms=now,
            receipt_token=None,
            dlq_source_arn=source_arn if source_arn is not None else message.dlq_source_arn,
            state=0,
            version=0,
        )
