"""``--stall-report-ms``: a held event loop is reported with every thread's stack
(``stall_watch``); a free one is not."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lamina.stall_watch import watch_stalls


def _hold_the_loop_for(seconds: float) -> None:
    time.sleep(seconds)


def _report(path: Path, hold: float) -> str:
    async def run() -> None:
        with path.open("w") as out:
            watching = asyncio.ensure_future(watch_stalls(50, out))
            await asyncio.sleep(0.05)
            if hold:
                _hold_the_loop_for(hold)
            await asyncio.sleep(0.05)
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)

    asyncio.run(run())
    return path.read_text()


def test_a_held_loop_is_reported_with_the_code_that_held_it(tmp_path: Path) -> None:
    report = _report(tmp_path / "stalls.txt", 0.2)
    assert "Timeout (0:00:00.050000)!" in report
    assert "in _hold_the_loop_for" in report


def test_a_free_loop_is_not_reported(tmp_path: Path) -> None:
    assert _report(tmp_path / "stalls.txt", 0) == ""
