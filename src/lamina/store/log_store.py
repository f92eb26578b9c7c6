"""Function logs (CloudWatch Logs groups, streams and events) in SQLite.

Its own database file, WAL mode. Every method is synchronous and thread-safe (one
connection behind a lock); the async ``LogService`` buffers appends and calls in here from a
worker thread. Events are ordered by ``(timestamp, id)``: ``id`` is an AUTOINCREMENT key, so
events with the same timestamp keep their arrival order and ids are never reused, which keeps
pagination tokens stable.

Bounds: a message longer than CloudWatch's maximum event is cut to it (never a failed
write); a batch that fails is stored event by event, so one bad event loses only itself.
Log groups may have a retention (``retentionInDays``) after which ``expire_events`` deletes
their events, and ``enforce_size_limit`` deletes the oldest events of every group while the
file's live pages exceed a cap, then gives the freed pages back (incremental vacuum).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from lamina.domain.log_events import EVENT_OVERHEAD_BYTES, MAX_EVENT_BYTES, truncate_message
from lamina.domain.log_filter import (
    FilterPatternError,
    Predicate,
    compile_filter_pattern,
    required_terms,
)
from lamina.store.log_batch import LogRow, StreamKey, rows_of
from lamina.store.log_records import (
    EVENTS_TOKEN,
    EventsPage,
    InvalidParameter,
    LogEvent,
    LogGroupInfo,
    LogStreamInfo,
    Page,
    ResourceAlreadyExists,
    ResourceNotFound,
    StoredEvent,
    decode_token,
    encode_token,
    events_token,
    group_not_found,
)
from lamina.store.log_writes import (
    ADD_GROUP_BYTES,
    ADD_STREAM_STATS,
    chunk_bounds,
    insert_parameters,
    insert_statements,
    stats_parameters,
    stream_stats,
)
from lamina.store.migrations import Step, add_column_if_missing, migrate
from lamina.store.ports import LogStore
from lamina.store.sqlite import connect, write_transaction

log = logging.getLogger("lamina.logs")

T = TypeVar("T")

MAX_EVENTS = 10_000  # GetLogEvents / FilterLogEvents default and maximum `limit`
MAX_RESPONSE_BYTES = 1_048_576  # both operations stop at 1 MB (message bytes + 26 each)
DAY_MS = 86_400_000
DELETE_CHUNK_ROWS = 10_000  # events deleted per transaction (retention, size limit)
ROW_OVERHEAD_ESTIMATE = 64  # bytes of a stored event beyond its message (row, index entries)
SIZE_LIMIT_TARGET = 0.9  # over the limit, delete down to this share of it
SCAN_BATCH = 1_000
SCAN_BUDGET = 100_000  # rows FilterLogEvents examines before returning a nextToken
_FAR_FUTURE = 2**62

# The "logs" schema migrations: a change is a new step at the end.
STEPS: tuple[Step, ...] = (
    # 1: the schema from before numbered migrations (IF NOT EXISTS: old data keeps it).
    """
