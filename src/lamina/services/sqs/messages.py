"""The message engine: sending and receiving (acknowledgements, purge, expiry and moves are in
``acknowledgements.py``, the shared state in ``engine_state.py``).

State lives twice: in the store (``SqsMessageStore``, the record: each write returns once
durable) and in one in-memory ``QueueIndex`` per queue (rebuilt from the store by ``start``).
Every change is committed before the caller is answered: SendMessage returns once its
messages are durable and only then makes them receivable; a receive marks its messages in
flight in memory at once (so no other receive gets them) and answers after the new receive
counts are committed.

Dead-letter redrive: a receive that finds a message already received ``maxReceiveCount``
times moves it to the queue's dead-letter queue (same id, body, attributes and counts, plus
``DeadLetterQueueSourceArn``) instead of returning it. Retention: a sweep every few seconds
drops messages older than the queue's ``MessageRetentionPeriod`` and forgets expired
deduplication ids. Payloads beyond the memory budget (``payload_budget.py``) are read
from the store by the receive that needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from lamina.domain.ids import new_uuid
from lamina.domain.sqs.errors import QueueDoesNotExist, RequestThrottled
from lamina.domain.sqs.queue import Queue
from lamina.services.sqs import fifo, receipts
from lamina.services.sqs.acknowledgements import Acknowledgements
from lamina.services.sqs.engine_state import DEFAULT_MAX_MESSAGES, QueueDirectory, now_ms
from lamina.services.sqs.md5 import md5_of_attributes, md5_of_body
from lamina.services.sqs.message_view import Delivery, sequence_number
from lamina.services.sqs.move_tasks import MoveTasks
from lamina.services.sqs.payload_budget import DEFAULT_BUDGET_BYTES
from lamina.services.sqs.queue_index import IN_FLIGHT, QueueIndex
from lamina.store.ports import SqsMessageStore
from lamina.store.sqs_records import DedupEntry, MessageMove, MessageRecord, StoredAttribute

# Most messages one receive may take (the API allows 10; event source mappings up to 10,000).
MAX_RECEIVE = 10_000


# A message's id: a random version-4 UUID.
new_message_id = new_uuid


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to send, already validated (``lamina.services.sqs.message_rules``)."""

    body: str
    attributes: dict[str, StoredAttribute]
    trace_header: str | None = None
    delay_seconds: int = 0
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str | None
    md5_of_system_attributes: str | None
    sequence_number: str | None


