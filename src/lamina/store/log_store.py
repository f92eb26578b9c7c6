"""Function logs (CloudWatch Logs groups, streams and events) in SQLite.

Its own database file, WAL mode. Every method is synchronous and thread-safe (one
connection behind a lock); the async ``LogService`` buffers appends and calls in here from a
worker thread. Events are ordered by ``(timestamp, id)``: ``id`` is an AUTOINCREMENT key, so
events with the same timestamp keep their arrival order and ids are never reused, which keeps
pagination tokens stable.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from lamina.domain.log_filter import (
    FilterPatternError,
    Predicate,
    compile_filter_pattern,
    required_terms,
)
from lamina.store.sqlite import connect, write_transaction

T = TypeVar("T")

MAX_EVENTS = 10_000  # GetLogEvents / FilterLogEvents default and maximum `limit`
MAX_RESPONSE_BYTES = 1_048_576  # both operations stop at 1 MB (message bytes + 26 each)
EVENT_OVERHEAD = 26
SCAN_BATCH = 1_000
SCAN_BUDGET = 100_000  # rows FilterLogEvents examines before returning a nextToken
_FAR_FUTURE = 2**62

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    creation_time INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL DEFAULT 0
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
"""

_UPDATE_STREAM = """
UPDATE log_streams SET
    first_event_ts = min(coalesce(first_event_ts, :first), :first),
    last_event_ts = max(coalesce(last_event_ts, :last), :last),
    last_ingestion_time = :now,
    stored_bytes = stored_bytes + :bytes
WHERE id = :id
"""


# --- errors (``code`` is the CloudWatch Logs ``__type``) ------------------------------------


class LogStoreError(Exception):
    code: ClassVar[str] = "ServiceUnavailableException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResourceNotFound(LogStoreError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(LogStoreError):
    code = "ResourceAlreadyExistsException"


class InvalidParameter(LogStoreError):
    code = "InvalidParameterException"


def group_not_found() -> ResourceNotFound:
    return ResourceNotFound("The specified log group does not exist.")


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEvent:
    group: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True, slots=True)
class LogGroupInfo:
    name: str
    creation_time: int
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class LogStreamInfo:
    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    stream: str
    timestamp_ms: int
    ingestion_time_ms: int
    message: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class EventsPage:
    """GetLogEvents: tokens are always present; at the end the forward token repeats."""

    events: list[StoredEvent]
    next_forward_token: str
    next_backward_token: str


# --- tokens -------------------------------------------------------------------------------


def _encode_token(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str | None, types: tuple[type, ...]) -> list[Any] | None:
    if token is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(type(v) is t for v, t in zip(key, types, strict=True))
    ):
        raise InvalidParameter("The specified nextToken is invalid.")
    return key


_EVENTS_TOKEN = re.compile(r"([fb])/(\d{20})(\d{20})")


def _events_token(direction: str, key: tuple[int, int]) -> str:
    return f"{direction}/{key[0]:020d}{key[1]:020d}"


def _prefix_clause(column: str, prefix: str | None, params: list[Any]) -> str:
    if not prefix:
        return ""
    params.extend([len(prefix), prefix])
    return f" AND substr({column}, 1, ?) = ?"


# --- store --------------------------------------------------------------------------------


class SqliteLogStore:
    def __init__(self, path: Path, *, now_ms: Callable[[], int] | None = None) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._conn = connect(path, _SCHEMA)
        # Readers use their own connection: in WAL mode a long FilterLogEvents scan then
        # never holds up the writer, which runs on the server's event loop.
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
        """Store events in one transaction, creating groups and streams as needed."""
        if not events:
            return
        now = self._now_ms()
        with self._transaction() as conn:
            rows: list[tuple[int, int, int, int, str]] = []
            stats: dict[int, list[int]] = {}  # stream id -> [first, last, bytes, group id]
            for event in events:
                gid, sid = self._ids_for(conn, event.group, event.stream, now)
                ts = event.timestamp_ms
                rows.append((gid, sid, ts, now, event.message))
                size = len(event.message.encode()) + EVENT_OVERHEAD
                entry = stats.get(sid)
                if entry is None:
                    stats[sid] = [ts, ts, size, gid]
                else:
                    entry[0], entry[1] = min(entry[0], ts), max(entry[1], ts)
                    entry[2] += size
            conn.executemany(
                "INSERT INTO log_events (group_id, stream_id, timestamp, ingestion_time, message)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            for sid, (first, last, size, gid) in stats.items():
                conn.execute(
                    _UPDATE_STREAM,
                    {"first": first, "last": last, "now": now, "bytes": size, "id": sid},
                )
                conn.execute(
                    "UPDATE log_groups SET stored_bytes = stored_bytes + ? WHERE id = ?",
                    (size, gid),
                )

    def _ids_for(
        self, conn: sqlite3.Connection, group: str, stream: str, now: int
    ) -> tuple[int, int]:
        ids = self._ids.get((group, stream))
        if ids is not None:
            return ids
        conn.execute(
            "INSERT OR IGNORE INTO log_groups (name, creation_time) VALUES (?, ?)", (group, now)
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

    # --- descriptions ---------------------------------------------------------------------

    def describe_log_groups(
        self,
        prefix: str | None = None,
        limit: int = 50,
        token: str | None = None,
        pattern: str | None = None,
    ) -> Page[LogGroupInfo]:
        """Groups by name; ``pattern`` is a case-insensitive substring (logGroupNamePattern)."""
        after = _decode_token(token, (str,))
        params: list[Any] = []
        sql = "SELECT name, creation_time, stored_bytes FROM log_groups WHERE 1"
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
        return Page(items, _encode_token([items[-1].name]) if more else None)

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
        after = _decode_token(token, (int, str) if by_time else (str,))
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
            next_token = _encode_token(next_key)
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
            m = _EVENTS_TOKEN.fullmatch(next_token)
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
            size += len(message.encode()) + EVENT_OVERHEAD
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
            return EventsPage([], _events_token("f", ahead), _events_token("b", boundary))
        first, last = events[0], events[-1]
        return EventsPage(
            events,
            _events_token("f", (last.timestamp_ms, int(last.event_id))),
            _events_token("b", (first.timestamp_ms, int(first.event_id))),
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
        after = _decode_token(next_token, (int, int))
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
                    size += len(message.encode()) + EVENT_OVERHEAD
                    if size > MAX_RESPONSE_BYTES and events:
                        return Page(events, _encode_token(cursor))
                    events.append(StoredEvent(stream, ts, ingested, message, str(event_id)))
                cursor = [ts, event_id]
                scanned += 1
                if len(events) >= limit or scanned >= SCAN_BUDGET:
                    more = not exhausted or index < len(rows)
                    return Page(events, _encode_token(cursor) if more else None)
            if exhausted:
                return Page(events, None)
