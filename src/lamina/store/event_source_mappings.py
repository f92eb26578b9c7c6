"""Event source mappings in SQLite (``lamina.sqlite3``, component ``event_source_mappings``).

One row per mapping, with its region and account. Writes are single statements in their own
transaction (durable when they return); they block, so services call them off the event loop
(``asyncio.to_thread``). Mappings are few and read once at start, then served from memory.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from lamina.domain.event_source_mapping import EventSourceMapping
from lamina.store.migrations import migrate
from lamina.store.ports import MappingStore
from lamina.store.sqlite import connect, write_transaction

COMPONENT = "event_source_mappings"
STEPS = [
    """
    CREATE TABLE IF NOT EXISTS event_source_mappings (
        uuid TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        event_source_arn TEXT NOT NULL,
        function_name TEXT NOT NULL,
        function_qualifier TEXT,
        function_arn TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        state TEXT NOT NULL,
        last_modified REAL NOT NULL,
        batch_size INTEGER NOT NULL,
        batching_window INTEGER NOT NULL,
        filter_patterns TEXT NOT NULL,
        function_response_types TEXT NOT NULL,
        maximum_concurrency INTEGER,
        state_transition_reason TEXT NOT NULL,
        tags TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS event_source_mappings_function
        ON event_source_mappings(region, account_id, function_name);
    """,
]

_COLUMNS = (
    "uuid, region, account_id, event_source_arn, function_name, function_qualifier,"
    " function_arn, enabled, state, last_modified, batch_size, batching_window,"
    " filter_patterns, function_response_types, maximum_concurrency,"
    " state_transition_reason, tags"
)


class SqliteEventSourceMappingStore:
    """Mappings by UUID. ``put`` inserts or replaces a whole mapping; ``delete`` of an unknown
    UUID does nothing; ``all`` returns every mapping (any region and account)."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._lock = threading.Lock()
        with self._lock:
            migrate(self._conn, COMPONENT, STEPS)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def put(self, mapping: EventSourceMapping) -> None:
        with write_transaction(self._conn, self._lock):
            self._conn.execute(
                f"INSERT OR REPLACE INTO event_source_mappings({_COLUMNS})"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                _row(mapping),
            )

    def delete(self, uuid: str) -> None:
        with write_transaction(self._conn, self._lock):
            self._conn.execute("DELETE FROM event_source_mappings WHERE uuid=?", (uuid,))

    def all(self) -> list[EventSourceMapping]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM event_source_mappings ORDER BY last_modified, uuid"
            ).fetchall()
        return [_mapping(row) for row in rows]


def _row(m: EventSourceMapping) -> tuple[object, ...]:
    return (
        m.uuid,
        m.region,
        m.account_id,
        m.event_source_arn,
        m.function_name,
        m.function_qualifier,
        m.function_arn,
        int(m.enabled),
        m.state,
        m.last_modified,
        m.batch_size,
        m.batching_window,
        json.dumps(list(m.filter_patterns)),
        json.dumps(list(m.function_response_types)),
        m.maximum_concurrency,
        m.state_transition_reason,
        json.dumps(m.tags),
    )


def _mapping(row: sqlite3.Row | tuple[object, ...]) -> EventSourceMapping:
    (
        uuid,
        region,
        account_id,
        source,
        name,
        qualifier,
        function_arn,
        enabled,
        state,
        last_modified,
        batch_size,
        window,
        patterns,
        types,
        concurrency,
        reason,
        tags,
    ) = tuple(row)
    return EventSourceMapping(
        uuid=str(uuid),
        region=str(region),
        account_id=str(account_id),
        event_source_arn=str(source),
        function_name=str(name),
        function_qualifier=None if qualifier is None else str(qualifier),
        function_arn=str(function_arn),
        enabled=bool(enabled),
        state=str(state),
        last_modified=float(str(last_modified)),
        batch_size=int(str(batch_size)),
        batching_window=int(str(window)),
        filter_patterns=tuple(json.loads(str(patterns))),
        function_response_types=tuple(json.loads(str(types))),
        maximum_concurrency=None if concurrency is None else int(str(concurrency)),
        state_transition_reason=str(reason),
        tags=dict(json.loads(str(tags))),
    )


_PORT: type[MappingStore] = SqliteEventSourceMappingStore
