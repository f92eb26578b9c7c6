"""Reporting stalls of the event loop (``--stall-report-ms``): a diagnostic.

Nothing may hold the event loop: every invocation waits while it is held. With the setting,
the loop stamps a heartbeat every few milliseconds and a watchdog thread checks it; when the
loop has not come back within the threshold, the watchdog writes every thread's stack to
stderr (the loop thread's first: the code that holds it), then, once the loop is back, how
long it was held.

The watchdog is a Python thread, so it needs the GIL to report: while Python code holds the
loop it gets the GIL within the switch interval and the report is written during the stall;
while one C call holds the GIL (a thread's or the loop's), the watchdog may get it only once
the loop is back, and the report is then the stall's length alone. (``faulthandler``'s
watchdog, which needs no GIL, reads the other threads' frames while they change: it crashed
the server.)
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections import deque
from typing import TextIO

# How often the loop stamps its heartbeat, at most: a stall is reported after the threshold
# plus up to this much.
HEARTBEAT_SECONDS = 0.005


class _Watchdog:
    """The thread that compares the loop's heartbeat with the clock."""

    def __init__(self, threshold: float, heartbeat: float, out: TextIO) -> None:
        self.threshold = threshold
        self.heartbeat = heartbeat
        self.out = out
        self.loop_thread = threading.get_ident()
        self.last_beat = time.monotonic()
        self.ended_stalls: deque[float] = deque()  # how long, appended by the loop
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="lamina-stall-watch", daemon=True)

    def beat(self) -> None:
        """On the loop: stamp the heartbeat; note a stall that this beat ends."""
        now = time.monotonic()
        held = now - self.last_beat - self.heartbeat
        self.last_beat = now
        if held > self.threshold:
            self.ended_stalls.append(held)

    def _watch(self) -> None:
        reported_beat = 0.0
        while not self.stopped.wait(min(self.threshold / 2, self.heartbeat)):
            beat = self.last_beat
            held = time.monotonic() - beat - self.heartbeat
            if held > self.threshold and beat != reported_beat:
                self._write(self._stacks(held))
                reported_beat = beat
            while self.ended_stalls:
                self._write(f"lamina: the event loop was held {_ms(self.ended_stalls.popleft())}\n")

    def _stacks(self, held: float) -> str:
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        threshold = _ms(self.threshold)
        lines = [f"lamina: the event loop has been held {_ms(held)} (threshold {threshold})\n"]
        frames = sys._current_frames()
        loop_first = sorted(frames, key=lambda ident: ident != self.loop_thread)
        for ident in loop_first:
            if ident == threading.get_ident():
                continue
            role = " (the event loop)" if ident == self.loop_thread else ""
            lines.append(f"\nThread {names.get(ident, hex(ident))}{role}, most recent call last:\n")
            lines.extend(traceback.format_stack(frames[ident]))
        return "".join(lines) + "\n"

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):  # a closed stream: nothing to report to
            self.stopped.set()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def watch_stalls(threshold_ms: int, out: TextIO | None = None) -> None:
    """Until cancelled: report each stall of the running loop longer than ``threshold_ms``."""
    threshold = threshold_ms / 1000
    heartbeat = min(HEARTBEAT_SECONDS, threshold / 4)
    watchdog = _Watchdog(threshold, heartbeat, out if out is not None else sys.stderr)
    watchdog.thread.start()
    try:
        while True:
            watchdog.beat()
            await asyncio.sleep(heartbeat)
    finally:
        watchdog.stopped.set()
        watchdog.thread.join()
