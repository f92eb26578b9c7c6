"""The durable queue of asynchronous invocations: SQLite in WAL mode, its own database file
(``async.sqlite3`` in the data directory), written by one thread with group commit.

Every change goes through a ``GroupCommitWriter`` (``store/group_commit.py``): callers hand
it an operation and await a future; the writer thread takes every operation waiting, runs
them in one transaction and completes their futures after its single ``COMMIT``. Under
load many enqueues share one commit (one fsync); alone, an enqueue costs one.
``synchronous=FULL``: the WAL is fsynced at every commit, so an event acknowledged with 202
survives a server kill *and* an operating system crash or power loss (NORMAL would survive
only the former). docs/async.md has the figures.

Rows of ``events`` are either invocations (``kind='invoke'``: run ``function`` with
``payload``) or deliveries (``kind='deliver'``: hand ``payload`` to the destination
``target``). A row is *due* when ``due_at`` has passed; the dispatcher *claims* due rows,
which leases them (``leased_until``: the visibility timeout), and then either deletes them
(done: ``finish``, which also inserts the deliveries that follow, in the same transaction) or
releases them with a later ``due_at`` (``reschedule``). Leases are held by the running server:
at start, ``open`` releases every lease left by a server that died, so those events run
again (at least once; they are counted as possible duplicates).

``retained`` keeps what Lamina cannot deliver anywhere yet: dead letters and records for
SQS/SNS/EventBridge/S3 targets (Lamina has none of those services yet), and deliveries that
kept failing until their maximum age. They stay visible (``GET /_lamina/async``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lamina.domain.errors import TooManyRequestsException
from lamina.store.disk_full import is_disk_full
from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import Step, migrate
from lamina.store.ports import AsyncQueue
from lamina.store.records import DELIVER, INVOKE, NewEvent, QueuedEvent, Retained

T = TypeVar("T")

# An Event invocation the full disk cannot queue: a throttle (429, retried by every SDK) and
# not a 500, with a reason of Lamina's own (AWS's reasons all name concurrency or rates).
QUEUE_FULL = "Rate Exceeded. The server's disk is full: the event was not queued; retry later."
QUEUE_FULL_REASON = "EventQueueFull"

# Re-exported: the records were defined here before the store ports.
__all__ = [
    "DELIVER",
    "INVOKE",
    "QUEUE_FULL",
    "QUEUE_FULL_REASON",
    "STEPS",
    "AsyncQueueStore",
    "NewEvent",
    "QueuedEvent",
    "Retained",
]

# The "async_queue" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    function TEXT NOT NULL,
    qualifier TEXT,
    target TEXT,
    request_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    trace_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    due_at REAL NOT NULL,
    leased_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    claims INTEGER NOT NULL DEFAULT 0,
    last TEXT,
    meta TEXT
);
CREATE INDEX IF NOT EXISTS events_due ON events(due_at);
CREATE TABLE IF NOT EXISTS retained (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    function TEXT NOT NULL,
    reason TEXT NOT NULL,
    target TEXT,
    request_id TEXT NOT NULL,
    body BLOB NOT NULL,
    attributes TEXT,
    created_at REAL NOT NULL
);
""",
)

_COLUMNS = (
    "id, kind, function, qualifier, target, request_id, payload, trace_id, received_at,"
    " due_at, attempts, errors, retries, claims, last, meta"
)


