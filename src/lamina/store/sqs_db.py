"""The SQS store's database: one SQLite file, one group-commit writer, one read connection.

``SqliteSqsStore`` (``store/sqs_store.py``) runs every write of the queue service (queues and
messages) through ``writer``: a message acknowledged by SendMessage is in a committed
transaction. How far it survives is the ``durability`` (``--queue-durability``): ``kill`` (WAL
with ``synchronous=NORMAL``: the commit is written to the operating system before the answer,
so a SIGKILL or crash of the server loses nothing; a crash of the operating system or a power
cut may lose the last commits) or ``power-loss`` (``synchronous=FULL``: each commit also waits
for the WAL's fsync). Reads (rebuilding the in-memory indexes at start, loading a message body
that is not cached) use the separate read connection under ``read_lock``; they see only
committed data (WAL readers never block the writer).
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


# --queue-durability -> SQLite's synchronous mode (WAL journal).
SYNCHRONOUS = {"kill": "NORMAL", "power-loss": "FULL"}


def _open(path: Path, durability: str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[durability]}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SqsDatabase:
    """``<data_dir>/sqs.sqlite3``: migrated on open (queues' and messages' components)."""

    def __init__(self, path: Path, durability: str = "power-loss") -> None:
        # Imported here: the schema modules are small and import nothing of this one.
        from lamina.store import sqs_messages, sqs_queues

        self.path = path
        self._write_conn = _open(path, durability)
        migrate(self._write_conn, "sqs_queues", sqs_queues.STEPS)
        migrate(self._write_conn, "sqs_messages", sqs_messages.STEPS)
        self.read_conn = _open(path, durability)
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