class MessageEngine(Acknowledgements):
    """Every queue's messages; one per server, constructed with the SQS store."""

    def __init__(
        self,
        store: SqsMessageStore,
        queues: QueueDirectory,
        clock: Callable[[], int] = now_ms,
        payload_budget_bytes: int = DEFAULT_BUDGET_BYTES,
        max_messages: int = DEFAULT_MAX_MESSAGES,
    ) -> None:
        super().__init__(store, queues, clock, payload_budget_bytes, max_messages)
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self.moves = MoveTasks(queues, self)
        queues.on_deleted(self.queue_deleted)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the indexes from the store, then sweep expired messages periodically."""
        now = self.clock()
        stored = await asyncio.to_thread(self.store.load_messages, now)
        self._seq = stored.last_seq
        orphans: list[int] = []
        live = {queue.id: queue for queue in self.queues.all_queues()}
        for message in stored.messages:
            queue = live.get(message.queue_id)
            if queue is None:
                orphans.append(message.seq)
                continue
            self.index(queue).add(message, now)
        for entry in stored.dedup:
            self._dedup_cache(entry.queue_id).put(
                entry.scope,
                entry.dedup_id,
                fifo.Deduplicated(entry.message_id, entry.seq, entry.expires_ms),
            )
        if orphans:
            await self.store.delete_messages(orphans)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sqs-message-sweep")

    async def stop(self) -> None:
        """Stop the sweep and move tasks; waiting receives answer at once (empty)."""
        self._stopping = True
        await self.moves.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for index in self._indexes.values():
            index.waiters.notify_all()

    # --- send -----------------------------------------------------------------------------

    async def send(
        self, queue: Queue, sender_id: str, outgoing: list[OutgoingMessage]
    ) -> list[SendResult]:
        """Store messages durably, then make them receivable (after their delay). Beyond the
        engine's ``max_messages`` a send is a retryable throttle (SDKs retry
        ``RequestThrottled``) until messages are deleted or expire."""
        index = self.index(queue)
        if self.budget.messages + len(outgoing) > self.max_messages:
            raise RequestThrottled(
                f"Lamina holds its maximum of {self.max_messages} messages (all queues): "
                "receive and delete some, or raise --queue-max-messages."
            )
        now = self.clock()
        results: list[SendResult] = []
        records: list[MessageRecord] = []
        claims: list[DedupEntry] = []
        cache = self._dedup_cache(queue.id) if queue.fifo else None
        for out in outgoing:
            md5_attributes = md5_of_attributes(out.attributes)
            md5_system = (
                md5_of_attributes({"AWSTraceHeader": ("String", out.trace_header, None)})
                if out.trace_header is not None
                else None
            )
            dedup_id = out.dedup_id
            scope = ""
            if cache is not None:
                dedup_id = dedup_id or fifo.content_dedup_id(out.body)
                scope = fifo.dedup_scope(queue.deduplication_scope, out.group_id)
                # Ids sent while the scope was the whole queue still count (recorded: a queue
                # switched to messageGroup scope keeps deduplicating them across groups).
                earlier = cache.get(scope, dedup_id, now) or cache.get("", dedup_id, now)
                if earlier is not None:
                    results.append(
                        SendResult(
                            earlier.message_id,
                            md5_of_body(out.body),
                            md5_attributes,
                            md5_system,
                            sequence_number(earlier.seq),
                        )
                    )
                    continue
            record = MessageRecord(
                seq=self.next_seq(),
                queue_id=queue.id,
                message_id=new_message_id(),
                body=out.body,
                message_attributes=out.attributes,
                trace_header=out.trace_header,
                sender_id=sender_id,
                sent_ms=now,
                visible_at_ms=now + out.delay_seconds * 1000,
                group_id=out.group_id,
                dedup_id=dedup_id if queue.fifo else None,
            )
            if cache is not None and dedup_id is not None:
                expires = now + fifo.DEDUP_WINDOW_MS
                claim = DedupEntry(
                    queue.id, scope, dedup_id, record.message_id, record.seq, expires
                )
                cache.put(
                    scope, dedup_id, fifo.Deduplicated(record.message_id, record.seq, expires)
                )
                claims.append(claim)
            records.append(record)
            results.append(
                SendResult(
                    record.message_id,
                    md5_of_body(out.body),
                    md5_attributes,
                    md5_system,
                    sequence_number(record.seq) if queue.fifo else None,
                )
            )
        if records:
            try:
                await self.store.insert_messages(records, claims)
            except BaseException:
                if cache is not None:
                    for claim in claims:
                        cache.discard(claim.scope, claim.dedup_id)
                raise
            self._admit(queue, index, records)
        return results

    # --- receive --------------------------------------------------------------------------

    async def receive(
        self,
        queue: Queue,
        max_messages: int,
        wait_seconds: float,
        visibility_timeout: int | None = None,
        attempt_id: str | None = None,
    ) -> list[Delivery]:
        """Up to ``max_messages`` messages, waiting up to ``wait_seconds`` for the first."""
        index = self.index(queue)
        if queue.fifo and attempt_id:
            replay = self._replay(queue, index, attempt_id)
            if replay is not None:
                return await self._deliver(replay, queue.fifo)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            picks = await self._take(queue, index, max_messages, visibility_timeout)
            if picks:
                if queue.fifo and attempt_id:
                    self._attempts.setdefault(queue.id, fifo.ReceiveAttempts()).put(
                        attempt_id, self.clock(), [(p.message.message_id, p.token) for p in picks]
                    )
                deliveries = await self._deliver(picks, queue.fifo)
                if deliveries:
                    return deliveries
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stopping:
                return []
            due = index.next_due_ms()
            if due is not None:
                remaining = min(remaining, max(due - self.clock(), 0) / 1000 + 0.001)
            await index.waiters.wait(remaining)
            if self._indexes.get(queue.id) is not index:
                raise QueueDoesNotExist()
            if self._stopping:
                return []

    def _replay(self, queue: Queue, index: QueueIndex, attempt_id: str) -> list[Pick] | None:
        attempts = self._attempts.get(queue.id)
        earlier = attempts.get(attempt_id, self.clock()) if attempts else None
        if not earlier:
            return None
        out: list[Pick] = []
        for message_id, token in earlier:
            message = index.messages.get(message_id)
            if message is None or message.receipt_token != token or message.state != IN_FLIGHT:
                return None
            first = message.first_receive_ms or message.sent_ms
            out.append(Pick(message, token, message.receive_count, first))
        return out

    async def _take(
        self, queue: Queue, index: QueueIndex, limit: int, visibility_timeout: int | None
    ) -> list[Pick]:
        """Mark up to ``limit`` receivable messages in flight (or move those past the
        redrive policy's count to the dead-letter queue), committed before returning."""
        now = self.clock()
        index.promote(now)
        hide_ms = queue.visibility_timeout if visibility_timeout is None else visibility_timeout
        policy = queue.redrive_policy
        dlq = self.queues.by_arn(policy.dead_letter_target_arn) if policy else None
        if dlq is not None and (dlq.deleted or dlq.id == queue.id):
            dlq = None
        picks: list[Pick] = []
        moved: list[MessageMove] = []
        taken: set[int] = set()
        while len(picks) < limit:
            wanted = limit - len(picks) + len(taken)
            fresh = [m for m in index.receivable(wanted) if m.seq not in taken]
            if not fresh:
                break
            for message in fresh:
                if len(picks) >= limit:
                    break
                taken.add(message.seq)
                if dlq is not None and policy and message.receive_count >= policy.max_receive_count:
                    index.remove(message)
                    record = self._copy_into(message, dlq, queue.arn, now)
                    moved.append(MessageMove(message.seq, record))
                    continue
                message.receive_count += 1
                if message.first_receive_ms is None:
                    message.first_receive_ms = now
                message.receipt_token = receipts.new_token()
                index.set_visible_at(message, now + hide_ms * 1000, now)
                first = message.first_receive_ms
                picks.append(Pick(message, message.receipt_token, message.receive_count, first))
        received = [pick.message for pick in picks]
        if received or moved:
            await self.store.record_receives(received, moved)
        if moved and dlq is not None:
            self._admit(dlq, self.index(dlq), [move.record for move in moved])
        return picks

    async def _deliver(self, picks: list[Pick], is_fifo: bool) -> list[Delivery]:
        """The deliveries of picked messages, with their payloads (read from the store for
        messages whose payload is not in memory; a message gone meanwhile is skipped)."""
        missing = [pick.message.seq for pick in picks if not pick.message.cached]
        payloads = await asyncio.to_thread(self.store.load_payloads, missing) if missing else {}
        out: list[Delivery] = []
        for pick in picks:
            message = pick.message
            if message.cached:
                body, attributes = message.body, message.message_attributes
            else:
                payload = payloads.get(message.seq)
                if payload is None:
                    continue
                body, attributes = payload
            out.append(
                Delivery(
                    message,
                    receipts.encode(message.message_id, pick.token),
                    pick.receive_count,
                    pick.first_receive_ms,
                    is_fifo,
                    body,
                    attributes,
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class Pick:
    """A message a receive took, as it was at that moment."""

    message: MessageRecord
    token: str
    receive_count: int
    first_receive_ms: int
