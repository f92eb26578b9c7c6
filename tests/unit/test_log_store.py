"""SqliteLogStore, filter patterns and LogService buffering."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.domain.log_events import MAX_EVENT_BYTES
from lamina.domain.log_filter import FilterPatternError, compile_filter_pattern, required_terms
from lamina.domain.log_retention import parse_retention_days
from lamina.services.logs import LogService
from lamina.store import log_store
from lamina.store.log_batch import LogRow
from lamina.store.log_store import (
    InvalidParameter,
    LogEvent,
    ResourceAlreadyExists,
    ResourceNotFound,
    SqliteLogStore,
)

G = "/aws/lambda/fn"
S1 = "2024/01/01/[$LATEST]" + "a" * 32
S2 = "2024/01/01/[$LATEST]" + "b" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SqliteLogStore]:
    s = SqliteLogStore(tmp_path / "logs.sqlite3", now_ms=clock)
    yield s
    s.close()


def ev(ts: int, msg: str, stream: str = S1, group: str = G) -> LogEvent:
    return LogEvent(group, stream, ts, msg)


# --- groups and streams -------------------------------------------------------------------


def test_append_creates_group_and_stream_with_stats(store: SqliteLogStore, clock: Clock) -> None:
    store.append([ev(200, "b"), ev(100, "a")])
    clock.now += 5
    store.append([ev(300, "c"), ev(50, "z", stream=S2)])
    groups = store.describe_log_groups().items
    assert [(g.name, g.creation_time) for g in groups] == [(G, 1_000_000)]
    assert groups[0].stored_bytes == 4 * 27
    s1, s2 = store.describe_log_streams(G).items
    assert (s1.name, s1.creation_time, s1.first_event_timestamp, s1.last_event_timestamp) == (
        S1,
        1_000_000,
        100,
        300,
    )
    assert s1.last_ingestion_time == 1_000_005
    assert (s2.name, s2.first_event_timestamp, s2.last_event_timestamp) == (S2, 50, 50)


def test_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "logs.sqlite3"
    first = SqliteLogStore(path)
    first.append([ev(1, "hello")])
    first.close()
    first.close()  # idempotent
    again = SqliteLogStore(path)
    assert [e.message for e in again.filter_log_events(G).items] == ["hello"]
    again.close()


def test_create_and_delete_group(store: SqliteLogStore) -> None:
    store.create_log_group("/custom")
    with pytest.raises(ResourceAlreadyExists):
        store.create_log_group("/custom")
    store.append([ev(1, "x", group="/custom")])
    store.delete_log_group("/custom")
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        store.delete_log_group("/custom")
    with pytest.raises(ResourceNotFound):
        store.filter_log_events("/custom")
    # Appending after a delete re-creates the group (the id cache was dropped).
    store.append([ev(2, "y", group="/custom")])
    assert [e.message for e in store.filter_log_events("/custom").items] == ["y"]


def test_describe_log_groups_prefix_pattern_pagination(store: SqliteLogStore) -> None:
    names = [f"/aws/lambda/f{i:02d}" for i in range(7)] + ["/other/Thing"]
    for name in names:
        store.create_log_group(name)
    assert [g.name for g in store.describe_log_groups(prefix="/other").items] == ["/other/Thing"]
    assert [g.name for g in store.describe_log_groups(pattern="thing").items] == ["/other/Thing"]
    seen: list[str] = []
    token = None
    while True:
        page = store.describe_log_groups(prefix="/aws/lambda/", limit=3, token=token)
        seen += [g.name for g in page.items]
        token = page.next_token
        if token is None:
            break
        assert len(page.items) == 3
    assert seen == names[:7]
    with pytest.raises(InvalidParameter, match="nextToken"):
        store.describe_log_groups(token="garbage!")


def test_describe_log_streams_orders_and_pages(store: SqliteLogStore) -> None:
    streams = [f"2024/01/0{i}/[$LATEST]{'c' * 32}" for i in range(1, 6)]
    # Stream i gets its last event at 100 * (6 - i): stream 1 is the most recent.
    store.append([ev(100 * (6 - i), "m", stream=s) for i, s in enumerate(streams, 1)])
    by_name = store.describe_log_streams(G, limit=2)
    assert [s.name for s in by_name.items] == streams[:2]
    rest = store.describe_log_streams(G, limit=10, token=by_name.next_token)
    assert [s.name for s in rest.items] == streams[2:] and rest.next_token is None

    names: list[str] = []
    token = None
    while True:
        page = store.describe_log_streams(
            G, order_by="LastEventTime", descending=True, limit=2, token=token
        )
        names += [s.name for s in page.items]
        if (token := page.next_token) is None:
            break
    assert names == streams
    desc = store.describe_log_streams(G, descending=True).items
    assert [s.name for s in desc] == streams[::-1]
    assert [s.name for s in store.describe_log_streams(G, prefix="2024/01/03").items] == [
        streams[2]
    ]
    with pytest.raises(InvalidParameter, match="LastEventTime"):
        store.describe_log_streams(G, prefix="2024", order_by="LastEventTime")
    with pytest.raises(ResourceNotFound):
        store.describe_log_streams("/nope")


# --- GetLogEvents ------------------------------------------------------------------------


def test_get_log_events_from_head_pages_forward(store: SqliteLogStore, clock: Clock) -> None:
    store.append([ev(t, f"m{t}") for t in (10, 20, 20, 30, 40)])
    page = store.get_log_events(G, S1, start_from_head=True, limit=2)
    assert [e.message for e in page.events] == ["m10", "m20"]
    page = store.get_log_events(G, S1, limit=2, next_token=page.next_forward_token)
    assert [e.message for e in page.events] == ["m20", "m30"]
    page = store.get_log_events(G, S1, limit=2, next_token=page.next_forward_token)
    assert [e.message for e in page.events] == ["m40"]
    end = store.get_log_events(G, S1, limit=2, next_token=page.next_forward_token)
    assert end.events == [] and end.next_forward_token == page.next_forward_token
    # New events show up on the same forward token.
    store.append([ev(50, "m50")])
    later = store.get_log_events(G, S1, next_token=end.next_forward_token)
    assert [e.message for e in later.events] == ["m50"]
    assert later.events[0].ingestion_time_ms == clock.now


def test_get_log_events_default_is_newest_and_pages_backward(store: SqliteLogStore) -> None:
    store.append([ev(t, f"m{t}") for t in (10, 20, 30, 40, 50)])
    page = store.get_log_events(G, S1, limit=2)
    assert [e.message for e in page.events] == ["m40", "m50"]
    back = store.get_log_events(G, S1, limit=2, next_token=page.next_backward_token)
    assert [e.message for e in back.events] == ["m20", "m30"]
    back = store.get_log_events(G, S1, limit=2, next_token=back.next_backward_token)
    assert [e.message for e in back.events] == ["m10"]
    first = store.get_log_events(G, S1, limit=2, next_token=back.next_backward_token)
    assert first.events == [] and first.next_backward_token == back.next_backward_token
    # Forward from the start of the history re-reads it from the oldest event.
    again = store.get_log_events(G, S1, limit=1, next_token=first.next_forward_token)
    assert [e.message for e in again.events] == ["m10"]


def test_get_log_events_time_range_and_errors(store: SqliteLogStore) -> None:
    store.append([ev(t, f"m{t}") for t in (10, 20, 30)])
    page = store.get_log_events(G, S1, start=20, end=30, start_from_head=True)
    assert [e.message for e in page.events] == ["m20"]  # start inclusive, end exclusive
    empty = store.get_log_events(G, S1, start=99)
    assert empty.events == []
    with pytest.raises(ResourceNotFound, match="log stream does not exist"):
        store.get_log_events(G, "missing")
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        store.get_log_events("/missing", S1)
    with pytest.raises(InvalidParameter):
        store.get_log_events(G, S1, next_token="f/123")


def test_get_log_events_empty_page_then_poll_forward(store: SqliteLogStore) -> None:
    store.append([ev(1, "old")])
    page = store.get_log_events(G, S1, start=2)
    assert page.events == []
    store.append([ev(3, "later")])
    polled = store.get_log_events(G, S1, start=2, next_token=page.next_forward_token)
    assert [e.message for e in polled.events] == ["later"]


def test_response_size_limit(store: SqliteLogStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_store, "MAX_RESPONSE_BYTES", 100)
    store.append([ev(t, "x" * 40) for t in range(5)])  # 66 bytes each
    page = store.get_log_events(G, S1, start_from_head=True)
    assert len(page.events) == 1
    filtered = store.filter_log_events(G)
    assert len(filtered.items) == 1 and filtered.next_token is not None
    rest = store.filter_log_events(G, next_token=filtered.next_token)
    assert [e.timestamp_ms for e in rest.items] == [1]


# --- FilterLogEvents ---------------------------------------------------------------------


def test_filter_interleaves_streams_and_pages(store: SqliteLogStore) -> None:
    store.append([ev(t, f"a{t}") for t in (1, 3, 5)] + [ev(t, f"b{t}", S2) for t in (2, 4, 6)])
    page = store.filter_log_events(G)
    assert [e.message for e in page.items] == ["a1", "b2", "a3", "b4", "a5", "b6"]
    assert page.next_token is None
    assert [e.stream for e in page.items][:2] == [S1, S2]
    assert len({e.event_id for e in page.items}) == 6

    messages: list[str] = []
    token = None
    while True:
        p = store.filter_log_events(G, limit=4, next_token=token)
        messages += [e.message for e in p.items]
        if (token := p.next_token) is None:
            break
    assert messages == ["a1", "b2", "a3", "b4", "a5", "b6"]
    exact = store.filter_log_events(G, limit=6)
    assert exact.next_token is None  # the last page of the range carries no token

    assert [e.message for e in store.filter_log_events(G, start=2, end=4).items] == [
        "b2",
        "a3",
        "b4",
    ]  # both ends inclusive
    only_b = store.filter_log_events(G, stream_names=[S2, "missing"])
    assert [e.message for e in only_b.items] == ["b2", "b4", "b6"]
    by_prefix = store.filter_log_events(G, stream_prefix=S1[:-5])
    assert [e.message for e in by_prefix.items] == ["a1", "a3", "a5"]
    with pytest.raises(InvalidParameter):
        store.filter_log_events(G, stream_names=[S1], stream_prefix="x")
    with pytest.raises(InvalidParameter, match="nextToken"):
        store.filter_log_events(G, next_token="bm90LWEtdG9rZW4")


def test_filter_pattern_applied_and_scan_budget(
    store: SqliteLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_store, "SCAN_BATCH", 3)
    monkeypatch.setattr(log_store, "SCAN_BUDGET", 4)
    store.append([ev(t, "ERROR boom" if t in (2, 9) else "INFO fine") for t in range(10)])
    first = store.filter_log_events(G, filter_pattern="?ERROR ?FATAL")
    assert [e.timestamp_ms for e in first.items] == [2]
    assert first.next_token is not None  # stopped after 4 rows
    found = list(first.items)
    token: str | None = first.next_token
    while token is not None:
        page = store.filter_log_events(G, filter_pattern="?ERROR ?FATAL", next_token=token)
        found += page.items
        token = page.next_token
    assert [e.timestamp_ms for e in found] == [2, 9]
    # Plain terms are pre-filtered in SQL: the scan budget only counts candidate rows.
    pushed = store.filter_log_events(G, filter_pattern="ERROR boom")
    assert [e.timestamp_ms for e in pushed.items] == [2, 9] and pushed.next_token is None
    with pytest.raises(InvalidParameter, match="filter pattern"):
        store.filter_log_events(G, filter_pattern='"unterminated')


# --- filter pattern semantics ------------------------------------------------------------

REPORT = "REPORT RequestId: 1\tDuration: 1.00 ms\t"


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ("   ", "anything", True),
        (None, "anything", True),
        ("ERROR", "[ERROR] boom", True),
        ("ERROR", "[error] boom", False),  # case-sensitive
        ("ERROR boom", "boom ERROR", True),  # every term, any order
        ("ERROR boom", "ERROR bang", False),
        ('"Task timed out"', "x Task timed out after 3.00 seconds", True),
        ('"Task timed out"', "Task out timed", False),
        ('"say \\"hi\\""', 'they say "hi"', True),
        ("?ERROR ?WARN", "WARN low disk", True),
        ("?ERROR ?WARN", "INFO ok", False),
        ("REPORT ?Init ?Restore", REPORT, False),
        ("REPORT ?Init ?Restore", REPORT + "Init Duration: 1 ms", True),
        ("ERROR -Retrying", "ERROR failed", True),
        ("ERROR -Retrying", "ERROR failed; Retrying", False),
        ("%tim(ed|ing) out%", "Task timed out", True),
        ("%^START%", "END RequestId", False),
    ],
)
def test_term_patterns(pattern: str | None, message: str, expected: bool) -> None:
    assert compile_filter_pattern(pattern)(message) is expected


DOC = json.dumps(
    {
        "level": "ERROR",
        "latency": 150,
        "ok": False,
        "none": None,
        "user": {"id": "u-123", "tags": ["a", "b"]},
        "type": "platform.report",
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.level = "ERROR" }', True),
        ("{ $.level = ERROR }", True),
        ("{$.level=INFO}", False),
        ('{ $.level != "INFO" }', True),
        ("{ $.missing != INFO }", False),
        ("{ $.latency > 100 }", True),
        ("{ $.latency >= 150 && $.latency <= 150 }", True),
        ("{ $.latency < 100 }", False),
        ("{ $.latency = 150.0 }", True),
        ("{ $.level > 1 }", False),  # not a number
        ("{ $.user.id = u-* }", True),
        ('{ $.user.id = "*-123" }', True),
        ("{ $.user.tags[1] = b }", True),
        ("{ $.user.tags[5] = b }", False),
        ("{ $.type = %^platform\\.% }", True),
        ("{ $.ok IS FALSE }", True),
        ("{ $.ok IS TRUE }", False),
        ("{ $.none IS NULL }", True),
        ("{ $.nothing NOT EXISTS }", True),
        ("{ $.level NOT EXISTS }", False),
        ("{ $.level = INFO || $.latency > 100 }", True),
        ("{ ($.level = INFO || $.latency > 100) && $.user.id = x }", False),
        ("{ $.latency = 150 && ($.ok IS TRUE || $.none IS NULL) }", True),
    ],
)
def test_json_patterns(pattern: str, expected: bool) -> None:
    assert compile_filter_pattern(pattern)(DOC) is expected


def test_json_pattern_on_non_json_message() -> None:
    match = compile_filter_pattern("{ $.level = ERROR }")
    assert match("[ERROR] not json") is False
    assert match("[1, 2]") is False


@pytest.mark.parametrize(
    "pattern",
    [
        '"open',
        "{ $.level = ERROR",
        "{ level = ERROR }",
        "{ $.a > abc }",
        "{ $.a = }",
        "{ $.a IS MAYBE }",
        "{ $.a = 1 } trailing",
        "[ip, user]",
        "%(unclosed%",
    ],
)
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_filter_pattern(pattern)


# --- LogService ---------------------------------------------------------------------------


def test_service_buffers_and_readers_see_everything(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteLogStore(tmp_path / "logs.sqlite3")
        service = LogService(store, flush_interval=60)  # only explicit or size-driven flushes
        await service.start()
        for i in range(5):
            service.append(G, S1, i, f"line {i}")
        assert store.describe_log_groups().items == []  # still buffered
        page = await service.filter_log_events(G)  # a read flushes first
        assert [e.message for e in page.items] == [f"line {i}" for i in range(5)]
        service.append(G, S1, 9, "last")
        service.append_platform(G, S1, 10, ("END RequestId: r", "REPORT RequestId: r"))
        await service.stop()  # final flush, then the store is closed
        reopened = SqliteLogStore(tmp_path / "logs.sqlite3")
        messages = [e.message for e in reopened.filter_log_events(G).items]
        assert messages[5:] == ["last", "END RequestId: r", "REPORT RequestId: r"]
        reopened.close()

    asyncio.run(scenario())


def test_service_background_flush(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteLogStore(tmp_path / "logs.sqlite3")
        service = LogService(store, flush_interval=0.01)
        await service.start()
        service.append(G, S1, 1, "tick")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if store.describe_log_groups().items:
                break
        assert [e.message for e in store.filter_log_events(G).items] == ["tick"]

        big = LogService(store, flush_interval=60, max_buffer=10)
        await big.start()
        for i in range(10):
            big.append(G, S2, i, "x")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(store.filter_log_events(G, stream_names=[S2]).items) == 10:
                break
        assert len(store.filter_log_events(G, stream_names=[S2]).items) == 10
        await big.stop()
        await service.stop()

    asyncio.run(scenario())


def test_service_delete_flushes_first(tmp_path: Path) -> None:
    async def scenario() -> None:
        service = LogService(SqliteLogStore(tmp_path / "logs.sqlite3"), flush_interval=60)
        await service.start()
        service.append(G, S1, 1, "x")
        await service.delete_log_group(G)
        page = await service.describe_log_groups()
        assert page.items == []
        await service.stop()

    asyncio.run(scenario())


def test_required_terms() -> None:
    assert required_terms('ERROR "timed out" ?x -y') == ["ERROR", "timed out"]
    assert required_terms("{ $.a = 1 }") == []
    assert required_terms("%ERR%") == []
    assert required_terms("") == []


# --- bounds: event size, failed batches, retention, size limit, flooding ---------------------


def test_a_too_big_message_is_truncated_not_fatal(store: SqliteLogStore) -> None:
    store.append([ev(1, "x" * (MAX_EVENT_BYTES + 1000)), ev(2, "é" * 200_000)])
    first, second = store.filter_log_events(G).items
    assert len(first.message) == MAX_EVENT_BYTES
    assert len(second.message.encode()) <= MAX_EVENT_BYTES
    assert set(second.message) == {"é"}  # cut between characters


def test_a_failing_batch_is_stored_event_by_event(
    store: SqliteLogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store._append

    def fail_on_poison(rows: list[LogRow]) -> None:
        if any(message == "poison" for _, _, message in rows):
            raise sqlite3.OperationalError("string or blob too big")
        real(rows)

    monkeypatch.setattr(store, "_append", fail_on_poison)
    store.append([ev(1, "a"), ev(2, "poison"), ev(3, "b", stream=S2)])
    assert [e.message for e in store.filter_log_events(G).items] == ["a", "b"]


def test_retention_policy_and_expiry(tmp_path: Path, clock: Clock) -> None:
    clock.now = 1_800_000_000_000
    store = SqliteLogStore(tmp_path / "r.sqlite3", now_ms=clock, default_retention_days=7)
    day = log_store.DAY_MS
    store.append([ev(clock.now - 10 * day, "old"), ev(clock.now - 2 * day, "recent")])
    assert store.describe_log_groups().items[0].retention_days == 7  # the default
    assert store.expire_events() == 1
    assert [e.message for e in store.filter_log_events(G).items] == ["recent"]
    assert store.describe_log_groups().items[0].stored_bytes == len("recent") + 26
    store.put_retention_policy(G, 1)
    assert store.expire_events() == 1
    store.append([ev(clock.now - 400 * day, "ancient")])
    store.put_retention_policy(G, None)  # DeleteRetentionPolicy: never expire
    assert store.describe_log_groups().items[0].retention_days is None
    assert store.expire_events() == 0
    store.create_log_group("/made/by/user")
    created = {g.name: g.retention_days for g in store.describe_log_groups().items}
    assert created["/made/by/user"] is None  # the default is for groups Lamina creates
    with pytest.raises(ResourceNotFound):
        store.put_retention_policy("/missing", 1)
    store.close()


def test_size_limit_deletes_oldest_first_and_gives_space_back(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteLogStore(path)
    for i in range(40):
        store.append([ev(i, f"{i:04d}" + "x" * 100_000, stream=S1 if i % 2 else S2)])
    assert store.live_bytes() > 4_000_000
    assert store.enforce_size_limit(10**7) == 0  # under the limit: nothing to do
    deleted = store.enforce_size_limit(2_000_000)
    kept: list[str] = []
    token = None
    while True:  # pages stop at 1 MB
        page = store.filter_log_events(G, next_token=token)
        kept += [e.message[:4] for e in page.items]
        if (token := page.next_token) is None:
            break
    assert deleted == 40 - len(kept) and 0 < len(kept) < 20
    assert kept == [f"{i:04d}" for i in range(40 - len(kept), 40)]  # the newest remain
    assert store.live_bytes() <= 2_000_000
    assert path.stat().st_size <= 2_000_000 + 64 * 1024  # pages handed back to the disk
    total = sum(s.stored_bytes for s in store.describe_log_streams(G).items)
    assert total == len(kept) * (100_004 + 26)
    store.close()


def test_flooding_stream_loses_only_its_excess_with_a_marker(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteLogStore(tmp_path / "logs.sqlite3")
        service = LogService(
            store, flush_interval=60, stream_buffer_bytes=1000, total_buffer_bytes=10**6
        )
        await service.start()
        for i in range(30):  # 30 x 126 bytes: 7 fit in the stream's 1000
            service.append(G, S1, i, "x" * 100, droppable=True)
        service.append(G, S1, 40, "REPORT RequestId: 1")  # platform lines are never dropped
        service.append(G, S2, 41, "quiet", droppable=True)  # another stream is unaffected
        service.append(G, S1, 42, "after", droppable=True)
        messages = [e.message for e in (await service.filter_log_events(G)).items]
        marker = "[lamina] {} log events ({} bytes) of this environment were dropped:"
        marker += " it wrote logs faster than they could be stored"
        assert messages == [
            *["x" * 100] * 7,
            marker.format(23, 2300),  # before the next line of the stream that was kept
            "REPORT RequestId: 1",
            "quiet",
            marker.format(1, 5),  # "after" came while S1 was still full
        ]
        assert service.dropped_events == 24
        assert "\nlamina_log_events_dropped_total 24\n" in service.render_metrics()
        service.append(G, S1, 50, "y", droppable=True)  # written: S1 has room again
        await service.stop()
        reopened = store_after(tmp_path)
        assert [e.message for e in reopened.filter_log_events(G).items][-1] == "y"
        reopened.close()

    def store_after(path: Path) -> SqliteLogStore:
        return SqliteLogStore(path / "logs.sqlite3")

    asyncio.run(scenario())


def test_a_full_buffer_still_serves_quiet_streams(tmp_path: Path) -> None:
    async def scenario() -> None:
        service = LogService(
            SqliteLogStore(tmp_path / "logs.sqlite3"),
            flush_interval=60,
            stream_buffer_bytes=10**6,
            total_buffer_bytes=100_000,
        )
        await service.start()
        for i in range(2000):  # the flooding stream fills the whole buffer
            service.append(G, S1, i, "x" * 1000, droppable=True)
        service.append(G, S2, 3000, "quiet line", droppable=True)
        page = await service.filter_log_events(G, stream_names=[S2])
        assert [e.message for e in page.items] == ["quiet line"]
        assert service.dropped_events > 0
        await service.stop()

    asyncio.run(scenario())


def test_back_pressure_room_and_resume(tmp_path: Path) -> None:
    async def scenario() -> None:
        service = LogService(
            SqliteLogStore(tmp_path / "logs.sqlite3"), flush_interval=60, stream_buffer_bytes=1000
        )
        await service.start()
        assert service.has_room(G, S1, 5000)  # nothing waiting: one read may always go
        service.append(G, S1, 1, "x" * 600, droppable=True)
        assert not service.has_room(G, S1, 500) and service.has_room(G, S2, 500)
        resumed = asyncio.Event()
        service.when_room(resumed.set)  # asks for a flush at once
        await asyncio.wait_for(resumed.wait(), 5)
        assert service.has_room(G, S1, 500)
        assert [len(e.message) for e in (await service.filter_log_events(G)).items] == [600]
        assert service.dropped_events == 0
        await service.stop()

    asyncio.run(scenario())


def test_a_store_of_an_older_version_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE log_groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " creation_time INTEGER NOT NULL, stored_bytes INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO log_groups (name, creation_time) VALUES ('/old', 5);"
    )
    old.close()
    store = SqliteLogStore(path)
    assert store.describe_log_groups().items[0].retention_days is None
    store.put_retention_policy("/old", 3)
    assert store.describe_log_groups().items[0].retention_days == 3
    assert store._conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    store.close()


def test_retention_setting_values() -> None:
    assert parse_retention_days("7") == 7 and parse_retention_days(" 3653 ") == 3653
    assert parse_retention_days("") is None and parse_retention_days("0") is None
    assert parse_retention_days("never") is None
    with pytest.raises(ValueError, match="one of 1, 3, 5"):
        parse_retention_days("10")
