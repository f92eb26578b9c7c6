"""What every SQLite store of Lamina shares: WAL connections, write transactions and the
store's numbered schema migrations (``store/migrations.py``), run when it opens."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lamina.store.migrations import Step, migrate


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection usable from any thread (callers serialise access)."""
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection, lock: threading.Lock) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            # A commit that failed (a full disk) may leave the transaction open.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


class SqliteStore:
    """A store on one connection: reads under the lock, writes in ``_tx`` transactions.

    Opening it brings the database's ``component`` schema up to date with ``steps``.
    """

    def __init__(self, path: Path, component: str, steps: Sequence[Step]) -> None:
        self._conn = connect(path)
        try:
            migrate(self._conn, component, steps)
        except BaseException:
            self._conn.close()
            raise
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with write_transaction(self._conn, self._lock):
            yield self._conn
