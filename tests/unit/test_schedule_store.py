"""The Scheduler's SQLite store: what is written is loaded back after a reopen; deleting a
group deletes its schedules; fire times are recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lamina.services.scheduler.records import GroupRecord, ScheduleRecord, TargetRecord
from lamina.store.scheduler_store import SqliteSchedulerStore

TARGET = TargetRecord(
    "arn:aws:sqs:us-east-1:000000000000:q",
    "arn:aws:iam::000000000000:role/r",
    input="x",
    max_retry_attempts=3,
    dead_letter_arn="arn:aws:sqs:us-east-1:000000000000:dlq",
    message_group_id="g",
    other={"EcsParameters": {"TaskCount": 1}},
)


def schedule(group: str, name: str) -> ScheduleRecord:
    return ScheduleRecord(
        "us-east-1", "000000000000", group, name, "cron(0 9 * * ? *)", "Europe/Paris", TARGET,
        created=1.5, modified=2.5, description="d", flexible_window_minutes=5,
        action_after_completion="DELETE", start_date=10.0,
    )  # fmt: skip


def test_records_survive_a_reopen_and_group_deletion_cascades(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.sqlite3"
    store = SqliteSchedulerStore(path)

    async def write() -> None:
        group = GroupRecord("us-east-1", "000000000000", "g", 1.0, 2.0, (("k", "v"),))
        await store.put_group(group)
        await store.put_schedule(schedule("g", "in-group"))
        await store.put_schedule(schedule("default", "kept"))
        await store.record_fire(schedule("default", "kept").key, 99.0)

    asyncio.run(write())
    store.close()
    reopened = SqliteSchedulerStore(path)
    loaded = reopened.load()
    assert [g.tags for g in loaded.groups] == [(("k", "v"),)]
    by_name = {s.name: s for s in loaded.schedules}
    assert by_name["in-group"] == schedule("g", "in-group")
    assert by_name["kept"] == schedule("default", "kept").fired(99.0)

    asyncio.run(reopened.delete_group("us-east-1", "000000000000", "g"))
    assert [s.name for s in reopened.load().schedules] == ["kept"]
    asyncio.run(reopened.delete_schedule(schedule("default", "kept").key))
    assert reopened.load().schedules == [] and reopened.load().groups == []
    reopened.close()
