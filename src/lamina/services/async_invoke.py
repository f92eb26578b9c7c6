"""The dispatcher of asynchronous invocations (docs/async.md).

``enqueue`` stores an event durably (``store.async_queue``) before Invoke answers 202. The
dispatcher loop claims due events and runs each under the function's concurrency
(``InvokeService.run``: a lease, or ``TooManyRequestsException``):

- **success**: the event is done; with an OnSuccess destination, a delivery of the
  ``Success`` record is queued in the same transaction;
- **function error**: retried ``MaximumRetryAttempts`` times (default 2), about 1 and then
  2 minutes later; then ``RetriesExhausted``;
- **throttled**: the event is *held* in memory (its lease kept) and tried again when
  capacity frees (every released lease wakes a few) or after an exponential backoff from
  1 s (capped at 5 minutes); the function's other events are not claimed meanwhile;
- **platform error** (the environment could not run it, or could not even start:
  ``Sandbox.Failure``): backoff, like a throttle; no attempt is counted;
- **no room on the host** (``runtime.admission``): the event waits in the pool for room or
  for a warm environment of its function (after synchronous invocations), at most until its
  maximum age; it is not an attempt and not a throttle;
- **too old** (``MaximumEventAgeInSeconds``, default 6 h): ``EventAgeExceeded``;
- **reserved concurrency 0**: ``ZeroReservedConcurrency`` at once, no retries.

A failed event goes to the OnFailure destination and/or the dead-letter queue
(``DeadLetterConfig``); without either it is dropped (counted). Deliveries are rows of the
same queue, retried with backoff when their destination fails (counted as
``DestinationDeliveryFailures`` / ``DeadLetterErrors``) and, after the maximum event age,
kept as ``undeliverable`` in the queue database, never silently dropped.

Every delay above is multiplied by ``delay_scale`` (``--async-delay-scale``), and so is the
maximum event age: 0.01 runs AWS's whole schedule a hundred times faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from lamina.domain.arns import function_arn
from lamina.domain.destinations import (
    DEFAULT_MAX_EVENT_AGE,
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    ZERO_RESERVED_CONCURRENCY,
    DeliveryFailed,
    Destination,
    Response,
    arn_service,
    backoff,
    dead_letter_attributes,
    function_error_delay,
    invocation_record,
)
from lamina.domain.errors import LambdaError, TooManyRequestsException
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.tracing import new_trace_id
from lamina.runtime.admission import BACKGROUND
from lamina.runtime.concurrency import RESERVED_LIMIT
from lamina.runtime.invocation import Invocation
from lamina.services.async_destinations import (
    RETAINED_DESTINATION_SERVICES,
    LambdaDestination,
    RetainedDestination,
)
from lamina.services.async_metrics import FunctionStats, render_async_metrics
from lamina.services.event_invoke_config import (
    EffectiveConfig,
    EventInvokeConfigService,
)
from lamina.services.functions import FunctionService
from lamina.services.invoke import InvokeService
from lamina.services.recursion import RECURSIVE_LOOP_CONDITION, RecursiveInvocationException
from lamina.store.ports import AsyncQueue
from lamina.store.records import DELIVER, INVOKE, NewEvent, QueuedEvent, Retained

log = logging.getLogger("lamina.async")

# Events leased at once (running or held while throttled).
MAX_CLAIMED = 256
# A lease outlives any event it could cover (max age + the longest timeout); leases of a
# server that died are released when the next one starts.
VISIBILITY = DEFAULT_MAX_EVENT_AGE + 900.0 + 60.0
# Held (throttled) events of one function tried again each time capacity frees.
WAKE_PER_CAPACITY = 4
# Outcomes where the function never ran (the platform failed): retried, no attempt counted.
PLATFORM_ERRORS = frozenset({"Sandbox.Failure"})
RETAINED_LIMIT = 100


class PlatformError(Exception):
    """The environment could not run the event: not the function's fault."""


