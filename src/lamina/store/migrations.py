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


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Lamina than this one: it is not read at all."""


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    """The number of ``component``'s last step this database ran (0: none, or a database
    from before numbered migrations)."""
    conn.execute(_TABLE)
    row = conn.execute(
        "SELECT version FROM lamina_schema WHERE component=?", (component,)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, component: str, steps: Sequence[Step]) -> int:
    """Run ``component``'s steps the database has not seen yet; returns its version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and not in a transaction.
    Each step runs in its own ``BEGIN IMMEDIATE`` transaction that also records its number:
    a step that raises is rolled back entirely (the version stays at the previous step) and
    its exception propagates. The version is read again inside each transaction, so two
    processes opening the same database never run a step twice. A database newer than this
    code (a downgrade) is refused with ``SchemaTooNew`` rather than misread.
    """
    seen = schema_version(conn, component)
    _refuse_newer(conn, seen, component, steps)
    for number in range(seen + 1, len(steps) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn, component)
            _refuse_newer(conn, current, component, steps)
            if current < number:
                _run(conn, steps[number - 1])
                conn.execute(
                    "INSERT INTO lamina_schema(component, version) VALUES (?, ?)"
                    " ON CONFLICT(component) DO UPDATE SET version=excluded.version",
                    (component, number),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # some errors (a full disk) end the transaction already
                conn.execute("ROLLBACK")
            raise
    return len(steps)


def _refuse_newer(
    conn: sqlite3.Connection, current: int, component: str, steps: Sequence[Step]
) -> None:
    if current > len(steps):
        files = [row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"]
        raise SchemaTooNew(
            f"{files[0] if files and files[0] else 'the database'}: the {component} schema"
            f" is version {current}, newer than this Lamina knows ({len(steps)}): upgrade"
            " Lamina or use another data directory"
        )


def _run(conn: sqlite3.Connection, step: Step) -> None:
    if isinstance(step, str):
        for statement in _statements(step):
            conn.execute(statement)
    else:
        step(conn)


def _statements(script: str) -> list[str]:
    """A script's statements, one per ``execute`` (``executescript`` would commit the open
    transaction). Splits at each ``;`` that ends a complete statement, so semicolons in
    strings, several statements on one line and triggers' bodies are handled."""
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending[:-1].strip():
                out.append(pending.strip())
            pending = ""
    if pending[:-1].strip():  # an unterminated last statement (its ";" was added above)
        out.append(pending.strip())
    return out


def add_column_if_missing(table: str, column: str, definition: str) -> Step:
    """A step adding ``column`` to ``table`` unless an older release already added it."""

    def step(conn: sqlite3.Connection) -> None:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    return step
