"""Long polls parked on a queue: one future per waiting receive, woken by arrivals.

A waiting ReceiveMessage (or a poller of an event source mapping) costs a future and a timer
handle, nothing else: no task, no polling loop. ``notify(n)`` wakes the ``n`` oldest waiters
(one per message that became receivable); a waiter that wakes and finds nothing (another took
the message) simply waits again for the rest of its time. The number of waiters per queue is
bounded (``OverLimit`` beyond it).
"""

from __future__ import annotations

import asyncio

from lamina.domain.sqs.errors import OverLimit

# Most receives that may wait on one queue at once (AWS has no documented limit; this bounds
# memory: each is a future and a timer handle).
MAX_WAITERS_PER_QUEUE = 10000


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Waiters:
    """The receives waiting on one queue, oldest first."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: dict[asyncio.Future[None], None] = {}

    def __len__(self) -> int:
        return len(self._futures)

    async def wait(self, timeout: float) -> bool:
        """Wait until notified or ``timeout`` seconds passed; True when notified."""
        if timeout <= 0:
            return False
        if len(self._futures) >= MAX_WAITERS_PER_QUEUE:
            raise OverLimit(
                f"Too many receives are waiting on this queue (at most {MAX_WAITERS_PER_QUEUE})."
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._futures[future] = None
        timer = loop.call_later(timeout, _wake, future)
        notified = False
        try:
            await future
            notified = not timer.cancelled() and timer.when() > loop.time()
            return notified
        except asyncio.CancelledError:
            # A wake-up this waiter got but cannot use passes to the next one.
            if future.done() and not future.cancelled():
                self.notify(1)
            raise
        finally:
            timer.cancel()
            self._futures.pop(future, None)

    def notify(self, count: int = 1) -> None:
        """Wake up to ``count`` waiters, oldest first."""
        if count <= 0 or not self._futures:
            return
        for future in list(self._futures):
            if count <= 0:
                break
            if not future.done():
                future.set_result(None)
                count -= 1
            self._futures.pop(future, None)

    def notify_all(self) -> None:
        self.notify(len(self._futures))
