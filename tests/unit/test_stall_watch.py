"""``--stall-report-ms``: a held event loop is reported with every thread's stack
(``stall_watch``), while it is held, and how long it was held once it is back; a free loop
is not reported."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lamina.stall_watch import watch_stalls


def _hold_the_loop_for(seconds: float) -> None:
    time.sleep(seconds)


def _spin_the_loop_for(seconds: float) -> None:
    """Python code that holds the loop and, between bytecodes, lets the GIL go."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def _report(path: Path, hold: Callable[[], None] | None) -> str:
    async def run() -> None:
        with path.open("w") as out:
            watching = asyncio.ensure_future(watch_stalls(50, out))
            await asyncio.sleep(0.05)
            if hold is not None:
                hold()
            await asyncio.sleep(0.05)
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)

    asyncio.run(run())
    return path.read_text()


def test_a_held_loop_is_reported_with_the_code_that_held_it(tmp_path: Path) -> None:
    report = _report(tmp_path / "stalls.txt", lambda: _hold_the_loop_for(0.2))
    assert "lamina: the event loop has been held" in report
    assert "(threshold 50.0 ms)" in report
    loop_stack = report.split("(the event loop), most recent call last:")[1]
    assert "in _hold_the_loop_for" in loop_stack.split("\nThread ")[0]
    assert "lamina-stall-watch" not in report  # the watchdog leaves its own stack out
    held = re.search(r"the event loop was held ([\d.]+) ms\n", report)
    assert held is not None, report
    assert 190 <= float(held.group(1)) <= 300, report


def test_python_code_holding_the_loop_is_reported_while_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "stalls.txt"
    during: list[str] = []

    def spin() -> None:
        _spin_the_loop_for(0.3)
        during.append(path.read_text())  # still inside the stall

    _report(path, spin)
    assert "in _spin_the_loop_for" in during[0]


def test_a_c_call_holding_the_gil_is_reported_by_its_length(tmp_path: Path) -> None:
    """No bytecode runs while ``sum`` adds up a range: the watchdog may not get the GIL
    before the loop is back, but the loop's own beat counts the stall."""
    started: list[float] = []

    def add_up() -> None:
        started.append(time.monotonic())
        sum(range(20_000_000))
        started.append(time.monotonic())

    report = _report(tmp_path / "stalls.txt", add_up)
    took_ms = (started[1] - started[0]) * 1000
    held = re.search(r"the event loop was held ([\d.]+) ms\n", report)
    assert held is not None, report
    assert took_ms - 10 <= float(held.group(1)) <= took_ms + 60, (took_ms, report)


def test_every_thread_is_in_the_report(tmp_path: Path) -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait, name="a-waiting-worker")
    worker.start()
    try:
        report = _report(tmp_path / "stalls.txt", lambda: _hold_the_loop_for(0.2))
    finally:
        release.set()
        worker.join()
    assert "Thread a-waiting-worker, most recent call last:" in report


def test_a_free_loop_is_not_reported(tmp_path: Path) -> None:
    assert _report(tmp_path / "stalls.txt", None) == ""
