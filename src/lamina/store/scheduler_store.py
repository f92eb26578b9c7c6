"""EventBridge Scheduler's store: ``<data_dir>/scheduler.sqlite3`` (every region's groups and
schedules, keyed by region and account).

Each write is one operation of a group-commit writer and returns after its commit (WAL,
``synchronous=NORMAL``: an acknowledged CreateSchedule survives a SIGKILL of the server).
Records are JSON documents (``services/scheduler/records.py``); ``load`` reads them all at
start (the service keeps them in memory and serves reads from there).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from lamina.services.scheduler.records import (
    GroupRecord,
    PendingRetry,
    ScheduleRecord,
    target_from_doc,
)
from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import migrate

STEPS = [
    """
    CREATE TABLE scheduler_groups (
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (region, account_id, name)
    );
    CREATE TABLE scheduler_schedules (
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        group_name TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (region, account_id, group_name, name)
    );
    """,
    # Failed deliveries waiting for a retry (services/scheduler/delivery.py).
    """
    CREATE TABLE scheduler_retries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule_arn TEXT NOT NULL,
        target TEXT NOT NULL,
        scheduled REAL NOT NULL,
        retries INTEGER NOT NULL,
        due REAL NOT NULL
    );
    """,
]


@dataclass(frozen=True, slots=True)
class StoredScheduler:
    groups: list[GroupRecord]
    schedules: list[ScheduleRecord]


class SqliteSchedulerStore:
    """Groups and schedules in one SQLite database, written with group commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        migrate(self._conn, "scheduler", STEPS)
        self._writer = GroupCommitWriter(self._conn, "lamina-scheduler-writer")
        self._writer.start()
        self._closed = False

    def load(self) -> StoredScheduler:
        """Every group and schedule (call before any write, off the event loop)."""
        groups = [
            GroupRecord.from_doc(region, account, name, json.loads(doc))
            for region, account, name, doc in self._conn.execute(
                "SELECT region, account_id, name, doc FROM scheduler_groups"
            )
        ]
        schedules = [
            ScheduleRecord.from_doc(region, account, group, name, json.loads(doc))
            for region, account, group, name, doc in self._conn.execute(
                "SELECT region, account_id, group_name, name, doc FROM scheduler_schedules"
            )
        ]
        return StoredScheduler(groups, schedules)

    async def put_group(self, group: GroupRecord) -> None:
        doc = json.dumps(group.to_doc())

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO scheduler_groups(region, account_id, name, doc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(region, account_id, name) DO UPDATE SET doc=excluded.doc",
                (group.region, group.account_id, group.name, doc),
            )

        await self._writer.run_op(put)

    async def delete_group(self, region: str, account_id: str, name: str) -> None:
        """Delete a group and every schedule in it, in one transaction."""

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM scheduler_schedules WHERE region=? AND account_id=? AND group_name=?",
                (region, account_id, name),
            )
            conn.execute(
                "DELETE FROM scheduler_groups WHERE region=? AND account_id=? AND name=?",
                (region, account_id, name),
            )

        await self._writer.run_op(delete)

    async def put_schedule(self, schedule: ScheduleRecord) -> None:
        doc = json.dumps(schedule.to_doc())

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO scheduler_schedules(region, account_id, group_name, name, doc)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(region, account_id, group_name, name)"
                " DO UPDATE SET doc=excluded.doc",
                (*schedule.key, doc),
            )

        await self._writer.run_op(put)

    async def delete_schedule(self, key: tuple[str, str, str, str]) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM scheduler_schedules"
                " WHERE region=? AND account_id=? AND group_name=? AND name=?",
                key,
            )

        await self._writer.run_op(delete)

    async def record_fire(self, key: tuple[str, str, str, str], fired_at: float) -> None:
        """Remember when a schedule last fired (a restart resumes from there)."""

        def record(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE scheduler_schedules SET doc=json_set(doc, '$.last_fired', ?)"
                " WHERE region=? AND account_id=? AND group_name=? AND name=?",
                (fired_at, *key),
            )

        await self._writer.run_op(record)

    def load_retries(self) -> list[PendingRetry]:
        """Every pending retry, by id (call before any write, off the event loop)."""
        return [
            PendingRetry(int(rid), arn, target_from_doc(json.loads(target)), scheduled, n, due)
            for rid, arn, target, scheduled, n, due in self._conn.execute(
                "SELECT id, schedule_arn, target, scheduled, retries, due"
                " FROM scheduler_retries ORDER BY id"
            )
        ]

    async def add_retry(
        self, schedule_arn: str, target: dict[str, object], scheduled: float, due: float
    ) -> int:
        row = (schedule_arn, json.dumps(target), scheduled, due)

        def add(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO scheduler_retries(schedule_arn, target, scheduled, retries, due)"
                " VALUES (?, ?, ?, 1, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

        return await self._writer.run_op(add)

    async def update_retry(self, retry_id: int, retries: int, due: float) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE scheduler_retries SET retries=?, due=? WHERE id=?",
                (retries, due, retry_id),
            )

        await self._writer.run_op(update)

    async def delete_retry(self, retry_id: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM scheduler_retries WHERE id=?", (retry_id,))

        await self._writer.run_op(delete)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        self._conn.close()
