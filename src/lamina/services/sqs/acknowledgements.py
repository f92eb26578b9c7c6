"""The engine's acknowledgements and upkeep: delete, change visibility, purge, retention
expiry and moving messages between queues (message move tasks).

Receipt handles follow SQS's rules: a handle that does not decode is
``ReceiptHandleIsInvalid``; deleting an already deleted message succeeds; on standard queues
a stale handle (the message was received again since) is accepted and ignored, and the latest
handle deletes even after the visibility timeout expired; on FIFO queues an expired or stale
handle is refused ("The receipt handle has expired").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lamina.domain.errors import AwsError
from lamina.domain.sqs.errors import (
    InvalidParameterValue,
    MessageNotInflight,
    PurgeQueueInProgress,
)
from lamina.domain.sqs.queue import Queue
from lamina.services.sqs import receipts
from lamina.services.sqs.engine_state import EngineState
from lamina.services.sqs.queue_index import DELAYED, IN_FLIGHT
from lamina.store.sqs_records import MessageMove, MessageRecord

log = logging.getLogger(__name__)

PURGE_INTERVAL_MS = 60_000
SWEEP_SECONDS = 5.0


def _receipt_expired(handle: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle"
        " has expired."
    )


def _not_in_flight() -> MessageNotInflight:
    return MessageNotInflight(
        "Message does not exist or is not available for visibility timeout change."
    )


class Acknowledgements(EngineState):
    """Delete, change visibility, purge, expire, move."""

    # --- moving messages between queues (message move tasks) ----------------------------

    async def move_visible(
        self, source: Queue, limit: int, destination_for: Callable[[MessageRecord], Queue | None]
    ) -> tuple[int, bool]:
        """Move up to ``limit`` visible messages of ``source`` to the queue
        ``destination_for(message)`` names, as new messages there (receive count reset).
        Returns how many moved and whether a message had no destination (the move stops)."""
        index = self.index(source)
        now = self.clock()
        index.promote(now)
        moved: list[MessageMove] = []
        targets: dict[int, tuple[Queue, list[MessageRecord]]] = {}
        missing = False
        for message in index.receivable(limit):
            target = destination_for(message)
            if target is None or target.deleted:
                missing = True
                break
            index.remove(message)
            record = self._copy_into(message, target, None, now)
            record.dlq_source_arn = None
            record.receive_count = 0
            record.first_receive_ms = None
            moved.append(MessageMove(message.seq, record))
            targets.setdefault(target.id, (target, []))[1].append(record)
        if moved:
            await self.store.move_messages(moved)
            for target, records in targets.values():
                if not target.deleted:
                    self._admit(target, self.index(target), records)
        return len(moved), missing

    # --- delete and visibility ------------------------------------------------------------

    async def delete(self, queue: Queue, handles: list[str]) -> list[AwsError | None]:
        """Delete received messages: one outcome per handle (None: deleted or gone)."""
        index = self.index(queue)
        index.promote(self.clock())
        outcomes: list[AwsError | None] = []
        seqs: list[int] = []
        for handle in handles:
            try:
                receipt = receipts.decode(handle)
            except AwsError as error:
                outcomes.append(error)
                continue
            message = index.messages.get(receipt.message_id)
            if message is None:
                outcomes.append(None)  # already deleted: SQS answers success
                continue
            if message.receipt_token != receipt.token:
                # Received again since: standard queues ignore the old handle.
                outcomes.append(_receipt_expired(handle) if queue.fifo else None)
                continue
            if queue.fifo and message.state != IN_FLIGHT:
                outcomes.append(_receipt_expired(handle))
                continue
            index.remove(message)
            seqs.append(message.seq)
            outcomes.append(None)
        if seqs:
            await self.store.delete_messages(seqs)
            if queue.fifo and index.has_receivable():
                index.waiters.notify(1)
        return outcomes

    async def change_visibility(
        self, queue: Queue, changes: list[tuple[str, int]]
    ) -> list[AwsError | None]:
        """Set received messages' visibility timeouts (seconds from now): one outcome each."""
        index = self.index(queue)
        now = self.clock()
        outcomes: list[AwsError | None] = []
        updates: list[tuple[int, int]] = []
        index.promote(now)
        for handle, timeout in changes:
            try:
                receipt = receipts.decode(handle)
            except AwsError as error:
                outcomes.append(error)
                continue
            message = index.messages.get(receipt.message_id)
            if message is None or message.receipt_token != receipt.token:
                outcomes.append(_not_in_flight())
                continue
            if message.state == DELAYED or (queue.fifo and message.state != IN_FLIGHT):
                outcomes.append(_not_in_flight())
                continue
            index.set_visible_at(message, now + timeout * 1000, now)
            updates.append((message.seq, message.visible_at_ms))
            outcomes.append(None)
        if updates:
            await self.store.set_visibility(updates)
            if index.has_receivable():
                index.waiters.notify(len(updates))
        return outcomes

    # --- purge and expiry -----------------------------------------------------------------

    async def purge(self, queue: Queue) -> None:
        """Delete every message; at most once per 60 seconds per queue."""
        index = self.index(queue)
        now = self.clock()
        last = self._purged_at.get(queue.id)
        if last is not None and now - last < PURGE_INTERVAL_MS:
            raise PurgeQueueInProgress(
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
            )
        self._purged_at[queue.id] = now
        gone = index.clear()
        if gone:
            up_to = max(message.seq for message in gone)
            await self.store.purge_queue(queue.id, up_to)

    def expire(self, now: int) -> tuple[list[int], int]:
        """Drop messages past their queue's retention period and forget deduplication ids
        past their five minutes; returns the messages' seqs and how many ids expired."""
        gone: list[int] = []
        for queue_id, index in list(self._indexes.items()):
            queue = self._queue_of[queue_id]
            cutoff = now - queue.message_retention_period * 1000
            while (oldest := index.oldest()) is not None and oldest.sent_ms <= cutoff:
                index.remove(oldest)
                gone.append(oldest.seq)
        forgotten = sum(cache.expire(now) for cache in self._dedup.values())
        return gone, forgotten

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                now = self.clock()
                gone, forgotten = self.expire(now)
                if gone:
                    await self.store.delete_messages(gone)
                if forgotten:
                    await self.store.expire_dedup(now)
            except Exception:  # noqa: BLE001 - the sweep must outlive one failure
                log.exception("sweeping expired SQS messages failed")
