"""The delivery engine: the durable outbox of (event, rule, target) deliveries.

PutEvents stores the deliveries of the events it accepts (``enqueue``: committed before
it answers); the engine then delivers each as soon as possible, with at most
``concurrency`` attempts in flight. A failure that a retry could fix is retried with
exponential backoff and jitter (1 s doubling to at most 5 min, times ``delay_scale``) until
the target's ``MaximumRetryAttempts`` or ``MaximumEventAgeInSeconds``; then, or at once for
a failure no retry can fix (a missing function, queue, topic or bus), the event goes to the
target's dead-letter queue with AWS's message attributes, or is dropped. Every change of a
delivery's state is committed before the next step, so a SIGKILL at any moment loses no
accepted delivery (one in flight at the kill may be delivered twice: at least once, as
AWS).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from lamina.services.events.model import Target
from lamina.services.events.ports import ArchivedEvent, EventsStore, NewDelivery
from lamina.services.events.targets import INTERNAL, DeliveryFailed, TargetSinks
from lamina.services.events.transform import InputNotDeliverable, target_payload
from lamina.services.queue_ports import MessageAttribute, QueueNotFound

log = logging.getLogger("lamina.events")

FIRST_DELAY: Final = 1.0
MAX_DELAY: Final = 300.0
DEFAULT_CONCURRENCY: Final = 64
# Deliveries kept pending at most; beyond it PutEvents is throttled.
DEFAULT_MAX_PENDING: Final = 100_000


@dataclass
class _Pending:
    id: int
    delivery: NewDelivery
    attempts: int
    due: float


class DeliveryEngine:
    def __init__(
        self,
        store: EventsStore,
        sinks: TargetSinks,
        *,
        delay_scale: float = 1.0,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.sinks = sinks
        self._delay_scale = delay_scale
        self._clock = clock
        self._max_pending = max_pending
        self._slots = asyncio.Semaphore(concurrency)
        self._pending: dict[int, _Pending] = {}
        self._heap: list[tuple[float, int]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._attempts: set[asyncio.Task[None]] = set()
        self.delivered = 0
        self.dead_lettered = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def has_room(self, count: int) -> bool:
        return len(self._pending) + count <= self._max_pending

    async def start(self) -> None:
        """Load the deliveries a previous run left and start delivering."""
        for stored in await asyncio.to_thread(self._store.load_deliveries):
            self._add(_Pending(stored.id, stored.delivery, stored.attempts, stored.due))
        self._task = asyncio.create_task(self._run(), name="lamina-events-delivery")

    async def stop(self) -> None:
        """Stop delivering (what is pending stays stored for the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._attempts):
            task.cancel()
        if self._attempts:
            await asyncio.gather(*self._attempts, return_exceptions=True)

    async def enqueue(
        self, deliveries: list[NewDelivery], archived: list[ArchivedEvent] | None = None
    ) -> None:
        """Store deliveries (and archived events) durably, in one transaction (returns after
        the commit), and schedule the deliveries now."""
        if not deliveries and not archived:
            return
        now = self._clock()
        ids = await self._store.insert_deliveries(deliveries, now, archived)
        for delivery_id, delivery in zip(ids, deliveries, strict=True):
            self._add(_Pending(delivery_id, delivery, 0, now))

    def _add(self, pending: _Pending) -> None:
        self._pending[pending.id] = pending
        heapq.heappush(self._heap, (pending.due, pending.id))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            now = self._clock()
            while self._heap and self._heap[0][0] <= now:
                _, delivery_id = heapq.heappop(self._heap)
                pending = self._pending.get(delivery_id)
                if pending is None:
                    continue
                await self._slots.acquire()
                task = asyncio.create_task(self._attempt(pending))
                self._attempts.add(task)
                task.add_done_callback(self._attempts.discard)
            self._wake.clear()
            timeout = None if not self._heap else max(0.0, self._heap[0][0] - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _attempt(self, pending: _Pending) -> None:
        try:
            await self._attempt_once(pending)
        except Exception:  # noqa: BLE001 - a store failure: try again later
            log.exception("event delivery %s failed", pending.id)
            pending.due = self._clock() + self.backoff(pending.attempts + 1)
            heapq.heappush(self._heap, (pending.due, pending.id))
            self._wake.set()
        finally:
            self._slots.release()

    async def _attempt_once(self, pending: _Pending) -> None:
        delivery = pending.delivery
        target = Target.from_wire(delivery.target)
        event = json.loads(delivery.event)
        try:
            payload = target_payload(
                target, event, delivery.event, delivery.rule_arn, delivery.rule_name
            )
            if payload is not None:
                await self.sinks.deliver(target, payload, event, delivery.trace, delivery.rule_arn)
        except InputNotDeliverable:
            log.warning(
                "rule %s: input of target %s is not deliverable", delivery.rule_arn, target.id
            )
            await self._finish(pending, dropped=True)
            return
        except DeliveryFailed as failure:
            await self._failed(pending, target, failure)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any other failure may pass on a retry
            await self._failed(pending, target, DeliveryFailed(INTERNAL, str(exc), retryable=True))
            return
        self.delivered += 1
        await self._finish(pending)

    async def _finish(self, pending: _Pending, *, dropped: bool = False) -> None:
        await self._store.finish_deliveries([pending.id])
        self._pending.pop(pending.id, None)
        if dropped:
            self.dropped += 1

    async def _failed(self, pending: _Pending, target: Target, failure: DeliveryFailed) -> None:
        attempts = pending.attempts + 1
        now = self._clock()
        delay = self.backoff(attempts)
        age_limit = pending.delivery.ingested + target.max_event_age * self._delay_scale
        exhausted: str | None = None
        if failure.retryable:
            if attempts > target.max_retry_attempts:
                exhausted = "MaximumRetryAttemptsExhausted"
            elif now + delay > age_limit:
                exhausted = "MaximumEventAgeExhausted"
            else:
                pending.attempts = attempts
                pending.due = now + delay
                await self._store.reschedule(pending.id, attempts, pending.due)
                heapq.heappush(self._heap, (pending.due, pending.id))
                self._wake.set()
                return
        await self._dead_letter(pending, target, failure, attempts - 1, exhausted)
        await self._finish(pending, dropped=target.dead_letter_arn is None)

    def backoff(self, attempts: int) -> float:
        """Seconds before retry ``attempts`` (1-based): exponential with jitter."""
        base = min(FIRST_DELAY * 2 ** (attempts - 1), MAX_DELAY)
        return float(base * random.uniform(0.5, 1.0) * self._delay_scale)

    async def _dead_letter(
        self,
        pending: _Pending,
        target: Target,
        failure: DeliveryFailed,
        retries: int,
        exhausted: str | None,
    ) -> None:
        if target.dead_letter_arn is None:
            log.info(
                "rule %s target %s: event dropped (%s: %s)",
                pending.delivery.rule_arn,
                target.id,
                failure.code,
                failure.message,
            )
            return
        attributes = {
            "RULE_ARN": MessageAttribute("String", pending.delivery.rule_arn),
            "TARGET_ARN": MessageAttribute("String", target.arn),
            "ERROR_CODE": MessageAttribute("String", failure.code),
            "ERROR_MESSAGE": MessageAttribute("String", failure.message or failure.code),
            "RETRY_ATTEMPTS": MessageAttribute("Number", str(retries)),
        }
        if exhausted is not None:
            attributes["EXHAUSTED_RETRY_CONDITION"] = MessageAttribute("String", exhausted)
        try:
            await self.sinks.queues.send(target.dead_letter_arn, pending.delivery.event, attributes)
            self.dead_lettered += 1
        except QueueNotFound:
            log.warning(
                "dead-letter queue %s does not exist: event dropped", target.dead_letter_arn
            )
