"""The router's store (``services/events/ports.py``: ``EventsStore``) on SQLite:
``<data_dir>/events.sqlite3``, every region and account in one database.

Buses, rules and targets are small JSON documents keyed by region, account and bus; the
``events_deliveries`` table is the outbox of accepted events: one row per (event, rule,
target) still to deliver, with its attempts and due time. Every write is one operation of a
``GroupCommitWriter`` (many callers share a commit) and returns after the commit; the
loaders read on a second connection.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lamina.services.events.arns import BusKey
from lamina.services.events.ports import (
    ArchivedEvent,
    ArchiveKey,
    EventsStore,
    NewDelivery,
    StoredDelivery,
    StoredRule,
    StoredTarget,
)
from lamina.store import events_archives
from lamina.store.events_archives import ArchivedRow
from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import Step, migrate

T = TypeVar("T")

SYNCHRONOUS = {"kill": "NORMAL", "power-loss": "FULL"}

STEPS: list[Step] = [
    """
    CREATE TABLE IF NOT EXISTS events_buses (
        region TEXT NOT NULL, account TEXT NOT NULL, name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (region, account, name));
    CREATE TABLE IF NOT EXISTS events_rules (
        region TEXT NOT NULL, account TEXT NOT NULL, bus TEXT NOT NULL, name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (region, account, bus, name));
    CREATE TABLE IF NOT EXISTS events_targets (
        region TEXT NOT NULL, account TEXT NOT NULL, bus TEXT NOT NULL, rule TEXT NOT NULL,
        position INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (region, account, bus, rule, position));
    CREATE TABLE IF NOT EXISTS events_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event TEXT NOT NULL, rule_arn TEXT NOT NULL, rule_name TEXT NOT NULL,
        target TEXT NOT NULL, ingested REAL NOT NULL,
        attempts INTEGER NOT NULL, due REAL NOT NULL);
    """,
    events_archives.SCHEMA,
    # When each scheduled rule last fired (its due time): a restart resumes from there.
    """
    CREATE TABLE IF NOT EXISTS events_rule_fires (
        region TEXT NOT NULL, account TEXT NOT NULL, bus TEXT NOT NULL, name TEXT NOT NULL,
        fired REAL NOT NULL,
        PRIMARY KEY (region, account, bus, name));
    """,
    # The trace header of each delivery (recursive loop detection, services/recursion.py).
    "ALTER TABLE events_deliveries ADD COLUMN trace TEXT",
]


def _open(path: Path, durability: str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[durability]}")
    return conn


class SqliteEventsStore:
    """Buses, rules, targets and the delivery outbox in one SQLite database."""

    def __init__(self, path: Path, durability: str = "kill") -> None:
        """Open (and migrate) the database; ``durability`` as ``--queue-durability``
        (``kill``: survives a SIGKILL of the server; ``power-loss``: fsync per commit)."""
        self._write_conn = _open(path, durability)
        migrate(self._write_conn, "events", STEPS)
        self._read_conn = _open(path, durability)
        self._read_lock = threading.Lock()
        self._writer = GroupCommitWriter(self._write_conn, "lamina-events-writer")
        self._writer.start()
        self._closed = False

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._read_lock:
            return fn(self._read_conn)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        self._write_conn.close()
        with self._read_lock:
            self._read_conn.close()

    # --- loaders (blocking) -------------------------------------------------------------

    def load_buses(self) -> list[dict[str, Any]]:
        rows = self._read(lambda c: c.execute("SELECT body FROM events_buses").fetchall())
        return [json.loads(row[0]) for row in rows]

    def load_rules(self) -> list[StoredRule]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT region, account, bus, name, body FROM events_rules"
            ).fetchall()
        )
        return [StoredRule(BusKey(r[0], r[1], r[2]), r[3], json.loads(r[4])) for r in rows]

    def load_targets(self) -> list[StoredTarget]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT region, account, bus, rule, body FROM events_targets"
                " ORDER BY region, account, bus, rule, position"
            ).fetchall()
        )
        return [StoredTarget(BusKey(r[0], r[1], r[2]), r[3], json.loads(r[4])) for r in rows]

    def load_deliveries(self) -> list[StoredDelivery]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT id, event, rule_arn, rule_name, target, ingested, attempts, due, trace"
                " FROM events_deliveries ORDER BY id"
            ).fetchall()
        )
        return [
            StoredDelivery(
                int(r[0]),
                NewDelivery(r[1], r[2], r[3], json.loads(r[4]), float(r[5]), r[8]),
                int(r[6]),
                float(r[7]),
            )
            for r in rows
        ]

    def load_rule_fires(self) -> dict[tuple[BusKey, str], float]:
        rows = self._read(
            lambda c: c.execute(
                "SELECT region, account, bus, name, fired FROM events_rule_fires"
            ).fetchall()
        )
        return {(BusKey(r[0], r[1], r[2]), r[3]): float(r[4]) for r in rows}

    # --- writes (group commit) ----------------------------------------------------------

    async def record_rule_fire(self, bus: BusKey, name: str, fired: float) -> None:
        row = (bus.region, bus.account, bus.name, name, fired)

        def record(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO events_rule_fires VALUES (?, ?, ?, ?, ?)", row)

        await self._writer.run_op(record)

    async def put_bus(self, bus: dict[str, Any]) -> None:
        row = (bus["region"], bus["account"], bus["name"], json.dumps(bus))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO events_buses VALUES (?, ?, ?, ?)", row)

        await self._writer.run_op(put)

    async def delete_bus(self, key: BusKey) -> None:
        args = (key.region, key.account, key.name)

        def delete(conn: sqlite3.Connection) -> None:
            for table, column in (
                ("events_rule_fires", "bus"),
                ("events_targets", "bus"),
                ("events_rules", "bus"),
                ("events_buses", "name"),
            ):
                conn.execute(
                    f"DELETE FROM {table} WHERE region=? AND account=? AND {column}=?", args
                )

        await self._writer.run_op(delete)

    async def put_rule(self, rule: StoredRule) -> None:
        row = (rule.bus.region, rule.bus.account, rule.bus.name, rule.name, json.dumps(rule.body))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO events_rules VALUES (?, ?, ?, ?, ?)", row)

        await self._writer.run_op(put)

    async def delete_rule(self, bus: BusKey, name: str) -> None:
        args = (bus.region, bus.account, bus.name, name)

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM events_targets WHERE region=? AND account=? AND bus=? AND rule=?",
                args,
            )
            conn.execute(
                "DELETE FROM events_rule_fires WHERE region=? AND account=? AND bus=? AND name=?",
                args,
            )
            conn.execute(
                "DELETE FROM events_rules WHERE region=? AND account=? AND bus=? AND name=?",
                args,
            )

        await self._writer.run_op(delete)

    async def set_targets(self, bus: BusKey, rule: str, targets: list[dict[str, Any]]) -> None:
        key = (bus.region, bus.account, bus.name, rule)
        rows = [(*key, position, json.dumps(t)) for position, t in enumerate(targets)]

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM events_targets WHERE region=? AND account=? AND bus=? AND rule=?",
                key,
            )
            conn.executemany("INSERT INTO events_targets VALUES (?, ?, ?, ?, ?, ?)", rows)

        await self._writer.run_op(replace)

    async def insert_deliveries(
        self, deliveries: list[NewDelivery], due: float, archived: list[ArchivedEvent] | None = None
    ) -> list[int]:
        archived_rows: list[ArchivedRow] = [
            (a.archive.region, a.archive.account, a.archive.name, a.ingested, a.size, a.event)
            for a in archived or []
        ]
        rows = [
            (d.event, d.rule_arn, d.rule_name, json.dumps(d.target), d.ingested, 0, due, d.trace)
            for d in deliveries
        ]

        def insert(conn: sqlite3.Connection) -> list[int]:
            if archived_rows:
                events_archives.insert_archived(conn, archived_rows)
            ids: list[int] = []
            for row in rows:
                cursor = conn.execute(
                    "INSERT INTO events_deliveries"
                    " (event, rule_arn, rule_name, target, ingested, attempts, due, trace)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                ids.append(int(cursor.lastrowid or 0))
            return ids

        return await self._writer.run_op(insert)

    async def finish_deliveries(self, ids: list[int]) -> None:
        rows = [(i,) for i in ids]

        def delete(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM events_deliveries WHERE id=?", rows)

        await self._writer.run_op(delete)

    async def reschedule(self, delivery_id: int, attempts: int, due: float) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE events_deliveries SET attempts=?, due=? WHERE id=?",
                (attempts, due, delivery_id),
            )

        await self._writer.run_op(update)

    # --- archives and replays -----------------------------------------------------------

    def load_archives(self) -> list[dict[str, Any]]:
        return self._read(lambda c: events_archives.load_documents(c, "events_archives"))

    def load_replays(self) -> list[dict[str, Any]]:
        return self._read(lambda c: events_archives.load_documents(c, "events_replays"))

    def archive_totals(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        return self._read(events_archives.archive_totals)

    def archived_page(
        self, archive: ArchiveKey, start: float, end: float, after_id: int, limit: int
    ) -> list[tuple[int, float, str]]:
        key = (archive.region, archive.account, archive.name)
        return self._read(
            lambda c: events_archives.archived_page(c, key, start, end, after_id, limit)
        )

    async def put_archive(self, archive: ArchiveKey, body: dict[str, Any]) -> None:
        key = (archive.region, archive.account, archive.name)
        await self._writer.run_op(
            lambda c: events_archives.put_document(c, "events_archives", key, body)
        )

    async def delete_archive(self, archive: ArchiveKey) -> None:
        key = (archive.region, archive.account, archive.name)
        await self._writer.run_op(lambda c: events_archives.delete_archive(c, key))

    async def put_replay(self, replay: ArchiveKey, body: dict[str, Any]) -> None:
        key = (replay.region, replay.account, replay.name)
        await self._writer.run_op(
            lambda c: events_archives.put_document(c, "events_replays", key, body)
        )

    async def expire_archived(
        self, archive: ArchiveKey, before: float, keep: int
    ) -> tuple[int, int]:
        key = (archive.region, archive.account, archive.name)
        return await self._writer.run_op(lambda c: events_archives.expire(c, key, before, keep))


_PORT: type[EventsStore] = SqliteEventsStore
