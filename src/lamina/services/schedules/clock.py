"""The clock schedules run on: the wall clock plus an offset that tests move forward.

``POST /_lamina/clock?advance=<seconds>`` (docs/schedules.md) calls ``advance``: the offset
grows, and every subscriber (each ``ScheduleRunner``) runs the jobs that became due before
``advance`` returns, so a test that advances the clock by an hour sees an hourly schedule's
fire without sleeping. The offset only grows (time never goes back) and lives in memory: a
restarted server starts on the wall clock again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

UTC = timezone.utc

# The most one advance may move the clock (about ten years): bounds the catch-up work.
MAX_ADVANCE_SECONDS = 10 * 366 * 86400

Subscriber = Callable[[], Awaitable[object]]


class Clock:
    """``now()`` is the wall clock plus ``offset`` seconds."""

    def __init__(self, wall: Callable[[], float] = time.time, offset: float = 0.0) -> None:
        """``offset``: seconds the clock starts ahead of ``wall`` (at least 0)."""
        self._wall = wall
        self.offset = max(0.0, offset)
        self._subscribers: list[Subscriber] = []
        self._advancing = asyncio.Lock()

    def timestamp(self) -> float:
        """Seconds since the epoch, offset included."""
        return self._wall() + self.offset

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` (and wait for it) after each advance."""
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    async def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (0 < seconds <= MAX_ADVANCE_SECONDS, else
        ``ValueError``) and return once every subscriber ran what became due."""
        if not 0 < seconds <= MAX_ADVANCE_SECONDS:
            raise ValueError(f"advance takes 0 < seconds <= {MAX_ADVANCE_SECONDS}")
        async with self._advancing:
            self.offset += seconds
            for subscriber in list(self._subscribers):
                await subscriber()
