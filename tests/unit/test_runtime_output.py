"""The rate at which a runtime's output is read (``LineRate``), and ``RuntimeOutput``
stopping and resuming its reads for it, with a real pipe on a real event loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence

from lamina.runtime.runtime_output import LineRate, RuntimeOutput


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_second_of_lines_is_saved_then_the_rate() -> None:
    clock = Clock()
    rate = LineRate(100, clock)
    assert rate.wait_seconds() == 0
    rate.spend(100)  # the saved second, spent at once
    assert rate.wait_seconds() == 0.01  # one line's worth
    clock.now += 0.5
    assert rate.wait_seconds() == 0  # 50 lines back
    rate.spend(50)
    assert rate.wait_seconds() == 0.01


def test_an_overdraft_is_paid_before_the_next_read() -> None:
    clock = Clock()
    rate = LineRate(100, clock)
    rate.spend(350)  # one read took more than was saved
    assert abs(rate.wait_seconds() - 2.51) < 1e-9
    clock.now += 2.51
    assert rate.wait_seconds() == 0


def test_idle_time_saves_one_second_at_most() -> None:
    clock = Clock()
    rate = LineRate(100, clock)
    clock.now += 60
    rate.wait_seconds()
    rate.spend(100)
    assert rate.wait_seconds() > 0


class Sink:
    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool = False
    ) -> None:
        pass

    def append_platform(
        self, group: str, stream: str, timestamp_ms: int, messages: Sequence[str]
    ) -> None:
        pass

    def has_room(self, group: str, stream: str, size: int) -> bool:
        return True

    def when_room(self, callback: Callable[[], None]) -> None:
        raise AssertionError("never full")


def test_a_reader_over_its_rate_reads_again_only_after_the_debt() -> None:
    async def scenario() -> list[float]:
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        reads: list[float] = []
        loop = asyncio.get_running_loop()
        output = RuntimeOutput(
            read_end, Sink(), "g", "s", lambda line: reads.append(loop.time()), LineRate(20)
        )
        output.watch()
        started = loop.time()
        os.write(write_end, b"x\n" * 40)  # 20 over the saved second: 1 s of debt
        await asyncio.sleep(0.2)
        os.write(write_end, b"y\n")  # waits for the debt to be paid
        while len(reads) < 41 and loop.time() - started < 5:
            await asyncio.sleep(0.01)
        output.close()
        os.close(write_end)
        return [when - started for when in reads]

    reads = asyncio.run(scenario())
    assert len(reads) == 41
    assert reads[39] < 0.2
    assert 0.9 <= reads[40] < 2.0
