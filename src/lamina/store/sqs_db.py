"""The SQS service's database: one SQLite file, one group-commit writer, one read connection.

Every write of the queue service (queues and messages) goes through ``writer``: a message
acknowledged by SendMessage is in a committed transaction of a database opened with
``synchronous=FULL`` (the WAL is fsynced at each commit), so it survives a SIGKILL and a
power cut. Reads that need SQLite (rebuilding the in-memory indexes at start, loading a
message body that is not cached) use the separate read connection under ``read_lock``; they
see only committed data (WAL readers never block the writer).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import migrate

T = TypeVar("T")


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: each commit fsyncs the WAL, so an acknowledged write survives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SqsDatabase:
    """``<data_dir>/sqs.sqlite3``: migrated on open (queues' and messages' components)."""

    def __init__(self, path: Path) -> None:
        # Imported here: the schema modules are small and import nothing of this one.
        from lamina.store import sqs_messages, sqs_queues

        self.path = path
        self._write_conn = _open(path)
        migrate(self._write_conn, "sqs_queues", sqs_queues.STEPS)
        migrate(self._write_conn, "sqs_messages", sqs_messages.STEPS)
        self.read_conn = _open(path)
        self.read_lock = threading.Lock()
        self.writer = GroupCommitWriter(self._write_conn, "lamina-sqs-writer")
        self.writer.start()
        self._closed = False

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the read connection under its lock (blocking: call it off the loop)."""
        with self.read_lock:
            return fn(self.read_conn)

    def close(self) -> None:
        """Stop the writer after every queued operation ran, then close both connections."""
        if self._closed:
            return
        self._closed = True
        self.writer.stop()
        self._write_conn.close()
        with self.read_lock:
            self.read_conn.close()