class AsyncInvoker:
    def __init__(
        self,
        store: AsyncQueue,
        invoke: InvokeService,
        functions: FunctionService,
        configs: EventInvokeConfigService,
        *,
        delay_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        max_claimed: int = MAX_CLAIMED,
        destinations: Mapping[str, Destination] | None = None,
    ) -> None:
        self.store = store
        self.invoke = invoke
        self.functions = functions
        self.configs = configs
        self.scale = delay_scale
        self.clock = clock
        self.max_claimed = max_claimed
        self.destinations: dict[str, Destination] = {
            "lambda": LambdaDestination(functions, self.submit)
        }
        for service in RETAINED_DESTINATION_SERVICES:
            self.destinations[service] = RetainedDestination(store, clock)
        # Services Lamina serves (SQS) deliver for real instead of retaining.
        self.destinations.update(destinations or {})
        self.stats: dict[str, FunctionStats] = {}
        self._claimed: dict[int, QueuedEvent] = {}
        self._held: dict[str, deque[QueuedEvent]] = {}
        self._hold_until: dict[str, float] = {}
        self._streak: dict[str, int] = {}  # throttles in a row per function (backoff)
        self._throttle_counted: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._capacity_freed = False
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        for name, count in (await self.store.release_leases()).items():
            self._stats(name).redelivered += count
            log.warning(
                "%d asynchronous event(s) of %s were in flight when the server stopped: "
                "they run again (possible duplicates)",
                count,
                name,
            )
        self._loop_task = asyncio.ensure_future(self._loop())

    def pause(self) -> None:
        """Stop dispatching (shutdown): events not done stay in the queue."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def stop(self) -> None:
        self.pause()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=5)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)
        self.store.close()

    # --- entry points ---------------------------------------------------------------------

    async def enqueue(
        self, config: FunctionConfig, qualifier: str | None, invocation: Invocation
    ) -> None:
        """Invoke with ``InvocationType=Event``: returns once the event is durably queued."""
        await self.submit(
            config.name,
            qualifier,
            invocation.payload,
            invocation.request_id,
            invocation.trace_id or new_trace_id(),
        )

    async def submit(
        self, name: str, qualifier: str | None, payload: bytes, request_id: str, trace_id: str
    ) -> None:
        now = self.clock()
        await self.store.enqueue(
            NewEvent(
                kind=INVOKE,
                function=name,
                qualifier=qualifier,
                request_id=request_id,
                payload=payload,
                trace_id=trace_id,
                received_at=now,
                due_at=now,
            )
        )
        self._stats(name).received += 1
        self._poke()

    def capacity_changed(self) -> None:
        """A concurrency lease was released (or a reservation changed)."""
        if self._held:
            self._capacity_freed = True
            self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # --- the loop ---------------------------------------------------------------------------

    async def _loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                now = self.clock()
                self._wake_held(now)
                room = self.max_claimed - len(self._claimed)
                claimed: list[QueuedEvent] = []
                if room > 0:
                    claimed = await self.store.claim(now, room, VISIBILITY, set(self._held))
                    for event in claimed:
                        if self._stopping:
                            break
                        self._claimed[event.id] = event
                        self._spawn(self._process(event))
                if room > 0 and len(claimed) == room:
                    continue
                timeout = await self._next_timeout(room > 0)
            except Exception:  # noqa: BLE001 - the loop must survive anything
                log.exception("asynchronous dispatcher")
                timeout = 1.0
            if self._stopping:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _next_timeout(self, may_claim: bool) -> float | None:
        moments = list(self._hold_until.values())
        if may_claim:
            due = await self.store.next_due(set(self._held))
            if due is not None:
                moments.append(due)
        if not moments:
            return None
        return max(0.0, min(moments) - self.clock()) + 0.001

    def _wake_held(self, now: float) -> None:
        freed, self._capacity_freed = self._capacity_freed, False
        for name in list(self._held):
            events = self._held[name]
            count = len(events) if now >= self._hold_until[name] else 0
            if freed:
                count = max(count, min(WAKE_PER_CAPACITY, len(events)))
            for _ in range(count):
                self._spawn(self._process(events.popleft()))
            if not events:
                del self._held[name]
                del self._hold_until[name]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, event: QueuedEvent) -> None:
        held = False
        try:
            if event.kind == DELIVER:
                await self._deliver(event)
            else:
                held = await self._invoke(event)
        except Exception:  # noqa: BLE001 - an event is never lost to a bug: retried later
            log.exception("asynchronous event %s of %s", event.request_id, event.function)
            if not self._stopping:
                event.retries += 1
                event.due_at = self.clock() + backoff(event.retries) * self.scale
                with contextlib.suppress(Exception):
                    await self.store.reschedule(event)
        finally:
            if not held:
                self._claimed.pop(event.id, None)
                self._throttle_counted.discard(event.id)
                self._poke()

    # --- invocations ------------------------------------------------------------------------

    async def _invoke(self, event: QueuedEvent) -> bool:
        """One attempt; True when the event is held (throttled)."""
        now = self.clock()
        name, qualifier = event.function, event.qualifier
        stats = self._stats(name)
        try:
            config = self.functions.require(name, qualifier, route=True)
        except LambdaError as exc:
            log.warning("asynchronous event %s dropped: %s", event.request_id, exc.message)
            stats.dropped += 1
            await self.store.finish(event.id, [])
            return False
        settings = self.configs.effective(name, qualifier)
        max_age = settings.max_age * self.scale
        last = Response.from_json(event.last)
        if now - event.received_at >= max_age:
            await self._fail(event, config, settings, EVENT_AGE_EXCEEDED, last)
            return False
        invoked_arn = function_arn(self.functions.region, self.functions.account, name, qualifier)
        if self.invoke.limiter.reserved(name) == 0:
            # A throttle (counted once, as AWS/Lambda Throttles does) that is never retried.
            self.invoke.metrics.throttled(name, invoked_arn, RESERVED_LIMIT)
            await self._fail(event, config, settings, ZERO_RESERVED_CONCURRENCY, last)
            return False
        try:
            trace_id = self.invoke.admit(config, event.trace_id)
        except RecursiveInvocationException:
            # A recursive loop stopped: to the dead-letter queue / on-failure destination.
            await self._fail(event, config, settings, RECURSIVE_LOOP_CONDITION, last)
            return False
        invocation = Invocation(
            request_id=event.request_id,
            payload=event.payload,
            invoked_arn=invoked_arn,
            client_context=None,
            trace_id=trace_id,
        )
        try:
            outcome = await self.invoke.run(
                config, invocation, BACKGROUND, max(0.0, event.received_at + max_age - now)
            )
            if outcome.error_type in PLATFORM_ERRORS:
                raise PlatformError(outcome.payload.decode("utf-8", "replace"))
        except TooManyRequestsException as throttle:
            if self._stopping:
                return False
            if event.id not in self._throttle_counted:
                self._throttle_counted.add(event.id)
                self.invoke.metrics.throttled(name, invoked_arn, throttle.reason)
            self._hold(event, now)
            return True
        except Exception as exc:  # noqa: BLE001 - a platform error: retried with backoff
            if self._stopping:
                return False
            log.warning("asynchronous event %s of %s: %s", event.request_id, name, exc)
            event.retries += 1
            event.due_at = min(
                self.clock() + backoff(event.retries) * self.scale, event.received_at + max_age
            )
            await self.store.reschedule(event)
            return False
        if self._stopping and outcome.function_error is not None:
            return False  # most likely stopped by the shutdown: the next server runs it
        stats.observe_age((now - event.received_at) * 1000)
        self._streak.pop(name, None)
        event.attempts += 1
        response = Response(config.version, outcome.function_error, outcome.payload)
        if outcome.function_error is None:
            stats.succeeded += 1
            follow = []
            target = settings.destinations.on_success
            if target:
                record = self._record(event, SUCCESS, response)
                follow.append(self._delivery(event, target, record, "destination"))
            await self.store.finish(event.id, follow)
            return False
        event.errors += 1
        if event.errors > settings.max_retries:
            await self._fail(event, config, settings, RETRIES_EXHAUSTED, response)
            return False
        event.retries = 0
        event.last = response.to_json()
        delay = function_error_delay(event.errors) * self.scale
        event.due_at = min(self.clock() + delay, event.received_at + max_age)
        await self.store.reschedule(event)
        return False

    def _hold(self, event: QueuedEvent, now: float) -> None:
        name = event.function
        streak = self._streak[name] = self._streak.get(name, 0) + 1
        until = now + backoff(streak) * self.scale
        settings = self.configs.effective(name, event.qualifier)
        until = min(until, event.received_at + settings.max_age * self.scale)
        self._held.setdefault(name, deque()).append(event)
        self._hold_until[name] = min(self._hold_until.get(name, until), until)
        self._poke()

    async def _fail(
        self,
        event: QueuedEvent,
        config: FunctionConfig,
        settings: EffectiveConfig,
        condition: str,
        response: Response | None,
    ) -> None:
        stats = self._stats(event.function)
        stats.dropped += 1
        follow: list[NewEvent] = []
        target = settings.destinations.on_failure
        if target:
            record = self._record(event, condition, response)
            follow.append(self._delivery(event, target, record, "destination"))
        dead_letter = (config.passthrough.get("DeadLetterConfig") or {}).get("TargetArn")
        if dead_letter:
            attributes = dead_letter_attributes(event.request_id, response, condition)
            follow.append(
                self._delivery(event, dead_letter, event.payload, "dead-letter", attributes)
            )
        if not follow:
            log.warning(
                "asynchronous event %s of %s dropped (%s) after %d attempt(s)",
                event.request_id,
                event.function,
                condition,
                event.attempts,
            )
        await self.store.finish(event.id, follow)

    def _record(self, event: QueuedEvent, condition: str, response: Response | None) -> bytes:
        arn = function_arn(
            self.functions.region,
            self.functions.account,
            event.function,
            event.qualifier or LATEST,
        )
        record = invocation_record(
            request_id=event.request_id,
            function_arn=arn,
            condition=condition,
            invoke_count=event.attempts,
            request_payload=event.payload,
            response=response,
            timestamp=self.clock(),
        )
        return json.dumps(record, separators=(",", ":")).encode()

    def _delivery(
        self,
        event: QueuedEvent,
        target: str,
        body: bytes,
        kind: str,
        attributes: dict[str, Any] | None = None,
    ) -> NewEvent:
        now = self.clock()
        meta: dict[str, Any] = {"kind": kind}
        if attributes is not None:
            meta["attributes"] = attributes
        return NewEvent(
            kind=DELIVER,
            function=event.function,
            request_id=event.request_id,
            payload=body,
            trace_id=event.trace_id,
            received_at=now,
            due_at=now,
            target=target,
            meta=meta,
        )

    # --- deliveries -------------------------------------------------------------------------

    async def _deliver(self, event: QueuedEvent) -> None:
        target = event.target or ""
        kind = str(event.meta.get("kind", "destination"))
        destination = self.destinations.get(arn_service(target) or "")
        try:
            if destination is None:
                raise DeliveryFailed(f"no destination for {target}")
            await destination.deliver(
                target,
                event.payload,
                {
                    "kind": kind,
                    "function": event.function,
                    "requestId": event.request_id,
                    "attributes": event.meta.get("attributes"),
                },
            )
        except DeliveryFailed as exc:
            stats = self._stats(event.function)
            if kind == "dead-letter":
                stats.dead_letter_errors += 1
            else:
                stats.destination_failures += 1
            now = self.clock()
            log.warning("delivery of %s to %s failed: %s", event.request_id, target, exc)
            if now - event.received_at >= DEFAULT_MAX_EVENT_AGE * self.scale:
                kept = Retained(
                    function=event.function,
                    reason=f"undeliverable {kind}: {exc}",
                    target=target,
                    request_id=event.request_id,
                    body=event.payload,
                    attributes=event.meta.get("attributes"),
                    created_at=now,
                )
                await self.store.finish(event.id, [], [kept])
                return
            event.retries += 1
            event.due_at = now + backoff(event.retries) * self.scale
            await self.store.reschedule(event)
            return
        await self.store.finish(event.id, [])

    # --- figures ------------------------------------------------------------------------------

    def _stats(self, name: str) -> FunctionStats:
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = FunctionStats()
        return stats

    def snapshot(self, function: str | None = None, retained: bool = False) -> dict[str, Any]:
        """``GET /_lamina/async``: per function, the queue's state and the counters."""
        counts = self.store.counts(self.clock())
        names = sorted(set(counts) | set(self.stats) | set(self._held))
        functions: dict[str, Any] = {}
        for name in names:
            if function is not None and name != function:
                continue
            state = counts.get(name) or {
                "pending": 0,
                "in_flight": 0,
                "retrying": 0,
                "deliveries": 0,
                "retained": 0,
            }
            held = len(self._held.get(name, ()))
            stats = self.stats.get(name) or FunctionStats()
            functions[name] = {
                "pending": state["pending"],
                # Held (throttled) events are leased but waiting: shown as retrying.
                "inFlight": state["in_flight"] - held,
                "retrying": state["retrying"] + held,
                "throttled": held,
                "deliveries": state["deliveries"],
                "retained": state["retained"],
                "received": stats.received,
                "succeeded": stats.succeeded,
                "dropped": stats.dropped,
                "destinationDeliveryFailures": stats.destination_failures,
                "deadLetterErrors": stats.dead_letter_errors,
                "redelivered": stats.redelivered,
            }
        out: dict[str, Any] = {"delayScale": self.scale, "functions": functions}
        if retained:
            out["retained"] = self.store.retained(function, RETAINED_LIMIT)
        return out

    def stats_by_function(self) -> dict[str, FunctionStats]:
        return dict(self.stats)

    def render_metrics(self, function: str | None = None) -> str:
        """The asynchronous-invocation families, Prometheus text (appended to
        ``GET /_lamina/metrics``)."""
        return render_async_metrics(self.stats, function)
