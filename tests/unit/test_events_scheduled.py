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
