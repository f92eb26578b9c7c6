"""SQS queues in SQLite: the schema (component ``sqs_queues``) and the row operations
behind ``SqliteSqsStore`` (``store/sqs_store.py``), which runs each write through the SQS
database's group-commit writer. Attributes and tags are JSON objects of strings (the
attributes as SQS returns them).
"""

from __future__ import annotations

import json
import sqlite3

from lamina.store.migrations import Step
from lamina.store.sqs_records import StoredQueue

STEPS: list[Step] = [
    """
    CREATE TABLE IF NOT EXISTS sqs_queues (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        fifo INTEGER NOT NULL,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL,
        created REAL NOT NULL,
        last_modified REAL NOT NULL,
        UNIQUE (region, account_id, name)
    );
    """,
]


def load_queues(conn: sqlite3.Connection) -> list[StoredQueue]:
    """Every stored queue, oldest first."""
    rows = conn.execute(
        "SELECT id, region, account_id, name, fifo, attributes, tags, created, last_modified"
        " FROM sqs_queues ORDER BY id"
    ).fetchall()
    return [
        StoredQueue(
            id=int(row[0]),
            region=row[1],
            account_id=row[2],
            name=row[3],
            fifo=bool(row[4]),
            attributes=json.loads(row[5]),
            tags=json.loads(row[6]),
            created=float(row[7]),
            last_modified=float(row[8]),
        )
        for row in rows
    ]


def insert_queue(
    conn: sqlite3.Connection,
    region: str,
    account_id: str,
    name: str,
    fifo: bool,
    attributes: dict[str, str],
    tags: dict[str, str],
    created: float,
) -> int:
    """Store a new queue; returns its id (never reused, even after a deletion)."""
    cursor = conn.execute(
        "INSERT INTO sqs_queues(region, account_id, name, fifo, attributes, tags, created,"
        " last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            region,
            account_id,
            name,
            int(fifo),
            json.dumps(attributes),
            json.dumps(tags),
            created,
            created,
        ),
    )
    row_id = cursor.lastrowid
    assert row_id is not None
    return int(row_id)


def update_attributes(
    conn: sqlite3.Connection, queue_id: int, attributes: dict[str, str], last_modified: float
) -> None:
    """Replace a queue's attributes and its LastModifiedTimestamp."""
    conn.execute(
        "UPDATE sqs_queues SET attributes=?, last_modified=? WHERE id=?",
        (json.dumps(attributes), last_modified, queue_id),
    )


def update_tags(conn: sqlite3.Connection, queue_id: int, tags: dict[str, str]) -> None:
    """Replace a queue's tags (tags do not change LastModifiedTimestamp)."""
    conn.execute("UPDATE sqs_queues SET tags=? WHERE id=?", (json.dumps(tags), queue_id))


def delete_queue(conn: sqlite3.Connection, queue_id: int) -> None:
    """Remove a queue's row."""
    conn.execute("DELETE FROM sqs_queues WHERE id=?", (queue_id,))
