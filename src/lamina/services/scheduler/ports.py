"""What the Scheduler service needs from its store (``store/scheduler_store.py`` implements
it on SQLite): every write returns once it is durable."""

from __future__ import annotations

from typing import Protocol

from lamina.services.scheduler.records import GroupRecord, ScheduleRecord


class SchedulerStore(Protocol):
    async def put_group(self, group: GroupRecord) -> None: ...

    async def delete_group(self, region: str, account_id: str, name: str) -> None:
        """Delete the group and all its schedules in one transaction."""
        ...

    async def put_schedule(self, schedule: ScheduleRecord) -> None: ...

    async def delete_schedule(self, key: tuple[str, str, str, str]) -> None: ...

    async def record_fire(self, key: tuple[str, str, str, str], fired_at: float) -> None: ...
