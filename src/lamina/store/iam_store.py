"""IAM's store: ``<data_dir>/iam.sqlite3`` (global: IAM has no regions).

One table per kind of record (roles, users, access keys, the account's managed policies),
each row one JSON document (``services/iam/model.py``) under its key: a role's or user's
name in lower case (IAM names are unique whatever their case), a key's id, a policy's ARN.
A role or user document holds its inline policies and the ARNs of its attached managed
policies; a policy document holds its versions.

Each ``write`` is one transaction of a group-commit writer and returns after its commit (WAL,
``synchronous=NORMAL``: an acknowledged change survives a SIGKILL of the server). ``load``
reads everything at start; the service serves reads from memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import Step, migrate

Table = Literal["iam_roles", "iam_users", "iam_access_keys", "iam_policies"]
TABLES: tuple[Table, ...] = ("iam_roles", "iam_users", "iam_access_keys", "iam_policies")

STEPS: list[Step] = [
    """
    CREATE TABLE iam_roles (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE iam_users (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE iam_access_keys (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE iam_policies (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
    """,
]


@dataclass(frozen=True, slots=True)
class Change:
    """Put ``doc`` under ``key`` in ``table``, or delete the row (``doc`` None)."""

    table: Table
    key: str
    doc: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StoredIam:
    """Every stored document, by table, in insertion order."""

    rows: dict[Table, list[dict[str, Any]]]


class SqliteIamStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            migrate(self._conn, "iam", STEPS)
        except BaseException:
            self._conn.close()
            raise
        self._writer = GroupCommitWriter(self._conn, "lamina-iam-writer")
        self._writer.start()
        self._closed = False

    def load(self) -> StoredIam:
        """Every document (call before any write, off the event loop)."""
        rows: dict[Table, list[dict[str, Any]]] = {}
        for table in TABLES:
            cursor = self._conn.execute(f"SELECT doc FROM {table} ORDER BY rowid")  # noqa: S608
            rows[table] = [json.loads(doc) for (doc,) in cursor]
        return StoredIam(rows)

    async def write(self, changes: Sequence[Change]) -> None:
        """Apply every change in one transaction."""
        encoded = [(c.table, c.key, None if c.doc is None else json.dumps(c.doc)) for c in changes]
        for table, _, _ in encoded:
            if table not in TABLES:
                raise ValueError(f"not an IAM table: {table}")

        def apply(conn: sqlite3.Connection) -> None:
            for table, key, doc in encoded:
                if doc is None:
                    conn.execute(f"DELETE FROM {table} WHERE key=?", (key,))  # noqa: S608
                else:
                    conn.execute(
                        f"INSERT INTO {table}(key, doc) VALUES (?, ?)"  # noqa: S608
                        " ON CONFLICT(key) DO UPDATE SET doc=excluded.doc",
                        (key, doc),
                    )

        await self._writer.run_op(apply)

    def close(self) -> None:
        """Stop the writer after every queued write ran, then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        self._conn.close()
