"""In-memory fakes for event source mapping tests: a ``QueueSource`` with SQS's consumer
semantics (visibility, receive counts, redrive to a DLQ, FIFO group locks, long polls woken by
a send) and a ``FunctionInvoker`` running a Python callable."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lamina.services.event_sources.invoker import (
    FunctionTarget,
    FunctionUnavailable,
    InvokeResult,
    Throttled,
)
from lamina.services.queue_ports import (
    MessageAttribute,
    QueueInfo,
    QueueNotFound,
    ReceivedMessage,
)

ACCOUNT = "111111111111"
REGION = "us-east-1"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


@dataclass
class FakeMessage:
    message_id: str
    body: str
    group: str | None
    attributes: dict[str, MessageAttribute]
    sent_ms: int
    visible_at: float = 0.0
    receive_count: int = 0
    first_receive_ms: int | None = None
    handle: str | None = None


@dataclass
class FakeQueue:
    name: str
    visibility_timeout: int = 30
    fifo: bool = False
    max_receive_count: int | None = None
    dead_letter: str | None = None
    messages: list[FakeMessage] = field(default_factory=list)


class FakeQueueSource:
    """``seconds`` scales every visibility duration (0.01: a 30 s timeout lasts 0.3 s)."""

    def __init__(self, seconds: float = 0.01) -> None:
        self.seconds = seconds
        self.queues: dict[str, FakeQueue] = {}
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self.deleted: list[str] = []
        self.receives = 0

    def create(self, name: str, **settings: Any) -> str:
        self.queues[queue_arn(name)] = FakeQueue(name, **settings)
        return queue_arn(name)

    def send(
        self,
        arn: str,
        body: str,
        group: str | None = None,
        attributes: dict[str, MessageAttribute] | None = None,
    ) -> str:
        number = next(self._ids)
        message_id = f"00000000-0000-0000-0000-{number:012d}"
        self.queues[arn].messages.append(
            FakeMessage(message_id, body, group, dict(attributes or {}), int(time.time() * 1000))
        )
        self._arrived.set()
        return message_id

    def bodies(self, arn: str) -> list[str]:
        return [m.body for m in self.queues[arn].messages]

    # --- QueueSource ------------------------------------------------------------------

    def describe(self, arn: str) -> QueueInfo:
        queue = self._queue(arn)
        return QueueInfo(arn, f"http://q/{queue.name}", queue.fifo, queue.visibility_timeout)

    async def receive(
        self,
        arn: str,
        max_messages: int,
        wait_seconds: float,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        self.receives += 1
        deadline = time.monotonic() + wait_seconds
        while True:
            found = self._take(arn, max_messages, visibility_timeout)
            if found or time.monotonic() >= deadline:
                return found
            self._arrived.clear()
            nearest = self._next_visible(arn)
            timeout = deadline - time.monotonic()
            if nearest is not None:
                timeout = min(timeout, max(0.0, nearest - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), max(timeout, 0.001))

    async def delete(self, arn: str, receipt_handles: list[str]) -> None:
        queue = self._queue(arn)
        handles = set(receipt_handles)
        self.deleted.extend(m.message_id for m in queue.messages if m.handle in handles)
        queue.messages = [m for m in queue.messages if m.handle not in handles]
        self._arrived.set()

    async def change_visibility(self, arn: str, receipt_handles: list[str], timeout: int) -> None:
        queue = self._queue(arn)
        for message in queue.messages:
            if message.handle in receipt_handles:
                message.visible_at = time.monotonic() + timeout * self.seconds
        self._arrived.set()

    # --- internals ----------------------------------------------------------------------

    def _queue(self, arn: str) -> FakeQueue:
        queue = self.queues.get(arn)
        if queue is None:
            raise QueueNotFound(arn)
        return queue

    def _next_visible(self, arn: str) -> float | None:
        times = [m.visible_at for m in self._queue(arn).messages]
        return min(times) if times else None

    def _take(self, arn: str, limit: int, visibility: int | None) -> list[ReceivedMessage]:
        queue = self._queue(arn)
        now = time.monotonic()
        locked = {m.group for m in queue.messages if queue.fifo and m.visible_at > now}
        out: list[ReceivedMessage] = []
        for message in list(queue.messages):
            if len(out) >= limit:
                break
            if message.visible_at > now or (queue.fifo and message.group in locked):
                continue
            if (
                queue.max_receive_count is not None
                and queue.dead_letter is not None
                and message.receive_count >= queue.max_receive_count
            ):
                queue.messages.remove(message)
                self.queues[queue.dead_letter].messages.append(message)
                message.visible_at = 0.0
                continue
            message.receive_count += 1
            if message.first_receive_ms is None:
                message.first_receive_ms = int(time.time() * 1000)
            message.handle = f"handle-{message.message_id}-{message.receive_count}"
            seconds = queue.visibility_timeout if visibility is None else visibility
            message.visible_at = now + seconds * self.seconds
            out.append(self._received(message, queue.fifo))
            if queue.fifo and message.group is not None:
                locked.add(message.group)
        return out

    @staticmethod
    def _received(message: FakeMessage, fifo: bool) -> ReceivedMessage:
        attributes = {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(message.sent_ms),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
        }
        if fifo:
            attributes["MessageGroupId"] = message.group or ""
            attributes["SequenceNumber"] = "1"
            attributes["MessageDeduplicationId"] = message.message_id
        assert message.handle is not None
        return ReceivedMessage(
            message_id=message.message_id,
            receipt_handle=message.handle,
            body=message.body,
            md5_of_body=hashlib.md5(message.body.encode()).hexdigest(),
            attributes=attributes,
            message_attributes=message.attributes,
            md5_of_message_attributes=None,
        )


Handler = Callable[[dict[str, Any]], Any]


class FakeInvoker:
    """Runs ``handler(event)`` for the one function ``name`` (any qualifier). The handler may
    return a value (the response, JSON-encoded; bytes are sent as they are) or raise (a
    function error); ``throttle_next`` throttles that many invocations first."""

    def __init__(self, name: str = "fn", handler: Handler | None = None) -> None:
        self.name = name
        self.handler: Handler = handler or (lambda event: None)
        self.events: list[dict[str, Any]] = []
        self.throttle_next = 0
        self.reserved: int | None = None
        self.exists = True
        self.running = 0
        self.peak = 0
        self.delay = 0.0

    async def invoke(self, target: FunctionTarget, payload: bytes) -> InvokeResult:
        if not self.exists or target.name != self.name:
            raise FunctionUnavailable("Function not found")
        if self.throttle_next > 0:
            self.throttle_next -= 1
            raise Throttled(0.01)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            event = json.loads(payload)
            self.events.append(event)
            try:
                result = self.handler(event)
            except Exception as exc:  # noqa: BLE001 - a function error
                body = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})
                return InvokeResult(body.encode(), "Unhandled")
        finally:
            self.running -= 1
        if isinstance(result, bytes):
            return InvokeResult(result, None)
        return InvokeResult(json.dumps(result).encode(), None)

    def concurrency_cap(self, target: FunctionTarget) -> int | None:
        return self.reserved

    def timeout_seconds(self, target: FunctionTarget) -> int | None:
        return 3 if self.exists and target.name == self.name else None
