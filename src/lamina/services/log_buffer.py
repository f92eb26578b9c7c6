"""The log events waiting to be stored: bounded per stream and in all.

A stream (one execution environment's log stream) may have ``stream_cap`` bytes waiting, and
all streams together ``total_cap`` (over it, only streams with little waiting are served).
Back-pressure comes first: ``has_room`` tells an environment whether to read more of its
runtime's output, and ``when_room`` resumes it once the buffer was taken by the store. What
still comes over a bound is dropped if it is a function's own output (``droppable``) and
counted; the next kept event of that stream, or the next ``take``, is preceded by one marker
event saying how much was lost. Platform lines (START, END, REPORT) are never dropped.

Sizes are counted in characters plus CloudWatch's 26 bytes of overhead per event: cheap, and
exact for ASCII. An event waits as one ``LogRow`` tuple (no object per event on the invoke
path); ``take`` hands the rows over as a ``LogBatch``. Used from the event loop thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lamina.domain.log_events import EVENT_OVERHEAD_BYTES, utf8_size
from lamina.store.log_batch import LogBatch, LogRow, StreamKey

log = logging.getLogger("lamina.logs")

STREAM_RESERVE_BYTES = 64 << 10  # a stream with less waiting is served even when all is full
DROP_WARNING_INTERVAL = 10.0  # seconds between two warnings about dropped output


def dropped_marker(events: int, size: int) -> str:
    """The event that stands in a stream for the output dropped there."""
    return (
        f"[lamina] {events} log events ({size} bytes) of this environment were dropped:"
        " it wrote logs faster than they could be stored"
    )


@dataclass(slots=True)
class _Dropped:
    events: int = 0
    size: int = 0
    timestamp_ms: int = 0


@dataclass(slots=True)
class Taken:
    """What ``take`` hands over: the events to store, their size, whom to resume."""

    events: LogBatch
    size: int
    resume: list[Callable[[], None]] = field(default_factory=list)


class LogBuffer:
    def __init__(
        self, *, stream_cap: int, total_cap: int, flush_events: int, flush_bytes: int
    ) -> None:
        self._stream_cap = stream_cap
        self._total_cap = total_cap
        self._flush_events = flush_events
        self._flush_bytes = flush_bytes
        self._rows: list[LogRow] = []
        self._size = 0
        self._waiting: dict[StreamKey, int] = {}  # (group, stream) -> bytes waiting
        self._dropped: dict[StreamKey, _Dropped] = {}
        self._room_waiters: list[Callable[[], None]] = []
        self._warned_at = -DROP_WARNING_INTERVAL
        self.dropped_events = 0  # since the start, of every stream

    def __len__(self) -> int:
        return len(self._rows)

    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool
    ) -> bool:
        """Add an event (or count it as dropped); True when the buffer should be stored now
        rather than at the next interval."""
        key = (group, stream)
        size = len(message) + EVENT_OVERHEAD_BYTES
        waiting = self._waiting.get(key, 0)
        if droppable and (
            waiting + size > self._stream_cap
            or (self._size + size > self._total_cap and waiting > STREAM_RESERVE_BYTES)
        ):
            self._drop(key, timestamp_ms, message)
            return True
        rows = self._rows
        if self._dropped and key in self._dropped:
            marker = self._marker(key)
            rows.append(marker)
            size += len(marker[2]) + EVENT_OVERHEAD_BYTES
        rows.append((key, timestamp_ms, message))
        self._waiting[key] = waiting + size
        self._size += size
        return len(rows) >= self._flush_events or self._size >= self._flush_bytes

    def has_room(self, group: str, stream: str, size: int) -> bool:
        """Whether ``size`` more bytes of a stream's output would be kept, not dropped."""
        waiting = self._waiting.get((group, stream), 0)
        if waiting == 0:
            return True  # an empty stream may always send one read's worth
        return waiting + size <= self._stream_cap and self._size + size <= self._total_cap

    def when_room(self, callback: Callable[[], None]) -> None:
        """``callback`` is handed out by the next ``take``, which makes room everywhere."""
        self._room_waiters.append(callback)

    def take(self) -> Taken:
        """Everything waiting (with the markers of drops not yet followed by a kept event),
        and the callbacks waiting for room; the buffer is then empty."""
        for key in list(self._dropped):
            self._rows.append(self._marker(key))
        taken = Taken(LogBatch(self._rows), self._size, self._room_waiters)
        self._rows, self._size, self._room_waiters = [], 0, []
        self._waiting.clear()
        return taken

    def _drop(self, key: StreamKey, timestamp_ms: int, message: str) -> None:
        dropped = self._dropped.get(key)
        if dropped is None:
            dropped = self._dropped[key] = _Dropped()
            now = time.monotonic()
            if now - self._warned_at >= DROP_WARNING_INTERVAL:
                self._warned_at = now
                log.warning("log stream %s of %s floods: dropping its excess", key[1], key[0])
        dropped.events += 1
        dropped.size += utf8_size(message)
        dropped.timestamp_ms = max(dropped.timestamp_ms, timestamp_ms)
        self.dropped_events += 1

    def _marker(self, key: StreamKey) -> LogRow:
        dropped = self._dropped.pop(key)
        return (key, dropped.timestamp_ms, dropped_marker(dropped.events, dropped.size))
