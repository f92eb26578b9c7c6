"""Group commit: one connection, one writer thread, many operations per transaction.

Callers hand the writer an operation (a function of the connection) and get its result once
the transaction holding it is committed; the thread takes every operation waiting, runs each
in its own savepoint inside one transaction and completes them after the single ``COMMIT``.
Under load many writes share one commit (one fsync); alone, a write costs one. An operation
that raises is rolled back alone and its caller gets the exception; a failed commit fails the
whole batch.

Two ways in: ``submit`` (any thread) returns a ``concurrent.futures.Future``; ``run_op``
(a coroutine) completes an asyncio future directly, with one wake-up of its event loop per
batch however many of the batch's operations came from that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Most operations one commit groups (bounds the latency of the first one in a batch).
MAX_BATCH = 512

Operation = Callable[[sqlite3.Connection], Any]
# Where an operation's outcome goes: a thread-safe future (``submit``) or an asyncio future
# with its loop (``run_op``).
Waiter = concurrent.futures.Future[Any] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]
Outcome = tuple[Waiter, Any, BaseException | None]


def _settle_all(outcomes: list[Outcome]) -> None:
    """On the event loop: complete the asyncio futures of one batch (skipping cancelled ones)."""
    for waiter, result, error in outcomes:
        future = waiter[1]  # type: ignore[index]
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class GroupCommitWriter(threading.Thread):
    """One connection, one thread: runs queued operations in group-committed transactions."""

    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.conn = conn
        self.ops: queue.SimpleQueue[tuple[Operation, Waiter] | None] = queue.SimpleQueue()
        self.commits = 0

    def submit(self, op: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.ops.put((op, future))
        return future

    async def run_op(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in the next group commit; returns once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self.ops.put((op, (loop, future)))
        return await future

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
            self._complete(self._run_batch(batch))
            if stopping:
                return

    def _run_batch(self, batch: list[tuple[Operation, Waiter]]) -> list[Outcome]:
        """Run and commit one batch; every operation's outcome (all failed if the commit did)."""
        conn = self.conn
        outcomes: list[Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                # Alone in its transaction: the transaction is its savepoint.
                op, waiter = batch[0]
                try:
                    outcomes.append((waiter, op(conn), None))
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    return [(waiter, None, exc)]
            else:
                for op, waiter in batch:
                    # Each operation in its own savepoint: one failing leaves the others intact.
                    conn.execute("SAVEPOINT op")
                    try:
                        result = op(conn)
                    except Exception as exc:  # noqa: BLE001 - reported to the caller
                        conn.execute("ROLLBACK TO op")
                        conn.execute("RELEASE op")
                        outcomes.append((waiter, None, exc))
                    else:
                        conn.execute("RELEASE op")
                        outcomes.append((waiter, result, None))
            conn.execute("COMMIT")
            self.commits += 1
        except BaseException as exc:  # noqa: BLE001 - the whole batch failed
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(waiter, None, exc) for _, waiter in batch]
        return outcomes

    @staticmethod
    def _complete(outcomes: list[Outcome]) -> None:
        """Hand each outcome to its caller: thread-safe futures at once, asyncio futures in
        one callback per event loop. A caller that cancelled its future gets nothing (and
        the writer goes on)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for outcome in outcomes:
            waiter, result, error = outcome
            if isinstance(waiter, tuple):
                by_loop.setdefault(waiter[0], []).append(outcome)
            elif not waiter.set_running_or_notify_cancel():
                continue  # cancelled by its caller (the write is committed all the same)
            elif error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(result)
        for loop, settled in by_loop.items():
            # A closed loop (RuntimeError) has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, settled)
