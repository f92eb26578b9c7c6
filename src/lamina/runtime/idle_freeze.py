"""Freezing an execution environment once it has been idle a moment (as AWS freezes one
between invocations).

Not at once: back-to-back invocations (a client's next request, a busy function under
load) then cost no cgroup freeze and thaw, the two largest costs of a warm invoke on the
server. An idle environment is frozen within ``FREEZE_AFTER_IDLE_SECONDS``, so its
background threads stop as before. One timer per environment at most: while invocations
keep coming, the timer that fires re-arms itself for the time the environment has been
idle since, instead of a timer armed and cancelled per invocation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

FREEZE_AFTER_IDLE_SECONDS = 0.02


class IdleFreezer:
    """Calls ``freeze`` once ``is_idle`` has stayed true ``FREEZE_AFTER_IDLE_SECONDS``
    after the last ``went_idle``."""

    def __init__(self, is_idle: Callable[[], bool], freeze: Callable[[], None]) -> None:
        self._is_idle = is_idle
        self._freeze = freeze
        self._timer: asyncio.TimerHandle | None = None
        self._idle_since = 0.0  # event-loop time
        self._loop: asyncio.AbstractEventLoop | None = None

    def went_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        """The environment just went idle (an invocation ended)."""
        self._loop = loop
        self._idle_since = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(FREEZE_AFTER_IDLE_SECONDS, self._due)

    def cancel(self) -> None:
        """No freeze to come (the environment ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _due(self) -> None:
        self._timer = None
        if not self._is_idle():
            return  # busy again (its end re-arms the timer) or dead
        loop = self._loop
        assert loop is not None
        remaining = self._idle_since + FREEZE_AFTER_IDLE_SECONDS - loop.time()
        if remaining > 0.001:
            # It ran an invocation since the timer was armed: wait out its idle time.
            self._timer = loop.call_later(remaining, self._due)
            return
        self._freeze()
