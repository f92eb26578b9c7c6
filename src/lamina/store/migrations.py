"""Numbered schema migrations for Lamina's SQLite databases.

Each store names its component and lists its steps in order; step *n* (1-based) runs once,
in its own write transaction, and the component's version is recorded in ``lamina_schema``
in the same transaction, so a crash mid-way leaves either the old or the new version.
Steps are never edited once released: a change to a schema is a new step at the end.

A step is SQL (one or more statements) or a function of the connection (for changes that
need to look at the data, e.g. adding a column only when an old database lacks it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

Step = str | Callable[[sqlite3.Connection], None]

_TABLE = (
    "CREATE TABLE IF NOT EXISTS lamina_schema ("
    " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    conn.execute(_TABLE)
    row = conn.execute(
        "SELECT version FROM lamina_schema WHERE component=?", (component,)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, component: str, steps: Sequence[Step]) -> int:
    """Run ``component``'s steps the database has not seen yet; returns its version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and not in a transaction.
    A database newer than this code (a downgrade) is refused rather than misread.
    """
    current = schema_version(conn, component)
    if current > len(steps):
        raise RuntimeError(
            f"the database's {component} schema is version {current}, newer than this "
            f"Lamina knows ({len(steps)}): upgrade Lamina or use another data directory"
        )
    for number in range(current + 1, len(steps) + 1):
        step = steps[number - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            if isinstance(step, str):
                for statement in _statements(step):
                    conn.execute(statement)
            else:
                step(conn)
            conn.execute(
                "INSERT INTO lamina_schema(component, version) VALUES (?, ?)"
                " ON CONFLICT(component) DO UPDATE SET version=excluded.version",
                (component, number),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return len(steps)


def _statements(script: str) -> list[str]:
    """A script's statements (``executescript`` would commit the open transaction)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


def add_column_if_missing(table: str, column: str, definition: str) -> Step:
    """A step adding ``column`` to ``table`` unless an older release already added it."""

    def step(conn: sqlite3.Connection) -> None:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    return step
