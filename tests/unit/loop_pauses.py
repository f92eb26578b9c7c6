"""How long the event loop is kept from turning while some work is awaited (the server's GIL
switch interval in force): what the "off the event loop" tests measure."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from lamina.server import GIL_SWITCH_INTERVAL_S

T = TypeVar("T")


def longest_pause_while(work: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    """``work()``'s result, and the longest the loop waited between two turns meanwhile."""

    async def run() -> tuple[T, float]:
        longest = 0.0
        done = threading.Event()
        ticking_since = asyncio.Event()

        async def tick() -> None:
            nonlocal longest
            last = time.perf_counter()
            ticking_since.set()
            while not done.is_set():
                await asyncio.sleep(0)
                now = time.perf_counter()
                longest = max(longest, now - last)
                last = now

        ticking = asyncio.ensure_future(tick())
        # The clock runs before the work starts: a thread that takes the GIL at once (its
        # first step a long C call) would otherwise hold the loop before the first tick,
        # unmeasured.
        await ticking_since.wait()
        try:
            result = await work()
        finally:
            done.set()
            await ticking
        return result, longest

    previous = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        return asyncio.run(run())
    finally:
        sys.setswitchinterval(previous)
