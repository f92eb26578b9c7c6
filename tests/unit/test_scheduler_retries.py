"""Scheduler's pending retries are durable: a failed delivery is stored with its attempt
count and due time, a new ``ScheduleDelivery`` on the same database resumes it (at once when
its due time passed while down), and the row goes once the delivery is over."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from test_schedule_scheduler_service import DLQ, FUNCTION, ROLE, START, Sinks

from lamina.services.scheduler.delivery import ScheduleDelivery
from lamina.services.scheduler.records import ScheduleRecord, TargetRecord
from lamina.services.scheduler.targets import TargetSinks
from lamina.services.schedules import Clock, ScheduleRunner
from lamina.store.scheduler_store import SqliteSchedulerStore

TARGET = TargetRecord(
    FUNCTION, ROLE, input="x", max_retry_attempts=4, max_event_age=3600, dead_letter_arn=DLQ
)
SCHEDULE = ScheduleRecord(
    "us-east-1", "000000000000", "default", "s", "rate(1 hour)", "UTC", TARGET, START, START
)


class Run:
    """One server run: a store on ``path``, a clock ``offset`` s ahead, resumed retries."""

    def __init__(self, path: Path, offset: float, sinks: Sinks) -> None:
        self.store = SqliteSchedulerStore(path)
        self.clock = Clock(wall=lambda: START, offset=offset)
        self.runner = ScheduleRunner(self.clock)
        self.delivery = ScheduleDelivery(
            TargetSinks(sinks, sinks, sinks, sinks), self.runner, self.store
        )
        self.delivery.resume(self.store.load_retries())

    def rows(self) -> list[tuple[int, float]]:
        with sqlite3.connect(self.store.path) as conn:
            return [
                (int(r[0]), float(r[1]))
                for r in conn.execute("SELECT retries, due FROM scheduler_retries")
            ]


def test_a_retry_survives_a_restart_and_resumes_at_its_due_time(tmp_path: Path) -> None:
    async def body() -> None:
        sinks = Sinks()
        sinks.missing.add(FUNCTION)
        first = Run(tmp_path / "s.sqlite3", 0.0, sinks)
        await first.delivery.deliver(SCHEDULE, datetime.fromtimestamp(START, UTC))
        await first.clock.advance(1)
        await first.runner.run_due()  # the first retry (after 1 s) fails too
        assert first.rows() == [(2, START + 1 + 2)]
        assert first.delivery.pending_retries == 1
        first.store.close()  # "killed": nothing else is written

        sinks.missing.clear()
        second = Run(tmp_path / "s.sqlite3", 60.0, sinks)  # a minute later
        assert second.delivery.pending_retries == 1
        assert sinks.invoked == []
        await second.runner.run_due()  # due while down: at once
        assert sinks.invoked == [(FUNCTION, b"x")]
        assert second.rows() == [] and second.delivery.pending_retries == 0
        second.store.close()

    asyncio.run(body())


def test_attempts_count_on_across_restarts_then_dead_letter(tmp_path: Path) -> None:
    async def body() -> None:
        sinks = Sinks()
        sinks.missing.add(FUNCTION)
        first = Run(tmp_path / "s.sqlite3", 0.0, sinks)
        await first.delivery.deliver(SCHEDULE, datetime.fromtimestamp(START, UTC))
        for seconds in (1, 2):  # retries 1 and 2 made; 3 waits
            await first.clock.advance(seconds)
            await first.runner.run_due()
        assert first.rows() == [(3, START + 3 + 4)]
        first.store.close()

        second = Run(tmp_path / "s.sqlite3", 3.0, sinks)
        await second.runner.start()
        try:
            assert second.runner.due("scheduler-retry:1") == datetime.fromtimestamp(START + 7, UTC)
            await second.clock.advance(4)  # retry 3
            assert second.rows() == [(4, START + 7 + 8)]
            await second.clock.advance(8)  # retry 4: the last one, then the DLQ
            [(arn, body_text, attributes, _)] = sinks.sent
            assert (arn, body_text) == (DLQ, "x")
            assert attributes["RETRY_ATTEMPTS"] == "4"
            assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
            assert second.rows() == []
        finally:
            await second.runner.stop()
            second.store.close()

    asyncio.run(body())
