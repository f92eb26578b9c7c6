"""Scheduled rules on an advanceable clock: an enabled rule's every due time puts AWS's
``Scheduled Event`` to its targets; disabling or deleting it stops the fires."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from test_events_service import CTX, DEFAULT, QUEUE, Router

from lamina.services.events.scheduled import RuleSchedules
from lamina.services.schedules import Clock, ScheduleRunner

START = 1_790_000_000.0  # a whole minute


def test_scheduled_rule_fires_the_scheduled_event(tmp_path: Path) -> None:
    asyncio.run(_scheduled(tmp_path))


async def _scheduled(tmp_path: Path) -> None:
    router = Router(tmp_path / "events.sqlite3")
    clock = Clock(wall=lambda: START)
    router.service.registry.clock = clock.timestamp  # rules are created on the same clock
    runner = ScheduleRunner(clock)
    schedules = RuleSchedules(runner, router.service.fire_scheduled)
    router.service.rules.schedules = schedules
    await router.service.start()
    await runner.start()
    try:
        book = router.service.rules
        rule = await book.put_rule(
            DEFAULT,
            "every-5",
            event_pattern=None,
            schedule="rate(5 minutes)",
            state=None,
            description=None,
            role_arn=None,
            tags={},
        )
        await book.put_targets(DEFAULT, "every-5", [{"Id": "t", "Arn": QUEUE}])
        await clock.advance(300)
        await router.settle()
        ((arn, body, _, _),) = router.queues.sent
        event = json.loads(body)
        assert arn == QUEUE
        assert (event["source"], event["detail-type"], event["detail"]) == (
            "aws.events",
            "Scheduled Event",
            {},
        )
        assert event["resources"] == [rule.arn]
        assert event["account"] == CTX.account_id and event["version"] == "0"
        await book.set_state(DEFAULT, "every-5", "DISABLED")
        await clock.advance(600)
        await router.settle()
        assert len(router.queues.sent) == 1
        await book.set_state(DEFAULT, "every-5", "ENABLED")
        await clock.advance(300)
        await router.settle()
        assert len(router.queues.sent) == 2
        await book.remove_targets(DEFAULT, "every-5", ["t"])
        await book.delete_rule(DEFAULT, "every-5")
        assert len(runner) == 0
    finally:
        await runner.stop()
        await router.service.stop()


async def _router_on(path: Path, clock: Clock) -> tuple[Router, ScheduleRunner]:
    router = Router(path)
    router.service.registry.clock = clock.timestamp
    runner = ScheduleRunner(clock)
    router.service.rules.schedules = RuleSchedules(runner, router.service.fire_scheduled)
    await router.service.start()
    await runner.start()
    return router, runner


async def _scheduled_rule(router: Router, name: str, expression: str) -> None:
    book = router.service.rules
    await book.put_rule(
        DEFAULT,
        name,
        event_pattern=None,
        schedule=expression,
        state=None,
        description=None,
        role_arn=None,
        tags={},
    )
    await book.put_targets(DEFAULT, name, [{"Id": "t", "Arn": QUEUE}])


def _times(router: Router) -> list[str]:
    return [json.loads(body)["time"] for _, body, _, _ in router.queues.sent]


def test_the_event_time_is_the_due_time_not_the_clock(tmp_path: Path) -> None:
    """An advance of 17 minutes past three due times of a 5-minute rate puts three events
    whose ``time`` are those due times (not the advanced clock's now)."""

    async def body() -> None:
        clock = Clock(wall=lambda: START)
        router, runner = await _router_on(tmp_path / "events.sqlite3", clock)
        try:
            await _scheduled_rule(router, "every-5", "rate(5 minutes)")
            await clock.advance(17 * 60)
            await router.settle()
            assert _times(router) == [
                "2026-09-21T14:18:20Z",
                "2026-09-21T14:23:20Z",
                "2026-09-21T14:28:20Z",
            ]
        finally:
            await runner.stop()
            await router.service.stop()

    asyncio.run(body())


def test_a_restart_fires_once_for_what_the_downtime_missed(tmp_path: Path) -> None:
    """Stopped after a fire and started an hour later, a rate(5 minutes) rule fires once at
    start for the twelve due times it missed (at the first of them), then every 5 minutes again; a
    rule disabled before the downtime and enabled after it does not catch up."""
    path = tmp_path / "events.sqlite3"

    async def body() -> None:
        clock = Clock(wall=lambda: START)
        router, runner = await _router_on(path, clock)
        try:
            await _scheduled_rule(router, "every-5", "rate(5 minutes)")
            await clock.advance(300)
            await router.settle()
            assert len(router.queues.sent) == 1
        finally:
            await runner.stop()
            await router.service.stop()

        later = Clock(wall=lambda: START, offset=300 + 3600)
        router, runner = await _router_on(path, later)
        try:
            await runner.run_due()
            await router.settle()
            # One fire, for the first due time missed (START + 10 min), none for the others.
            assert _times(router) == ["2026-09-21T14:23:20Z"]
            await later.advance(300)
            await router.settle()
            assert _times(router)[1:] == ["2026-09-21T15:23:20Z"]
            await router.service.rules.set_state(DEFAULT, "every-5", "DISABLED")
        finally:
            await runner.stop()
            await router.service.stop()

        again = Clock(wall=lambda: START, offset=300 + 3600 + 300 + 7200)
        router, runner = await _router_on(path, again)
        try:
            await router.service.rules.set_state(DEFAULT, "every-5", "ENABLED")
            await runner.run_due()
            await router.settle()
            assert router.queues.sent == []  # armed from now: nothing to catch up
            await again.advance(300)
            await router.settle()
            assert len(router.queues.sent) == 1
        finally:
            await runner.stop()
            await router.service.stop()

    asyncio.run(body())
