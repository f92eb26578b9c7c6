"""The pollers of one enabled SQS mapping: receive a batch, filter it, invoke, settle it.

Each poller loops:

1. **Collect** (``BatchCollector``): one long poll (``LONG_POLL`` seconds, woken by the first
   message), then, with a batching window, more receives until ``BatchSize`` messages, the
   window's end (counted from the first message) or the 6 MB payload limit; messages past
   the limit go straight back (visibility 0).
2. **Filter**: messages no FilterCriteria pattern matches are deleted, never delivered.
3. **Invoke** synchronously with ``{"Records": [...]}``.
4. **Settle** (``batch_result``): delete what succeeded; what failed stays invisible until
   the queue's visibility timeout, counting receives, so the queue's redrive policy moves
   poison messages to its DLQ. FIFO queues keep a group locked while any of its messages is
   in flight, so a failed message blocks its group until it succeeds or leaves.

A throttled invocation (429) sends the batch back to the queue after a backoff (change of
visibility) and the poller waits that long; while the function (or its qualifier) is missing
or its reserved concurrency is 0, pollers receive nothing. ``scaling.PollerScaler`` decides how
many pollers run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lamina.domain.event_source_mapping import EventSourceMapping
from lamina.services.event_sources.batch_result import judge_batch
from lamina.services.event_sources.filters import RecordFilter
from lamina.services.event_sources.invoker import (
    FunctionInvoker,
    FunctionTarget,
    FunctionUnavailable,
    Throttled,
)
from lamina.services.event_sources.scaling import PollerScaler
from lamina.services.event_sources.sqs_records import (
    ENVELOPE_BYTES,
    encode_event,
    encode_record,
    filter_view,
    sqs_record,
)
from lamina.services.queue_ports import QueueNotFound, QueueSource, ReceivedMessage

log = logging.getLogger("lamina.event_sources")

LONG_POLL = 20.0
PAYLOAD_LIMIT = 6 * 1024 * 1024
# Waits while nothing can be done (seconds).
IDLE_BACKOFF = 1.0
MAX_THROTTLE_BACKOFF = 30.0
# Extra visibility Lambda adds when window + function timeout exceed the queue's.
VISIBILITY_MARGIN = 30


@dataclass(frozen=True, slots=True)
class PolledMessage:
    message: ReceivedMessage
    encoded: bytes  # the record as the function receives it


class BatchCollector:
    """Receives one batch for a mapping (steps 1 of the module docstring)."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        source: QueueSource,
        *,
        long_poll: float = LONG_POLL,
        payload_limit: int = PAYLOAD_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mapping = mapping
        self.source = source
        self.long_poll = long_poll
        self.payload_limit = payload_limit
        self.clock = clock

    async def collect(self, visibility: int | None) -> list[PolledMessage]:
        m = self.mapping
        batch: list[PolledMessage] = []
        positions: dict[str, int] = {}
        size = ENVELOPE_BYTES
        deadline: float | None = None
        while len(batch) < m.batch_size:
            wait = self.long_poll if deadline is None else deadline - self.clock()
            if deadline is not None and wait <= 0:
                break
            received = await self.source.receive(
                m.event_source_arn, m.batch_size - len(batch), wait, visibility
            )
            if not received:
                break
            overflow: list[str] = []
            for message in received:
                encoded = encode_record(sqs_record(message, m.event_source_arn, m.region))
                earlier = positions.get(message.message_id)
                if earlier is not None:
                    # Received again (its visibility ran out while the window was open): only
                    # the latest receipt handle is valid.
                    size += len(encoded) - len(batch[earlier].encoded)
                    batch[earlier] = PolledMessage(message, encoded)
                    continue
                if batch and size + len(encoded) + 1 > self.payload_limit:
                    overflow.append(message.receipt_handle)
                    continue
                positions[message.message_id] = len(batch)
                batch.append(PolledMessage(message, encoded))
                size += len(encoded) + 1
            if overflow:
                await self.source.change_visibility(m.event_source_arn, overflow, 0)
                break
            if m.batching_window <= 0:
                break
            if deadline is None:
                deadline = self.clock() + m.batching_window
        return batch


