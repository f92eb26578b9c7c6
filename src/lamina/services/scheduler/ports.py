"""What the Scheduler service needs from its store (``store/scheduler_store.py`` implements
it on SQLite): every write returns once it is durable."""

from __future__ import annotations

from typing import Protocol

from lamina.services.scheduler.records import GroupRecord, PendingRetry, ScheduleRecord


class SchedulerStore(Protocol):
    async def put_group(self, group: GroupRecord) -> None: ...

    async def delete_group(self, region: str, account_id: str, name: str) -> None:
        """Delete the group and all its schedules in one transaction."""
        ...

    async def put_schedule(self, schedule: ScheduleRecord) -> None: ...

    async def delete_schedule(self, key: tuple[str, str, str, str]) -> None: ...

    async def record_fire(self, key: tuple[str, str, str, str], fired_at: float) -> None: ...


class RetryStore(Protocol):
    """Failed deliveries waiting for a retry (``ScheduleDelivery``); writes are durable."""

    async def add_retry(
        self, schedule_arn: str, target: dict[str, object], scheduled: float, due: float
    ) -> int:
        """Store a delivery's first retry (``retries`` 1); its id."""
        ...

    async def update_retry(self, retry_id: int, retries: int, due: float) -> None: ...

    async def delete_retry(self, retry_id: int) -> None: ...

    def load_retries(self) -> list[PendingRetry]:
        """Every stored retry, by id (blocking: at start)."""
        ...
