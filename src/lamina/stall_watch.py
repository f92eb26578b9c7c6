"""Reporting stalls of the event loop (``--stall-report-ms``): a diagnostic.

Nothing may hold the event loop: every invocation waits while it is held. With the setting,
each turn of the loop re-arms ``faulthandler.dump_traceback_later``; when the loop does not
come back within the threshold, faulthandler's own thread (which runs without the GIL) writes
every thread's stack to stderr: the code that held the loop, or, when the loop waits for the
GIL, the thread that holds it ("Current thread").
"""

from __future__ import annotations

import asyncio
import faulthandler
import sys
from typing import TextIO

# How often the watch is re-armed, at most: a stall is reported after the threshold plus
# up to this much.
REARM_SECONDS = 0.005


async def watch_stalls(threshold_ms: int, out: TextIO | None = None) -> None:
    """Until cancelled: report each stall of the running loop longer than ``threshold_ms``."""
    threshold = threshold_ms / 1000
    rearm = min(REARM_SECONDS, threshold / 4)
    stream = out if out is not None else sys.stderr
    try:
        while True:
            faulthandler.dump_traceback_later(threshold, file=stream)
            await asyncio.sleep(rearm)
    finally:
        faulthandler.cancel_dump_traceback_later()
