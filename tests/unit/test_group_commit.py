"""The group-commit writer's contract: results arrive after the commit, a failing operation is
rolled back alone (in a shared batch and alone in its transaction), a failed commit fails the
whole batch, and both ways in (``run_op`` and ``submit``) share batches."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.store.group_commit import GroupCommitWriter


class Boom(Exception):
    pass


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)")
    return conn


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[GroupCommitWriter]:
    w = GroupCommitWriter(_open(tmp_path / "db.sqlite3"), "test-writer")
    w.start()
    yield w
    w.stop()
    w.conn.close()


def insert(value: int) -> object:
    def op(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t(v) VALUES (?)", (value,))
        return value

    return op


def insert_then_fail(value: int) -> object:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t(v) VALUES (?)", (value,))
        raise Boom(str(value))

    return op


def committed(path: Path) -> list[int]:
    conn = sqlite3.connect(str(path))
    try:
        return [row[0] for row in conn.execute("SELECT v FROM t ORDER BY v")]
    finally:
        conn.close()


def db_path(writer: GroupCommitWriter) -> Path:
    return Path(writer.conn.execute("PRAGMA database_list").fetchone()[2])


def test_run_op_returns_after_commit(writer: GroupCommitWriter) -> None:
    async def go() -> int:
        result: int = await writer.run_op(insert(1))  # type: ignore[arg-type]
        # Another connection sees it: the answer came after the commit.
        assert committed(db_path(writer)) == [1]
        return result

    assert asyncio.run(go()) == 1


def test_failing_operation_alone_rolls_back_and_raises(writer: GroupCommitWriter) -> None:
    async def go() -> None:
        with pytest.raises(Boom):
            await writer.run_op(insert_then_fail(7))  # type: ignore[arg-type]
        await writer.run_op(insert(8))  # type: ignore[arg-type]

    asyncio.run(go())
    assert committed(db_path(writer)) == [8]
    assert not writer.conn.in_transaction


def test_failing_operation_in_a_batch_rolls_back_alone(writer: GroupCommitWriter) -> None:
    gate = threading.Event()
    # Hold the writer so the next operations queue up and run as one batch.
    blocker = writer.submit(lambda conn: gate.wait(5))

    async def go() -> list[object]:
        ops = [insert(1), insert_then_fail(2), insert(3)]
        tasks = [asyncio.ensure_future(writer.run_op(op)) for op in ops]  # type: ignore[arg-type]
        thread_future = writer.submit(insert(4))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        commits_before = writer.commits
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert thread_future.result(5) == 4
        assert writer.commits - commits_before <= 2  # the blocker's batch, then the rest
        return results

    results = asyncio.run(go())
    assert blocker.result(5) is True
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], Boom)
    assert committed(db_path(writer)) == [1, 3, 4]


def test_failed_commit_fails_every_operation_of_the_batch(tmp_path: Path) -> None:
    conn = _open(tmp_path / "fk.sqlite3")
    # A deferred foreign key violation only fails at COMMIT.
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE child (p INTEGER REFERENCES t(v) DEFERRABLE INITIALLY DEFERRED)")
    writer = GroupCommitWriter(conn, "test-fk-writer")
    gate = threading.Event()
    writer.submit(lambda conn: gate.wait(5))
    writer.start()

    def orphan(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO child(p) VALUES (999)")

    async def go() -> list[object]:
        tasks = [
            asyncio.ensure_future(writer.run_op(insert(1))),  # type: ignore[arg-type]
            asyncio.ensure_future(writer.run_op(orphan)),
        ]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(go())
        assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
        assert not conn.in_transaction
        assert committed(tmp_path / "fk.sqlite3") == []
        # The writer goes on.
        assert writer.submit(insert(2)).result(5) == 2  # type: ignore[arg-type]
    finally:
        writer.stop()
        conn.close()


def test_cancelled_caller_does_not_break_the_batch(writer: GroupCommitWriter) -> None:
    gate = threading.Event()
    writer.submit(lambda conn: gate.wait(5))

    async def go() -> int:
        abandoned = asyncio.ensure_future(writer.run_op(insert(1)))  # type: ignore[arg-type]
        kept = asyncio.ensure_future(writer.run_op(insert(2)))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        abandoned.cancel()
        gate.set()
        result: int = await kept
        return result

    assert asyncio.run(go()) == 2
    # Cancelling the wait does not undo the write: it was queued and committed.
    assert committed(db_path(writer)) == [1, 2]


def test_cancelled_thread_future_does_not_stop_the_writer(writer: GroupCommitWriter) -> None:
    gate = threading.Event()
    writer.submit(lambda conn: gate.wait(5))
    abandoned = writer.submit(insert(1))  # type: ignore[arg-type]
    assert abandoned.cancel()
    gate.set()
    assert writer.submit(insert(2)).result(5) == 2  # type: ignore[arg-type]
    assert writer.is_alive()
    assert committed(db_path(writer)) == [1, 2]
