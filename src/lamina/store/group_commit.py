"""Group commit: one connection, one writer thread, many operations per transaction.

Callers hand the writer an operation (a function of the connection) and get a future; the
thread takes every operation waiting, runs each in its own savepoint inside one transaction
and completes their futures after the single ``COMMIT``. Under load many writes share one
commit (one fsync); alone, a write costs one. An operation that raises is rolled back alone
and its caller gets the exception; a failed commit fails the whole batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Most operations one commit groups (bounds the latency of the first one in a batch).
MAX_BATCH = 512


class GroupCommitWriter(threading.Thread):
    """One connection, one thread: runs queued operations in group-committed transactions."""

    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.conn = conn
        self.ops: queue.SimpleQueue[
            tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future[Any]] | None
        ] = queue.SimpleQueue()
        self.commits = 0

    def submit(self, op: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.ops.put((op, future))
        return future

    def stop(self) -> None:
        self.ops.put(None)
        self.join()

    def run(self) -> None:
        while True:
            first = self.ops.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self.ops.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._run_batch(batch)
            if stopping:
                return

    def _run_batch(
        self,
        batch: list[tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future[Any]]],
    ) -> None:
        results: list[tuple[concurrent.futures.Future[Any], Any, BaseException | None]] = []
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, future in batch:
                # Each operation in its own savepoint: one failing leaves the others intact.
                conn.execute("SAVEPOINT op")
                try:
                    result = op(conn)
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((future, None, exc))
                else:
                    conn.execute("RELEASE op")
                    results.append((future, result, None))
            conn.execute("COMMIT")
            self.commits += 1
        except BaseException as exc:  # noqa: BLE001 - the whole batch failed
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _, future in batch:
                future.set_exception(exc)
            return
        for future, result, error in results:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    async def run_op(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in the next group commit; returns once it is committed."""
        return await asyncio.wrap_future(self.submit(op))
