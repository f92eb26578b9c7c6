"""How log events travel in batches: LogBatch rows, the SQLite store's batch statements
(chunks, power-of-two INSERTs, per-stream statistics) and LogBuffer's hand-over."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.services.log_buffer import LogBuffer
from lamina.store import log_writes
from lamina.store.log_batch import LogBatch, LogRow, rows_of
from lamina.store.log_records import LogEvent
from lamina.store.log_store import SqliteLogStore
from lamina.store.log_writes import (
    MAX_ROWS,
    STEP_ROWS,
    chunk_bounds,
    insert_parameters,
    insert_sql,
    insert_statements,
    stream_stats,
)

G = "/aws/lambda/fn"
OTHER_GROUP = "/aws/lambda/other"
S1 = "2024/01/01/[$LATEST]" + "a" * 32
S2 = "2024/01/01/[$LATEST]" + "b" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteLogStore]:
    s = SqliteLogStore(tmp_path / "logs.sqlite3", now_ms=lambda: 5_000)
    yield s
    s.close()


def row(ts: int, message: str, stream: str = S1, group: str = G) -> LogRow:
    return ((group, stream), ts, message)


# --- LogBatch -------------------------------------------------------------------------------


def test_a_batch_is_a_sequence_of_events_over_its_rows() -> None:
    rows = [row(1, "a"), row(2, "b", S2)]
    batch = LogBatch(rows)
    assert len(batch) == 2
    assert batch[1] == LogEvent(G, S2, 2, "b")
    assert list(batch) == [LogEvent(G, S1, 1, "a"), LogEvent(G, S2, 2, "b")]
    assert list(batch[1:]) == [LogEvent(G, S2, 2, "b")]
    assert rows_of(batch) is rows  # no copy for the store
    assert rows_of([LogEvent(G, S1, 1, "a")]) == [row(1, "a")]


# --- the statements of a batch ----------------------------------------------------------------


def test_chunks_hold_about_the_byte_limit_and_at_least_one_row() -> None:
    assert chunk_bounds(["ab", "cd"], limit=10) == [2]  # under the limit: one chunk
    assert chunk_bounds(["aaaa", "bbbb", "cccc", "dd"], limit=8) == [2, 4]
    assert chunk_bounds(["x" * 20, "y", "z" * 20], limit=8) == [1, 2, 3]  # big rows alone


def test_a_chunk_goes_in_a_multiple_of_the_step_and_the_rest_without_null_rows() -> None:
    def rows_of_statements(n: int, bounds: list[int]) -> list[int]:
        """The rows of each statement (every parameter bound is one of the rows')."""
        statements = list(insert_statements(list(range(5 * n)), bounds))
        values = [value for _, chunk in statements for value in chunk]
        assert values == list(range(5 * n))  # every row once, in order, and nothing else
        counts = []
        for sql, chunk in statements:
            rows = sql.count("(?, ?, ?, ?, ?)")
            assert len(chunk) == 5 * rows
            counts.append(rows)
        return counts

    assert rows_of_statements(13, [13]) == [13]
    assert rows_of_statements(STEP_ROWS, [STEP_ROWS]) == [STEP_ROWS]
    assert rows_of_statements(MAX_ROWS + 70, [MAX_ROWS + 70]) == [MAX_ROWS, STEP_ROWS, 6]
    assert rows_of_statements(200, [200]) == [3 * STEP_ROWS, 8]
    assert rows_of_statements(7, [3, 7]) == [3, 4]  # chunks apart
    for sql, _ in insert_statements([1, 2, 3, 4, "m"], [1]):
        assert sql.startswith("INSERT OR IGNORE INTO log_events")
    row: list[int | str] = [0] * 5
    shapes = {sql for n in range(1, 3 * MAX_ROWS) for sql, _ in insert_statements(row * n, [n])}
    assert len(shapes) == MAX_ROWS // STEP_ROWS + STEP_ROWS - 1  # 79: the statement cache's 128
    for wrong in (0, STEP_ROWS + 1, MAX_ROWS + STEP_ROWS):
        with pytest.raises(ValueError):
            insert_sql(wrong)


def test_parameters_are_laid_out_row_by_row() -> None:
    ids = {(G, S1): (1, 10), (G, S2): (1, 11)}
    keys = [(G, S1), (G, S2)]
    assert insert_parameters(ids, keys, [7, 8], ["a", "b"], 99) == [
        *(1, 10, 7, 99, "a"),
        *(1, 11, 8, 99, "b"),
    ]


def test_stream_stats_first_last_and_utf8_bytes() -> None:
    keys = [(G, S1), (G, S2), (G, S1), (G, S1)]
    stats = stream_stats(keys, [20, 5, 10, 30], ["ab", "c", "é", ""])
    assert list(stats) == [(G, S1), (G, S2)]  # in order of arrival
    assert stats[(G, S1)] == [10, 30, 2 + 2 + 0 + 3 * 26]  # "é" is 2 bytes of UTF-8
    assert stats[(G, S2)] == [5, 5, 1 + 26]


# --- the store ------------------------------------------------------------------------------


def stored(store: SqliteLogStore, group: str = G) -> list[tuple[str, int, int, str]]:
    return [
        (e.stream, e.timestamp_ms, e.ingestion_time_ms, e.message)
        for e in store.filter_log_events(group).items
    ]


def test_a_batch_is_stored_like_events_one_by_one(tmp_path: Path, store: SqliteLogStore) -> None:
    rows = [
        row(i % 7, f"m{i} é" if i % 5 == 0 else f"m{i}", S1 if i % 3 else S2) for i in range(50)
    ]
    rows += [row(3, "elsewhere", S1, OTHER_GROUP)]
    store.append(LogBatch(rows))
    reference = SqliteLogStore(tmp_path / "one-by-one.sqlite3", now_ms=lambda: 5_000)
    for r in rows:
        reference.append([LogEvent(r[0][0], r[0][1], r[1], r[2])])
    for group in (G, OTHER_GROUP):
        assert stored(store, group) == stored(reference, group)
        assert store.describe_log_groups().items == reference.describe_log_groups().items
        assert (
            store.describe_log_streams(group).items == reference.describe_log_streams(group).items
        )
    # Same timestamps keep their order of arrival (ids ascending), streams interleaved.
    at_3 = [m for s, ts, _, m in stored(store) if ts == 3]
    assert at_3 == [r[2] for r in rows if r[1] == 3 and r[0][0] == G]
    reference.close()


def test_a_batch_over_the_chunk_and_row_limits(
    store: SqliteLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_writes, "INSERT_CHUNK_BYTES", 100)
    rows = [row(i, f"{i:05d}" + "x" * (i % 40), S1 if i % 2 else S2) for i in range(MAX_ROWS + 37)]
    store.append(LogBatch(rows))
    page = store.filter_log_events(G, limit=10_000)
    assert [e.message for e in page.items] == [r[2] for r in rows]
    streams = {s.name: s for s in store.describe_log_streams(G).items}
    expected = sum(len(r[2]) + 26 for r in rows if r[0][1] == S1)
    assert streams[S1].stored_bytes == expected
    assert (streams[S2].first_event_timestamp, streams[S2].last_event_timestamp) == (
        0,
        MAX_ROWS + 36,
    )


def test_nul_and_non_ascii_text_is_stored_as_is(store: SqliteLogStore) -> None:
    store.append(LogBatch([row(1, "a\x00b"), row(2, "ünïcødé ✓")]))
    assert [m for *_, m in stored(store)] == ["a\x00b", "ünïcødé ✓"]
    assert (
        store.describe_log_groups().items[0].stored_bytes == 3 + 26 + len("ünïcødé ✓".encode()) + 26
    )


def test_text_sqlite_cannot_take_loses_only_its_event(store: SqliteLogStore) -> None:
    store.append(LogBatch([row(1, "kept"), row(2, "bad \ud800 surrogate"), row(3, "also")]))
    assert [m for *_, m in stored(store)] == ["kept", "also"]
    assert store.describe_log_groups().items[0].stored_bytes == 4 + 26 + 4 + 26


def test_a_failed_batch_leaves_nothing_behind(
    store: SqliteLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(LogBatch([row(1, "first")]))

    def broken(rows: int) -> str:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(log_writes, "insert_sql", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.append(LogBatch([row(2, "lost")]))  # one event: raised, not retried
    monkeypatch.undo()
    store.append(LogBatch([row(3, "after", S2)]))
    assert [m for *_, m in stored(store)] == ["first", "after"]
    stream = {s.name: s for s in store.describe_log_streams(G).items}[S1]
    assert (stream.last_event_timestamp, stream.stored_bytes) == (1, 5 + 26)


# --- LogBuffer ------------------------------------------------------------------------------


def test_the_buffer_hands_over_its_rows_as_a_batch() -> None:
    buffer = LogBuffer(stream_cap=10**6, total_cap=10**7, flush_events=3, flush_bytes=10**6)
    assert not buffer.append(G, S1, 1, "a", False)
    assert not buffer.append(G, S2, 2, "b", True)
    assert buffer.append(G, S1, 3, "c", False)  # flush_events reached
    taken = buffer.take()
    assert isinstance(taken.events, LogBatch)
    assert taken.events.rows == [row(1, "a"), row(2, "b", S2), row(3, "c")]
    assert taken.size == 3 * 27
    assert len(buffer) == 0 and buffer.take().events.rows == []
