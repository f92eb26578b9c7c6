"""How many pollers (concurrent batches) one mapping runs.

A mapping starts with one poller. A poller whose batch came back full asks for one more, at
most one new poller per ``GROWTH_INTERVAL`` seconds (AWS adds up to 300 a minute), up to the
limit: ``ScalingConfig.MaximumConcurrency`` (default AWS's ceiling of 1,000 concurrent batches)
and the function's reserved concurrency. A poller leaves when its long poll came back empty
(while others run) or after a throttle (while others run), and whenever more run than the
limit allows, so an idle mapping holds one long poll and costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_MAXIMUM_POLLERS = 1000
GROWTH_INTERVAL = 0.2


class PollerScaler:
    def __init__(
        self,
        maximum: int | None,
        clock: Callable[[], float] = time.monotonic,
        growth_interval: float = GROWTH_INTERVAL,
    ) -> None:
        self.maximum = maximum if maximum is not None else DEFAULT_MAXIMUM_POLLERS
        self.running = 0
        self._clock = clock
        self._growth_interval = growth_interval
        self._last_growth = float("-inf")

    def limit(self, reserved: int | None) -> int:
        """Pollers allowed now (0 while the function's reserved concurrency is 0)."""
        return self.maximum if reserved is None else min(self.maximum, reserved)

    def should_grow(self, full_batch: bool, reserved: int | None) -> bool:
        """After a batch: whether to start one more poller (and count it as started)."""
        if not full_batch or self.running >= self.limit(reserved):
            return False
        now = self._clock()
        if now - self._last_growth < self._growth_interval:
            return False
        self._last_growth = now
        self.running += 1
        return True

    def should_retire(self, busy: bool, reserved: int | None) -> bool:
        """Whether the calling poller should stop (and count it as stopped): beyond the limit,
        or idle/throttled (``busy`` False) while another poller keeps polling."""
        if self.running > max(1, self.limit(reserved)) or (not busy and self.running > 1):
            self.running -= 1
            return True
        return False