CREATE TABLE IF NOT EXISTS log_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    creation_time INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    retention_days INTEGER
);
CREATE TABLE IF NOT EXISTS log_streams (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    first_event_ts INTEGER,
    last_event_ts INTEGER,
    last_ingestion_time INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion_time INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (stream_id, timestamp);
CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (group_id, timestamp);
""",
    # 2: log files from before retention policies lack the column.
    add_column_if_missing("log_groups", "retention_days", "INTEGER"),
)

_DELETED = "RETURNING group_id, stream_id, length(CAST(message AS BLOB))"


def _prefix_clause(column: str, prefix: str | None, params: list[Any]) -> str:
    if not prefix:
        return ""
    params.extend([len(prefix), prefix])
    return f" AND substr({column}, 1, ?) = ?"


# --- store --------------------------------------------------------------------------------


def _open(path: Path) -> sqlite3.Connection:
    """The writer's connection: pages that can be given back to the file system
    (``auto_vacuum=INCREMENTAL``; a file made before that is converted once), and the schema
    migrated to the last step."""
    conn = connect(path)
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        if conn.execute("PRAGMA page_count").fetchone()[0] > 0:
            conn.execute("VACUUM")
    conn.execute("PRAGMA journal_size_limit=16777216")  # the WAL shrinks back after bursts
    try:
        migrate(conn, "logs", STEPS)
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteLogStore:
    def __init__(
        self,
        path: Path,
        *,
        now_ms: Callable[[], int] | None = None,
        default_retention_days: int | None = None,
    ) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        # retentionInDays of the groups created for function logs (None: never expire).
        self._default_retention = default_retention_days
        self._lock = threading.Lock()
        self._conn = _open(path)
        # Readers use their own connection: in WAL mode a long FilterLogEvents scan then
        # never holds up the writer (the LogService's writer thread).
        self._read_lock = threading.Lock()
        self._reader = connect(path)
        self._closed = False
        # (group, stream) -> (group id, stream id); cleared on delete and on failed writes.
        self._ids: dict[tuple[str, str], tuple[int, int]] = {}

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
                with self._read_lock:
                    self._reader.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with write_transaction(self._conn, self._lock):
                yield self._conn
        except BaseException:
            self._ids.clear()
            raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    # --- writes ---------------------------------------------------------------------------

    def append(self, events: Sequence[LogEvent]) -> None:
        """Store events, creating groups and streams as needed: in one transaction, or, if
        that fails, one by one (an event that cannot be stored is logged and skipped).

        A ``LogBatch`` (what ``LogService`` hands over) is read without an object per event."""
        rows = rows_of(events)
        if not rows:
            return
        try:
            self._append(rows)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: text SQLite cannot take
            if self._closed or len(rows) == 1:
                raise
            log.warning(
                "storing %d log events failed (%s); storing them one by one", len(rows), exc
            )
            for row in rows:
                try:
                    self._append([row])
                except (sqlite3.Error, ValueError):
                    log.exception("could not store a log event of %s; skipping it", row[0][0])

    def _append(self, rows: Sequence[LogRow]) -> None:
        """One transaction of a few statements (``log_writes``), whatever the batch's size."""
        now = self._now_ms()
        keys: tuple[StreamKey, ...]
        timestamps: tuple[int, ...]
        messages: Sequence[str]
        keys, timestamps, messages = zip(*rows, strict=True)
        if max(map(len, messages)) * 4 > MAX_EVENT_BYTES:  # else none can be too long
            messages = list(map(truncate_message, messages))
        stats = stream_stats(keys, timestamps, messages)  # each stream, in order of arrival
        with self._transaction() as conn:
            ids = {key: self._ids_for(conn, key[0], key[1], now) for key in stats}
            parameters = insert_parameters(ids, keys, timestamps, messages, now)
            for sql, chunk in insert_statements(parameters, chunk_bounds(messages)):
                conn.execute(sql, chunk)
            streams, groups = stats_parameters(ids, stats, now)
            conn.execute(ADD_STREAM_STATS, streams)
            conn.execute(ADD_GROUP_BYTES, groups)

    def _ids_for(
        self, conn: sqlite3.Connection, group: str, stream: str, now: int
    ) -> tuple[int, int]:
        ids = self._ids.get((group, stream))
        if ids is not None:
            return ids
        conn.execute(
            "INSERT OR IGNORE INTO log_groups (name, creation_time, retention_days)"
            " VALUES (?, ?, ?)",
            (group, now, self._default_retention),
        )
        (gid,) = conn.execute("SELECT id FROM log_groups WHERE name = ?", (group,)).fetchone()
        conn.execute(
            "INSERT OR IGNORE INTO log_streams (group_id, name, creation_time) VALUES (?, ?, ?)",
            (gid, stream, now),
        )
        (sid,) = conn.execute(
            "SELECT id FROM log_streams WHERE group_id = ? AND name = ?", (gid, stream)
        ).fetchone()
        self._ids[(group, stream)] = (gid, sid)
        return gid, sid

    def create_log_group(self, name: str) -> None:
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO log_groups (name, creation_time) VALUES (?, ?)",
                (name, self._now_ms()),
            )
            if cur.rowcount == 0:
                raise ResourceAlreadyExists("The specified log group already exists")

    def delete_log_group(self, name: str) -> None:
        with self._transaction() as conn:
            row = conn.execute("SELECT id FROM log_groups WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise group_not_found()
            conn.execute("DELETE FROM log_events WHERE group_id = ?", row)
            conn.execute("DELETE FROM log_streams WHERE group_id = ?", row)
            conn.execute("DELETE FROM log_groups WHERE id = ?", row)
            self._ids = {k: v for k, v in self._ids.items() if k[0] != name}

    # --- retention and size ---------------------------------------------------------------

    def put_retention_policy(self, name: str, days: int | None) -> None:
        """Set (or, with ``None``, remove) a group's retention in days."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE log_groups SET retention_days = ? WHERE name = ?", (days, name)
            )
            if cur.rowcount == 0:
                raise group_not_found()

    def expire_events(self, now_ms: int | None = None) -> int:
        """Delete events older than their group's retention; returns how many."""
        now = self._now_ms() if now_ms is None else now_ms
        groups = self._query(
            "SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL"
        )
        deleted = 0
        for gid, days in groups:
            while True:
                count = self._delete_events(
                    "DELETE FROM log_events WHERE id IN (SELECT id FROM log_events"
                    " WHERE group_id = ? AND timestamp < ? LIMIT ?)",
                    (gid, now - days * DAY_MS, DELETE_CHUNK_ROWS),
                )
                deleted += count
                if count < DELETE_CHUNK_ROWS:
                    break
        if deleted:
            self._release_free_pages()
        return deleted

    def live_bytes(self) -> int:
        """Bytes of the file's pages in use (free pages excluded)."""
        with self._read_lock:
            page_size, pages, free = (
                self._reader.execute(f"PRAGMA {name}").fetchall()[0][0]
                for name in ("page_size", "page_count", "freelist_count")
            )
        return int((pages - free) * page_size)

    def enforce_size_limit(self, limit_bytes: int) -> int:
        """Over ``limit_bytes`` of live pages, delete the oldest events (of any group) until
        the file is under 90 % of it; returns how many events were deleted."""
        deleted = 0
        target = int(limit_bytes * SIZE_LIMIT_TARGET)
        if self.live_bytes() <= limit_bytes:
            return 0
        while (excess := self.live_bytes() - target) > 0:
            rows = self._query(
                "SELECT id, length(CAST(message AS BLOB)) FROM log_events ORDER BY id LIMIT ?",
                (DELETE_CHUNK_ROWS,),
            )
            if not rows:
                break
            last, freed = rows[-1][0], 0
            for event_id, size in rows:
                freed += size + ROW_OVERHEAD_ESTIMATE
                if freed >= excess:
                    last = event_id
                    break
            deleted += self._delete_events("DELETE FROM log_events WHERE id <= ?", (last,))
            self._release_free_pages()
        return deleted

    def _delete_events(self, sql: str, params: Sequence[Any]) -> int:
        """Run a DELETE of events and take their bytes off their streams and groups."""
        with self._transaction() as conn:
            rows = conn.execute(f"{sql} {_DELETED}", params).fetchall()
            by_stream: dict[int, int] = {}
            by_group: dict[int, int] = {}
            for gid, sid, size in rows:
                by_stream[sid] = by_stream.get(sid, 0) + size + EVENT_OVERHEAD_BYTES
                by_group[gid] = by_group.get(gid, 0) + size + EVENT_OVERHEAD_BYTES
            conn.executemany(
                "UPDATE log_streams SET stored_bytes = max(0, stored_bytes - ?) WHERE id = ?",
                [(size, sid) for sid, size in by_stream.items()],
            )
            conn.executemany(
                "UPDATE log_groups SET stored_bytes = max(0, stored_bytes - ?) WHERE id = ?",
                [(size, gid) for gid, size in by_group.items()],
            )
        return len(rows)

    def _release_free_pages(self) -> None:
        with self._lock:
            # executescript steps the vacuum to its end (execute frees a single page).
            self._conn.executescript("PRAGMA incremental_vacuum;")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # --- descriptions ---------------------------------------------------------------------

    def describe_log_groups(
        self,
        prefix: str | None = None,
        limit: int = 50,
        token: str | None = None,
        pattern: str | None = None,
    ) -> Page[LogGroupInfo]:
        """Groups by name; ``pattern`` is a case-insensitive substring (logGroupNamePattern)."""
        after = decode_token(token, (str,))
        params: list[Any] = []
        sql = "SELECT name, creation_time, stored_bytes, retention_days FROM log_groups WHERE 1"
        sql += _prefix_clause("name", prefix, params)
        if pattern:
            sql += " AND instr(lower(name), lower(?)) > 0"
            params.append(pattern)
        if after is not None:
            sql += " AND name > ?"
            params.append(after[0])
        rows = self._query(sql + " ORDER BY name LIMIT ?", [*params, limit + 1])
        items = [LogGroupInfo(*row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_token([items[-1].name]) if more else None)

    def _group_id(self, group: str) -> int:
        rows = self._query("SELECT id FROM log_groups WHERE name = ?", (group,))
        if not rows:
            raise group_not_found()
        return int(rows[0][0])

    def describe_log_streams(
        self,
        group: str,
        prefix: str | None = None,
        order_by: str = "LogStreamName",
        descending: bool = False,
        limit: int = 50,
        token: str | None = None,
    ) -> Page[LogStreamInfo]:
        if order_by not in ("LogStreamName", "LastEventTime"):
            raise InvalidParameter(f"Invalid orderBy value: {order_by}")
        by_time = order_by == "LastEventTime"
        if by_time and prefix:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        after = decode_token(token, (int, str) if by_time else (str,))
        gid = self._group_id(group)
        columns = ["coalesce(last_event_ts, 0)", "name"] if by_time else ["name"]
        key = ", ".join(columns)
        direction = "DESC" if descending else "ASC"
        params: list[Any] = [gid]
        sql = (
            "SELECT name, creation_time, first_event_ts, last_event_ts, last_ingestion_time,"
            " stored_bytes FROM log_streams WHERE group_id = ?"
        )
        sql += _prefix_clause("name", prefix, params)
        if after is not None:
            sql += f" AND ({key}) {'<' if descending else '>'} ({', '.join('?' * len(after))})"
            params.extend(after)
        order = ", ".join(f"{column} {direction}" for column in columns)
        rows = self._query(f"{sql} ORDER BY {order} LIMIT ?", [*params, limit + 1])
        items = [LogStreamInfo(*row) for row in rows[:limit]]
        next_token = None
        if len(rows) > limit:
            last = items[-1]
            next_key: list[Any] = [last.name]
            if by_time:
                next_key.insert(0, last.last_event_timestamp or 0)
            next_token = encode_token(next_key)
        return Page(items, next_token)

    # --- events ---------------------------------------------------------------------------

    def get_log_events(
        self,
        group: str,
        stream: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
        start_from_head: bool = False,
        next_token: str | None = None,
    ) -> EventsPage:
        """One stream's events in time order; ``end`` is exclusive, ``start`` inclusive.

        Without a token, the first page is the oldest events when ``start_from_head``, else the
        newest. Tokens are ``f/...`` (events after a position) and ``b/...`` (before one).
        """
        limit = min(limit or MAX_EVENTS, MAX_EVENTS)
        forward, boundary = start_from_head, (0, 0) if start_from_head else (_FAR_FUTURE, 0)
        if next_token is not None:
            m = EVENTS_TOKEN.fullmatch(next_token)
            if m is None:
                raise InvalidParameter("The specified nextToken is invalid.")
            forward, boundary = m.group(1) == "f", (int(m.group(2)), int(m.group(3)))
        gid = self._group_id(group)
        found = self._query(
            "SELECT id FROM log_streams WHERE group_id = ? AND name = ?", (gid, stream)
        )
        if not found:
            raise ResourceNotFound("The specified log stream does not exist.")
        sql = (
            "SELECT id, timestamp, ingestion_time, message FROM log_events"
            f" WHERE stream_id = ? AND (timestamp, id) {'>' if forward else '<'} (?, ?)"
            " AND timestamp >= ? AND timestamp < ?"
            f" ORDER BY timestamp {'ASC' if forward else 'DESC'}, id {'ASC' if forward else 'DESC'}"
            " LIMIT ?"
        )
        params = (found[0][0], *boundary, start or 0, _FAR_FUTURE if end is None else end, limit)
        events: list[StoredEvent] = []
        size = 0
        for event_id, ts, ingested, message in self._query(sql, params):
            size += len(message.encode()) + EVENT_OVERHEAD_BYTES
            if size > MAX_RESPONSE_BYTES and events:
                break
            events.append(StoredEvent(stream, ts, ingested, message, str(event_id)))
        if not forward:
            events.reverse()
        if not events:
            # Nothing left in this direction: the token in that direction repeats; reading
            # forward from here later includes the event at a backward boundary.
            before = (0, 0) if boundary[0] == _FAR_FUTURE else (boundary[0], boundary[1] - 1)
            ahead = boundary if forward else before
            return EventsPage([], events_token("f", ahead), events_token("b", boundary))
        first, last = events[0], events[-1]
        return EventsPage(
            events,
            events_token("f", (last.timestamp_ms, int(last.event_id))),
            events_token("b", (first.timestamp_ms, int(first.event_id))),
        )

    def filter_log_events(
        self,
        group: str,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        filter_pattern: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page[StoredEvent]:
        """Events of a group (optionally some streams) in time order; ``end`` is inclusive.

        Returns a ``next_token`` whenever the scan stopped before the end of the range (limit,
        1 MB, or the per-call scan budget), so a page may be empty yet have a token.
        """
        if stream_names and stream_prefix:
            raise InvalidParameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
            )
        try:
            predicate = compile_filter_pattern(filter_pattern)
        except FilterPatternError as exc:
            raise InvalidParameter(f"Invalid filter pattern: {exc}") from exc
        after = decode_token(next_token, (int, int))
        gid = self._group_id(group)
        params: list[Any] = [gid, start or 0, _FAR_FUTURE if end is None else end]
        where = "e.group_id = ? AND e.timestamp >= ? AND e.timestamp <= ?"
        if stream_names:
            where += f" AND s.name IN ({', '.join('?' * len(stream_names))})"
            params.extend(stream_names)
        where += _prefix_clause("s.name", stream_prefix, params)
        for term in required_terms(filter_pattern):  # pre-filter in SQL; the predicate decides
            where += " AND instr(e.message, ?) > 0"
            params.append(term)
        sql = (
            "SELECT e.id, e.timestamp, e.ingestion_time, e.message, s.name FROM log_events e"
            " JOIN log_streams s ON s.id = e.stream_id"
            f" WHERE {where} AND (e.timestamp, e.id) > (?, ?)"
            " ORDER BY e.timestamp, e.id LIMIT ?"
        )
        return self._scan(sql, params, after or [-(2**62), 0], predicate, limit or MAX_EVENTS)

    def _scan(
        self,
        sql: str,
        params: list[Any],
        cursor: list[int],
        predicate: Predicate,
        limit: int,
    ) -> Page[StoredEvent]:
        events: list[StoredEvent] = []
        size = scanned = 0
        limit = min(limit, MAX_EVENTS)
        while True:
            rows = self._query(sql, [*params, *cursor, SCAN_BATCH])
            exhausted = len(rows) < SCAN_BATCH
            for index, (event_id, ts, ingested, message, stream) in enumerate(rows, 1):
                if predicate(message):
                    size += len(message.encode()) + EVENT_OVERHEAD_BYTES
                    if size > MAX_RESPONSE_BYTES and events:
                        return Page(events, encode_token(cursor))
                    events.append(StoredEvent(stream, ts, ingested, message, str(event_id)))
                cursor = [ts, event_id]
                scanned += 1
                if len(events) >= limit or scanned >= SCAN_BUDGET:
                    more = not exhausted or index < len(rows)
                    return Page(events, encode_token(cursor) if more else None)
            if exhausted:
                return Page(events, None)


# mypy proves the class implements its port.
_PORT: type[LogStore] = SqliteLogStore
