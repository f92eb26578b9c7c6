"""The schedule runner on a test clock: fires in due order, once per due time, catches up
within its bound, never sleeps past an advance, and forgets removed and finished jobs."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import pytest

from lamina.domain.schedules import AtSchedule, parse_rule_schedule, parse_scheduler_expression
from lamina.services.schedules import Clock, ScheduleRunner, TooManyJobs

UTC = timezone.utc
START = datetime(2026, 12, 7, 0, 0, 30, tzinfo=UTC).timestamp()


def sync(test: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run an async test on a fresh event loop."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())  # type: ignore[arg-type]

    return run


def fake_clock() -> Clock:
    return Clock(wall=lambda: START)


class Recorder:
    def __init__(self) -> None:
        self.fires: list[tuple[str, datetime]] = []

    def fire(self, name: str):  # type: ignore[no-untyped-def]
        async def record(due: datetime) -> None:
            self.fires.append((name, due))

        return record


def minute(n: int) -> datetime:
    return datetime(2026, 12, 7, 0, n, tzinfo=UTC)


@sync
async def test_advance_fires_every_due_job_in_order_once_per_due_time() -> None:
    clock, seen = fake_clock(), Recorder()
    runner = ScheduleRunner(clock)
    await runner.start()
    try:
        runner.set("every-2", parse_rule_schedule("cron(0/2 * * * ? *)"), seen.fire("every-2"))
        runner.set("every-3", parse_rule_schedule("cron(0/3 * * * ? *)"), seen.fire("every-3"))
        await clock.advance(6 * 60)  # now 00:06:30
        # In due-time order (jobs due at the same minute in any order).
        assert [due for _, due in seen.fires] == sorted(due for _, due in seen.fires)
        assert sorted(seen.fires, key=lambda fire: (fire[1], fire[0])) == [
            ("every-2", minute(2)),
            ("every-3", minute(3)),
            ("every-2", minute(4)),
            ("every-2", minute(6)),
            ("every-3", minute(6)),
        ]
        await clock.advance(30)  # 00:07:00: nothing new
        assert len(seen.fires) == 5
        assert runner.due("every-2") == minute(8)
    finally:
        await runner.stop()


@sync
async def test_catch_up_is_bounded_then_resumes_in_the_present() -> None:
    clock, seen = fake_clock(), Recorder()
    runner = ScheduleRunner(clock, max_catch_up=5)
    await runner.start()
    try:
        runner.set("minutely", parse_rule_schedule("cron(* * * * ? *)"), seen.fire("minutely"))
        await clock.advance(24 * 3600)
        assert [due for _, due in seen.fires] == [minute(n) for n in range(1, 6)]
        assert runner.due("minutely") == minute(1) + timedelta(days=1)
    finally:
        await runner.stop()


@sync
async def test_a_job_that_missed_fires_while_down_fires_once() -> None:
    clock, seen = fake_clock(), Recorder()
    runner = ScheduleRunner(clock)
    await runner.start()
    try:
        # Last fired two hours ago: due 12 times since, fires once, then in the present.
        last = clock.now() - timedelta(hours=2)
        rate = parse_rule_schedule("rate(10 minutes)")
        runner.set("late", rate, seen.fire("late"), after=last, missed_once=True)
        await runner.run_due()
        assert seen.fires == [("late", last + timedelta(minutes=10))]
        assert runner.due("late") == clock.now() + timedelta(minutes=10)
    finally:
        await runner.stop()


@sync
async def test_one_time_jobs_and_removed_jobs_are_forgotten() -> None:
    clock, seen = fake_clock(), Recorder()
    runner = ScheduleRunner(clock)
    await runner.start()
    try:
        once = parse_scheduler_expression("at(2026-12-07T00:05:00)", None)
        runner.set("once", once, seen.fire("once"))
        runner.set("gone", parse_rule_schedule("rate(1 minute)"), seen.fire("gone"))
        assert runner.remove("gone") and not runner.remove("gone")
        past = parse_scheduler_expression("at(2020-01-01T00:00:00)", None)
        assert runner.set("past", past, seen.fire("past")) is None
        await clock.advance(3600)
        assert seen.fires == [("once", minute(5))]
        assert len(runner) == 0
    finally:
        await runner.stop()


@sync
async def test_a_fire_callback_may_remove_or_replace_its_job() -> None:
    clock = fake_clock()
    runner = ScheduleRunner(clock)
    fired: list[datetime] = []

    async def fire_then_remove(due: datetime) -> None:
        fired.append(due)
        runner.remove("self")

    await runner.start()
    try:
        runner.set("self", parse_rule_schedule("rate(1 minute)"), fire_then_remove)
        await clock.advance(600)
        assert len(fired) == 1 and "self" not in runner
    finally:
        await runner.stop()


@sync
async def test_a_failing_fire_does_not_stop_the_others() -> None:
    clock, seen = fake_clock(), Recorder()
    runner = ScheduleRunner(clock)

    async def broken(due: datetime) -> None:
        raise RuntimeError("boom")

    await runner.start()
    try:
        runner.set("broken", parse_rule_schedule("cron(0/2 * * * ? *)"), broken)
        runner.set("fine", parse_rule_schedule("cron(0/2 * * * ? *)"), seen.fire("fine"))
        await clock.advance(240)
        assert seen.fires == [("fine", minute(2)), ("fine", minute(4))]
    finally:
        await runner.stop()


@sync
async def test_the_timer_fires_on_the_wall_clock_without_an_advance() -> None:
    clock = Clock()
    runner = ScheduleRunner(clock)
    fired = asyncio.Event()

    async def fire(due: datetime) -> None:
        fired.set()

    await runner.start()
    try:
        runner.set("soon", AtSchedule("at(soon)", clock.now() + timedelta(seconds=0.2)), fire)
        await asyncio.wait_for(fired.wait(), timeout=5)
    finally:
        await runner.stop()


@sync
async def test_the_number_of_jobs_is_bounded() -> None:
    runner = ScheduleRunner(fake_clock(), max_jobs=2)
    rate = parse_rule_schedule("rate(1 minute)")
    noop = Recorder().fire("x")
    runner.set("a", rate, noop)
    runner.set("b", rate, noop)
    runner.set("a", rate, noop)  # replacing is not adding
    with pytest.raises(TooManyJobs):
        runner.set("c", rate, noop)


@sync
async def test_the_clock_only_moves_forward_within_bounds() -> None:
    clock = fake_clock()
    with pytest.raises(ValueError):
        await clock.advance(0)
    with pytest.raises(ValueError):
        await clock.advance(-5)
    await clock.advance(90)
    assert clock.now() == datetime.fromtimestamp(START + 90, UTC)


def test_replacing_and_removing_jobs_keeps_the_heap_bounded() -> None:
    runner = ScheduleRunner(fake_clock())
    rate = parse_rule_schedule("rate(1 minute)")
    noop = Recorder().fire("x")
    for round_ in range(1000):
        runner.set("job", rate, noop)
        runner.set(f"other-{round_ % 3}", rate, noop)
        if round_ % 2:
            runner.remove(f"other-{round_ % 3}")
    assert len(runner) <= 4
    assert len(runner._heap) <= 2 * len(runner) + 65