class MappingPoller:
    """Runs the pollers of one mapping from ``start`` until ``stop``."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        source: QueueSource,
        invoker: FunctionInvoker,
        record_filter: RecordFilter,
        *,
        long_poll: float = LONG_POLL,
        idle_backoff: float = IDLE_BACKOFF,
        may_poll: Callable[[], bool] | None = None,
    ) -> None:
        self.mapping = mapping
        # Whether the mapping may poll now (``--iam enforce``: its role's permissions).
        self.may_poll = may_poll
        self.source = source
        self.invoker = invoker
        self.filter = record_filter
        self.idle_backoff = idle_backoff
        self.target = FunctionTarget(
            mapping.function_name, mapping.function_qualifier, mapping.function_arn
        )
        self.collector = BatchCollector(mapping, source, long_poll=long_poll)
        self.scaler = PollerScaler(mapping.maximum_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        # Pollers between receiving a batch and settling it (not cancelled by ``stop``).
        self._settling: set[asyncio.Task[Any]] = set()
        self._throttle_streak = 0
        self._stopping = False
        # Figures (``lamina`` status views, tests).
        self.batches = 0
        self.invoked_messages = 0
        self.filtered_messages = 0
        self.throttles = 0

    @property
    def pollers(self) -> int:
        return self.scaler.running

    def start(self) -> None:
        self.scaler.running += 1
        self._spawn()

    async def stop(self, drain: float = 0.0) -> None:
        """Stop polling: pollers waiting on the queue (or backing off) stop at once; one
        whose batch is being invoked finishes it (its messages are settled, never abandoned
        mid-invocation) within ``drain`` seconds, else it too is cancelled. With ``drain`` 0
        the running batches finish in the background."""
        self._stopping = True
        idle = [t for t in self._tasks if t not in self._settling]
        busy = [t for t in self._tasks if t in self._settling]
        for task in idle:
            task.cancel()
        if busy and drain > 0:
            _, late = await asyncio.wait(busy, timeout=drain)
            for task in late:
                task.cancel()
            idle += late
        for task in idle:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self) -> None:
        task = asyncio.ensure_future(self._run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self._poll_once()
            except asyncio.CancelledError:
                raise
            except QueueNotFound:
                busy = False
                await asyncio.sleep(self.idle_backoff)
            except Exception:  # noqa: BLE001 - a poller survives anything; messages reappear
                log.exception("event source mapping %s", self.mapping.uuid)
                busy = False
                await asyncio.sleep(self.idle_backoff)
            if self.scaler.should_retire(busy, self.invoker.concurrency_cap(self.target)):
                return

    async def _poll_once(self) -> bool:
        """One batch; False when the poller was idle (nothing received, or could not run)."""
        timeout = self.invoker.timeout_seconds(self.target)
        reserved = self.invoker.concurrency_cap(self.target)
        if timeout is None or reserved == 0 or (self.may_poll is not None and not self.may_poll()):
            await asyncio.sleep(self.idle_backoff)
            return False
        batch = await self.collector.collect(self._visibility(timeout))
        if not batch:
            return False
        if self.scaler.should_grow(len(batch) >= self.mapping.batch_size, reserved):
            self._spawn()
        task = asyncio.current_task()
        assert task is not None
        self._settling.add(task)
        try:
            busy, pause = await self._process(batch)
        finally:
            self._settling.discard(task)
        if pause > 0 and not self._stopping:
            await asyncio.sleep(pause)
        return busy

    def _visibility(self, function_timeout: int) -> int | None:
        """The queue's own timeout, unless window + function timeout exceed it (AWS's rule:
        then window + timeout + 30 s)."""
        window = self.mapping.batching_window
        if window <= 0:
            return None
        queue_timeout = self.source.describe(self.mapping.event_source_arn).visibility_timeout
        if window + function_timeout <= queue_timeout:
            return None
        return window + function_timeout + VISIBILITY_MARGIN

    async def _process(self, batch: list[PolledMessage]) -> tuple[bool, float]:
        """Filter, invoke and settle one batch: (whether it ran, seconds to pause after)."""
        arn = self.mapping.event_source_arn
        if self.filter.active:
            kept: list[PolledMessage] = []
            dropped: list[str] = []
            for polled in batch:
                view = filter_view(sqs_record(polled.message, arn, self.mapping.region))
                if self.filter.matches(view):
                    kept.append(polled)
                else:
                    dropped.append(polled.message.receipt_handle)
            if dropped:
                self.filtered_messages += len(dropped)
                await self.source.delete(arn, dropped)
            batch = kept
            if not batch:
                return True, 0.0
        handles = [p.message.receipt_handle for p in batch]
        payload = encode_event([p.encoded for p in batch])
        self.batches += 1
        try:
            result = await self.invoker.invoke(self.target, payload)
        except Throttled as throttle:
            self.throttles += 1
            self._throttle_streak += 1
            delay = min(
                MAX_THROTTLE_BACKOFF,
                max(throttle.retry_after, self.idle_backoff * 2 ** (self._throttle_streak - 1)),
            )
            await self.source.change_visibility(arn, handles, math.ceil(delay))
            return False, delay
        except FunctionUnavailable as exc:
            log.warning("event source mapping %s: %s", self.mapping.uuid, exc)
            return False, self.idle_backoff
        self._throttle_streak = 0
        self.invoked_messages += len(batch)
        ids = {p.message.message_id for p in batch}
        verdict = judge_batch(
            ids,
            result.payload,
            result.function_error,
            report_item_failures=self.mapping.reports_item_failures,
        )
        done = [
            p.message.receipt_handle for p in batch if p.message.message_id not in verdict.failed
        ]
        if done:
            await self.source.delete(arn, done)
        return True, 0.0