class AsyncQueueStore:
    """The ``AsyncQueue`` port on SQLite (``async.sqlite3``), as the module describes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        try:
            migrate(conn, "async_queue", STEPS)
        except BaseException:
            conn.close()
            raise
        self._writer = GroupCommitWriter(conn, "lamina-async-queue")
        self._writer.start()
        # Scrapes read on their own connection (WAL: readers never wait for the writer).
        self._reader = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._read_lock = threading.Lock()
        self._closed = False

    @property
    def commits(self) -> int:
        return self._writer.commits

    async def _do(self, op: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.wrap_future(self._writer.submit(op))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        self._writer.conn.close()
        self._reader.close()

    # --- operations -----------------------------------------------------------------------

    async def enqueue(self, event: NewEvent) -> int:
        """Store an event; returns once it is committed (durable). On a full disk the event
        is refused with a retryable 429 (the caller's SDK retries it; nothing is lost)."""
        try:
            return await self._do(lambda conn: _insert(conn, event))
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise TooManyRequestsException(QUEUE_FULL, QUEUE_FULL_REASON) from None
            raise

    async def release_leases(self) -> dict[str, int]:
        """Release every lease (their holder is gone); how many per function."""

        def op(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(
                "SELECT function, COUNT(*) FROM events WHERE leased_until IS NOT NULL"
                " GROUP BY function"
            ).fetchall()
            conn.execute("UPDATE events SET leased_until=NULL WHERE leased_until IS NOT NULL")
            return {str(name): int(count) for name, count in rows}

        return await self._do(op)

    async def claim(
        self, now: float, limit: int, visibility: float, exclude: set[str]
    ) -> list[QueuedEvent]:
        """Lease up to ``limit`` due events (oldest due first), skipping ``exclude``'s
        functions, until ``now + visibility``."""
        skip = sorted(exclude)

        def op(conn: sqlite3.Connection) -> list[QueuedEvent]:
            marks = ",".join("?" * len(skip))
            where = f" AND function NOT IN ({marks})" if skip else ""
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE due_at <= ? AND"  # noqa: S608
                f" (leased_until IS NULL OR leased_until < ?){where} ORDER BY due_at, id LIMIT ?",
                (now, now, *skip, limit),
            ).fetchall()
            events = [_event(row) for row in rows]
            conn.executemany(
                "UPDATE events SET leased_until=?, claims=claims+1 WHERE id=?",
                [(now + visibility, e.id) for e in events],
            )
            for event in events:
                event.claims += 1
            return events

        return await self._do(op)

    async def next_due(self, exclude: set[str]) -> float | None:
        """When the earliest unleased event (not of ``exclude``'s functions) is due."""
        skip = sorted(exclude)

        def op(conn: sqlite3.Connection) -> float | None:
            marks = ",".join("?" * len(skip))
            where = f" AND function NOT IN ({marks})" if skip else ""
            row = conn.execute(
                f"SELECT MIN(due_at) FROM events WHERE leased_until IS NULL{where}",  # noqa: S608
                skip,
            ).fetchone()
            return None if row is None or row[0] is None else float(row[0])

        return await self._do(op)

    async def finish(
        self, event_id: int, follow: list[NewEvent], retain: list[Retained] | None = None
    ) -> None:
        """The event is done: delete it and insert what follows it, in one transaction."""

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM events WHERE id=?", (event_id,))
            for event in follow:
                _insert(conn, event)
            for item in retain or ():
                _retain(conn, item)

        await self._do(op)

    async def reschedule(self, event: QueuedEvent) -> None:
        """Release the event's lease; it is due again at ``event.due_at``."""

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE events SET leased_until=NULL, due_at=?, attempts=?, errors=?,"
                " retries=?, last=? WHERE id=?",
                (
                    event.due_at,
                    event.attempts,
                    event.errors,
                    event.retries,
                    event.last,
                    event.id,
                ),
            )

        await self._do(op)

    async def release(self, event_ids: list[int]) -> None:
        """Give leases back unchanged (on shutdown)."""

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE events SET leased_until=NULL WHERE id=?", [(i,) for i in event_ids]
            )

        await self._do(op)

    async def retain(self, item: Retained) -> None:
        """Keep an item in ``retained`` (committed when this returns)."""
        await self._do(lambda conn: _retain(conn, item))

    # --- reading (scrapes, ``lamina queue``) ---------------------------------------------

    def counts(self, now: float) -> dict[str, dict[str, int]]:
        """Per function: events ``pending`` (due, waiting for a turn), ``in_flight``
        (leased), ``retrying`` (waiting for a retry), ``deliveries`` (records waiting for
        their destination), ``retained`` (kept: dead letters and the like)."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT function, kind, leased_until IS NOT NULL AND leased_until >= ?,"
                " due_at <= ?, COUNT(*) FROM events GROUP BY 1, 2, 3, 4",
                (now, now),
            ).fetchall()
            kept = self._reader.execute(
                "SELECT function, COUNT(*) FROM retained GROUP BY function"
            ).fetchall()
        out: dict[str, dict[str, int]] = {}

        def entry(name: str) -> dict[str, int]:
            return out.setdefault(
                name,
                {"pending": 0, "in_flight": 0, "retrying": 0, "deliveries": 0, "retained": 0},
            )

        for function, kind, leased, due, count in rows:
            counters = entry(str(function))
            if kind == DELIVER:
                counters["deliveries"] += int(count)
            elif leased:
                counters["in_flight"] += int(count)
            elif due:
                counters["pending"] += int(count)
            else:
                counters["retrying"] += int(count)
        for function, count in kept:
            entry(str(function))["retained"] = int(count)
        return out

    def retained(self, function: str | None, limit: int) -> list[dict[str, Any]]:
        """The most recent retained items (newest first)."""
        where, args = ("WHERE function=?", [function]) if function else ("", [])
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT id, function, reason, target, request_id, body, attributes, created_at"
                f" FROM retained {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
                (*args, limit),
            ).fetchall()
        return [
            {
                "id": row[0],
                "function": row[1],
                "reason": row[2],
                "target": row[3],
                "requestId": row[4],
                "body": bytes(row[5]).decode("utf-8", "replace"),
                "attributes": json.loads(row[6]) if row[6] else None,
                "createdAt": row[7],
            }
            for row in rows
        ]


def _event(row: tuple[Any, ...]) -> QueuedEvent:
    """An ``events`` row (``_COLUMNS``) as a QueuedEvent."""
    return QueuedEvent(
        id=int(row[0]),
        kind=str(row[1]),
        function=str(row[2]),
        qualifier=row[3],
        target=row[4],
        request_id=str(row[5]),
        payload=bytes(row[6]),
        trace_id=str(row[7]),
        received_at=float(row[8]),
        due_at=float(row[9]),
        attempts=int(row[10]),
        errors=int(row[11]),
        retries=int(row[12]),
        claims=int(row[13]),
        last=row[14],
        meta=json.loads(row[15]) if row[15] else {},
    )


def _insert(conn: sqlite3.Connection, event: NewEvent) -> int:
    cursor = conn.execute(
        "INSERT INTO events(kind, function, qualifier, target, request_id, payload, trace_id,"
        " received_at, due_at, meta) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            event.kind,
            event.function,
            event.qualifier,
            event.target,
            event.request_id,
            event.payload,
            event.trace_id,
            event.received_at,
            event.due_at,
            json.dumps(event.meta) if event.meta else None,
        ),
    )
    return int(cursor.lastrowid or 0)


def _retain(conn: sqlite3.Connection, item: Retained) -> None:
    conn.execute(
        "INSERT INTO retained(function, reason, target, request_id, body, attributes,"
        " created_at) VALUES (?,?,?,?,?,?,?)",
        (
            item.function,
            item.reason,
            item.target,
            item.request_id,
            item.body,
            json.dumps(item.attributes) if item.attributes else None,
            item.created_at,
        ),
    )


# mypy proves the class implements its port.
_PORT: type[AsyncQueue] = AsyncQueueStore
