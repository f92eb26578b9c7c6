"""The Scheduler service on a test clock with in-memory ports: firing, ActionAfterCompletion,
flexible windows, retries and dead letters, group deletion and restarts."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lamina.domain.sqs.errors import MissingParameter
from lamina.services.function_ports import FunctionNotFound, FunctionRejected
from lamina.services.queue_ports import MessageAttribute, QueueNotFound
from lamina.services.scheduler.delivery import ScheduleDelivery
from lamina.services.scheduler.errors import ResourceNotFoundException
from lamina.services.scheduler.records import GroupRecord, ScheduleRecord, TargetRecord
from lamina.services.scheduler.service import SchedulerService, ScheduleSpec
from lamina.services.scheduler.targets import TargetSinks
from lamina.services.schedules import Clock, ScheduleRunner
from lamina.services.topic_ports import TopicAttribute, TopicNotFound

UTC = timezone.utc
START = datetime(2026, 12, 7, 0, 0, 0, tzinfo=UTC).timestamp()
REGION, ACCOUNT = "us-east-1", "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"


def sync(test: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())  # type: ignore[arg-type]

    return run


class MemoryStore:
    def __init__(self) -> None:
        self.groups: dict[tuple[str, str, str], GroupRecord] = {}
        self.schedules: dict[tuple[str, str, str, str], ScheduleRecord] = {}

    async def put_group(self, group: GroupRecord) -> None:
        self.groups[(group.region, group.account_id, group.name)] = group

    async def delete_group(self, region: str, account_id: str, name: str) -> None:
        self.groups.pop((region, account_id, name), None)
        for key in [k for k in self.schedules if k[:3] == (region, account_id, name)]:
            del self.schedules[key]

    async def put_schedule(self, schedule: ScheduleRecord) -> None:
        self.schedules[schedule.key] = schedule

    async def delete_schedule(self, key: tuple[str, str, str, str]) -> None:
        self.schedules.pop(key, None)

    async def record_fire(self, key: tuple[str, str, str, str], fired_at: float) -> None:
        if key in self.schedules:
            self.schedules[key] = self.schedules[key].fired(fired_at)


class Sinks:
    def __init__(self) -> None:
        self.invoked: list[tuple[str, bytes]] = []
        self.sent: list[tuple[str, str, dict[str, str], str | None]] = []
        self.missing: set[str] = set()
        self.rejecting: set[str] = set()
        self.published: list[tuple[str, str, str | None]] = []
        self.events: list[tuple[str, str, str, str, list[str]]] = []

    async def invoke_async(
        self, function_arn: str, payload: bytes, *, trace_header: str | None = None
    ) -> str:
        if function_arn in self.missing:
            raise FunctionNotFound("Function not found")
        if function_arn in self.rejecting:
            raise FunctionRejected("too large")
        self.invoked.append((function_arn, payload))
        return "request-id"

    async def send(
        self,
        arn: str,
        body: str,
        message_attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        message_group_id: str | None = None,
        deduplication_id: str | None = None,
        trace_header: str | None = None,
    ) -> str:
        if arn in self.missing:
            raise QueueNotFound(arn)
        if arn in self.rejecting:
            raise MissingParameter("The request must contain the parameter MessageGroupId.")
        attributes = {k: v.string_value or "" for k, v in (message_attributes or {}).items()}
        self.sent.append((arn, body, attributes, message_group_id))
        return "message-id"

    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: dict[str, TopicAttribute] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        if topic_arn in self.missing:
            raise TopicNotFound(topic_arn)
        self.published.append((topic_arn, message, group_id))
        return "message-id"

    async def put_event(
        self,
        bus_arn: str,
        *,
        source: str,
        detail_type: str,
        detail: str,
        resources: list[str] | None = None,
    ) -> str:
        self.events.append((bus_arn, source, detail_type, detail, resources or []))
        return "event-id"


def build(
    store: MemoryStore | None = None, offset: float = 0.0
) -> tuple[SchedulerService, Clock, Sinks, MemoryStore]:
    clock = Clock(wall=lambda: START, offset=offset)
    runner = ScheduleRunner(clock)
    sinks = Sinks()
    store = store or MemoryStore()
    targets = TargetSinks(sinks, sinks, sinks, sinks)
    service = SchedulerService(store, runner, ScheduleDelivery(targets, runner))
    service.groups.load(list(store.groups.values()))
    service.load(list(store.schedules.values()))
    return service, clock, sinks, store


def spec(name: str, expression: str, target: TargetRecord, **kwargs: Any) -> ScheduleSpec:
    return ScheduleSpec(
        name=name, group="default", expression=expression, timezone="UTC", target=target, **kwargs
    )


@sync
async def test_one_time_schedule_fires_once_then_deletes_itself() -> None:
    service, clock, sinks, store = build()
    await service.runner.start()
    target = TargetRecord(FUNCTION, ROLE, input='{"a": 1}')
    await service.create(
        REGION,
        ACCOUNT,
        spec("once", "at(2026-12-07T00:10:00)", target, action_after_completion="DELETE"),
    )
    await service.create(REGION, ACCOUNT, spec("kept", "at(2026-12-07T00:10:00)", target))
    await clock.advance(600)
    assert sinks.invoked == [(FUNCTION, b'{"a": 1}')] * 2
    with pytest.raises(ResourceNotFoundException):
        service.get(REGION, ACCOUNT, None, "once")
    assert [key[3] for key in store.schedules] == ["kept"]
    kept = service.get(REGION, ACCOUNT, None, "kept")
    assert kept.last_fired == START + 600  # a NONE schedule stays, completed
    await clock.advance(3600)
    assert len(sinks.invoked) == 2


@sync
async def test_flexible_window_fires_within_the_window_after_each_due_time() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    await service.create(
        REGION,
        ACCOUNT,
        spec("flex", "cron(0 1 * * ? *)", TargetRecord(QUEUE, ROLE), flexible_window_minutes=10),
    )
    await clock.advance(3599)
    assert sinks.sent == []  # never before the due time
    await clock.advance(601)  # 01:10: the end of the window
    assert len(sinks.sent) == 1
    record = service.get(REGION, ACCOUNT, None, "flex")
    assert record.last_fired is not None
    assert START + 3600 <= record.last_fired < START + 3600 + 600


@sync
async def test_retries_then_dead_letter_with_aws_attributes() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    sinks.missing.add(FUNCTION)
    target = TargetRecord(
        FUNCTION, ROLE, input="x", max_retry_attempts=3, max_event_age=3600, dead_letter_arn=DLQ
    )
    created = await service.create(REGION, ACCOUNT, spec("retry", "cron(0 1 * * ? *)", target))
    await clock.advance(3600)
    assert sinks.sent == []
    for _ in range(3):  # retries after 1, 2 and 4 seconds
        await clock.advance(4)
    [(arn, body, attributes, _)] = sinks.sent
    assert (arn, body) == (DLQ, "x")
    assert attributes == {
        "ERROR_CODE": "ResourceNotFoundException",
        "ERROR_MESSAGE": "Function not found",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "3",
        "SCHEDULE_ARN": created.arn,
        "TARGET_ARN": FUNCTION,
    }
    assert service.delivery.pending_retries == 0


@sync
async def test_event_age_ends_retries_and_rejections_are_not_retried() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    sinks.missing.add(QUEUE)
    sinks.rejecting.add(FUNCTION)
    aged = TargetRecord(QUEUE, ROLE, max_event_age=60, dead_letter_arn=DLQ)
    rejected = TargetRecord(FUNCTION, ROLE, dead_letter_arn=DLQ)
    await service.create(REGION, ACCOUNT, spec("aged", "at(2026-12-07T00:01:00)", aged))
    await service.create(REGION, ACCOUNT, spec("rejected", "at(2026-12-07T00:01:00)", rejected))
    await clock.advance(60)
    for _ in range(10):
        await clock.advance(30)
    conditions = sorted(attrs.get("EXHAUSTED_RETRY_CONDITION", "") for _, _, attrs, _ in sinks.sent)
    assert conditions == ["", "MaximumEventAgeInSeconds"]


@sync
async def test_deleting_a_group_stops_its_schedules() -> None:
    service, clock, sinks, store = build()
    await service.runner.start()
    await service.groups.create(REGION, ACCOUNT, "g", [], clock.timestamp())
    await service.create(
        REGION,
        ACCOUNT,
        ScheduleSpec("s", "g", "rate(1 minute)", "UTC", TargetRecord(QUEUE, ROLE)),
    )
    await service.delete_group(REGION, ACCOUNT, "g")
    await clock.advance(600)
    assert sinks.sent == [] and store.schedules == {} and len(service.runner) == 0


@sync
async def test_restart_catches_up_once_and_finishes_completed_one_time_schedules() -> None:
    service, clock, sinks, store = build()
    await service.runner.start()
    await service.create(
        REGION, ACCOUNT, spec("minutely", "rate(1 minute)", TargetRecord(QUEUE, ROLE))
    )
    done = spec(
        "done",
        "at(2026-12-07T00:00:30)",
        TargetRecord(QUEUE, ROLE),
        action_after_completion="DELETE",
    )
    await service.create(REGION, ACCOUNT, done)
    # It fired, but the server died before deleting it.
    await store.record_fire(("us-east-1", ACCOUNT, "default", "done"), START + 30)
    # Back an hour later.
    restarted, later_clock, later_sinks, _ = build(store, offset=3600)
    await restarted.start()
    await restarted.runner.start()
    await restarted.runner.run_due()
    assert [body for _, body, _, _ in later_sinks.sent] == ["{}"]  # 60 missed: one fire
    assert [key[3] for key in store.schedules] == ["minutely"]
    await later_clock.advance(60)
    assert len(later_sinks.sent) == 2


@sync
async def test_disabled_schedules_do_not_fire_and_updates_rearm() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    target = TargetRecord(QUEUE, ROLE, message_group_id="g1")
    await service.create(REGION, ACCOUNT, spec("s", "rate(1 minute)", target, state="DISABLED"))
    await clock.advance(300)
    assert sinks.sent == []
    await service.update(REGION, ACCOUNT, spec("s", "rate(2 minutes)", target))
    await clock.advance(240)
    # A rate schedule without a StartDate fires at once, then every period: 0, 2, 4 minutes.
    assert [(arn, group) for arn, _, _, group in sinks.sent] == [(QUEUE, "g1")] * 3


def test_timing_bounds_start_and_end_dates() -> None:
    from lamina.services.scheduler.timing import run_schedule

    start = START + 3600
    record = ScheduleRecord(
        REGION, ACCOUNT, "default", "b", "cron(0 * * * ? *)", "UTC", TargetRecord(QUEUE, ROLE),
        created=START, modified=START, start_date=start, end_date=start + 2 * 3600,
    )  # fmt: skip
    schedule = run_schedule(record)
    moment = datetime.fromtimestamp(START, UTC)
    fires = []
    while (nxt := schedule.next_fire(moment)) is not None:
        fires.append(nxt)
        moment = nxt
    assert fires == [datetime.fromtimestamp(start, UTC) + timedelta(hours=h) for h in range(3)]


@sync
async def test_rate_schedules_fire_at_once_or_at_their_start_date() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    await service.create(
        REGION, ACCOUNT, spec("now", "rate(10 minutes)", TargetRecord(QUEUE, ROLE))
    )
    await service.runner.run_due()
    assert len(sinks.sent) == 1  # at once, without waiting a period
    later = TargetRecord(FUNCTION, ROLE)
    await service.create(
        REGION, ACCOUNT, spec("later", "rate(10 minutes)", later, start_date=START + 1800)
    )
    await clock.advance(1799)
    assert sinks.invoked == []
    await clock.advance(1)
    assert len(sinks.invoked) == 1  # at its StartDate
    await clock.advance(600)
    assert len(sinks.invoked) == 2


@sync
async def test_a_queue_refusing_the_message_dead_letters_it_without_retries() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    sinks.rejecting.add(QUEUE)
    target = TargetRecord(QUEUE, ROLE, input="m", dead_letter_arn=DLQ)
    await service.create(REGION, ACCOUNT, spec("fifo", "at(2026-12-07T00:01:00)", target))
    await clock.advance(60)
    [(arn, body, attributes, _)] = sinks.sent
    assert (arn, body, attributes["ERROR_CODE"]) == (DLQ, "m", "MissingParameter")
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    assert service.delivery.pending_retries == 0


@sync
async def test_topic_and_event_bus_targets() -> None:
    service, clock, sinks, _ = build()
    await service.runner.start()
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:t"
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    at = "at(2026-12-07T00:01:00)"
    await service.create(REGION, ACCOUNT, spec("sns", at, TargetRecord(topic, ROLE, input="hi")))
    bus_target = TargetRecord(bus, ROLE, input='{"k": 1}', detail_type="Tick", source="my.app")
    made = await service.create(REGION, ACCOUNT, spec("bus", at, bus_target))
    no_params = TargetRecord(bus, ROLE, dead_letter_arn=DLQ)
    await service.create(REGION, ACCOUNT, spec("bus-bare", at, no_params))
    await clock.advance(60)
    assert sinks.published == [(topic, "hi", None)]
    assert sinks.events == [(bus, "my.app", "Tick", '{"k": 1}', [made.arn])]
    [(arn, _, attributes, _)] = sinks.sent
    assert (arn, attributes["ERROR_CODE"]) == (DLQ, "ValidationException")
