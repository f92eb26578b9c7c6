"""The SQL of EventBridge archives and replays (``events.sqlite3``): archive and replay
documents, and the archived events (the event's JSON, its ingestion time and size), read in
id order for replays and expired by retention."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events_archives (
    region TEXT NOT NULL, account TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (region, account, name));
CREATE TABLE IF NOT EXISTS events_archived (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    region TEXT NOT NULL, account TEXT NOT NULL, archive TEXT NOT NULL,
    ingested REAL NOT NULL, size INTEGER NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_archived_by_archive
    ON events_archived (region, account, archive, ingested);
CREATE TABLE IF NOT EXISTS events_replays (
    region TEXT NOT NULL, account TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (region, account, name));
"""

ArchivedRow = tuple[str, str, str, float, int, str]  # region, account, archive, at, size, event


def put_document(
    conn: sqlite3.Connection, table: str, key: tuple[str, str, str], body: dict[str, Any]
) -> None:
    conn.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?)", (*key, json.dumps(body)))


def delete_archive(conn: sqlite3.Connection, key: tuple[str, str, str]) -> None:
    conn.execute("DELETE FROM events_archived WHERE region=? AND account=? AND archive=?", key)
    conn.execute("DELETE FROM events_archives WHERE region=? AND account=? AND name=?", key)


def insert_archived(conn: sqlite3.Connection, rows: list[ArchivedRow]) -> None:
    conn.executemany(
        "INSERT INTO events_archived (region, account, archive, ingested, size, event)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def load_documents(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    return [json.loads(row[0]) for row in conn.execute(f"SELECT body FROM {table}")]


def archive_totals(conn: sqlite3.Connection) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(event count, size in bytes) of every archive with events."""
    rows = conn.execute(
        "SELECT region, account, archive, COUNT(*), SUM(size) FROM events_archived"
        " GROUP BY region, account, archive"
    )
    return {(r[0], r[1], r[2]): (int(r[3]), int(r[4] or 0)) for r in rows}


def archived_page(
    conn: sqlite3.Connection,
    key: tuple[str, str, str],
    start: float,
    end: float,
    after_id: int,
    limit: int,
) -> list[tuple[int, float, str]]:
    """(id, ingested, event) of archived events ingested in [start, end), after ``after_id``."""
    rows = conn.execute(
        "SELECT id, ingested, event FROM events_archived"
        " WHERE region=? AND account=? AND archive=? AND ingested>=? AND ingested<? AND id>?"
        " ORDER BY id LIMIT ?",
        (*key, start, end, after_id, limit),
    )
    return [(int(r[0]), float(r[1]), str(r[2])) for r in rows]


def expire(
    conn: sqlite3.Connection, key: tuple[str, str, str], before: float, keep: int
) -> tuple[int, int]:
    """Delete an archive's events ingested before ``before`` and all but its newest
    ``keep``; returns how many events and bytes went."""
    removed = 0
    removed_bytes = 0
    where_old = "region=? AND account=? AND archive=? AND ingested<?"
    where_excess = (
        "region=? AND account=? AND archive=? AND id <= ("
        " SELECT id FROM events_archived WHERE region=? AND account=? AND archive=?"
        " ORDER BY id DESC LIMIT 1 OFFSET ?)"
    )
    for where, args in ((where_old, (*key, before)), (where_excess, (*key, *key, keep))):
        count, size = conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM events_archived WHERE {where}", args
        ).fetchone()
        if count:
            conn.execute(f"DELETE FROM events_archived WHERE {where}", args)
            removed += int(count)
            removed_bytes += int(size)
    return removed, removed_bytes
