"""The SQS store port's contracts (``store/ports.py``: ``SqsQueueStore``, ``SqsMessageStore``,
``SqsStore``) checked through the port type against the SQLite implementation; another
backend must pass the same tests (give the ``opener`` fixture its class). The last tests are
the SQLite implementation's own promises (group commit, durability modes)."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lamina.store import ports
from lamina.store.event_source_mappings import SqliteEventSourceMappingStore
from lamina.store.sqs_records import DedupEntry, MessageMove, MessageRecord
from lamina.store.sqs_store import SqliteSqsStore

T = TypeVar("T")
Opener = Callable[[], ports.SqsStore]

IMPLEMENTATIONS: list[tuple[type[Any], type[Any]]] = [
    (ports.SqsQueueStore, SqliteSqsStore),
    (ports.SqsMessageStore, SqliteSqsStore),
    (ports.SqsStore, SqliteSqsStore),
    (ports.MappingStore, SqliteEventSourceMappingStore),
]


@pytest.mark.parametrize(("port", "implementation"), IMPLEMENTATIONS)
def test_implementation_has_every_method_of_its_port(
    port: type[Any], implementation: type[Any]
) -> None:
    methods = {n: f for n, f in vars(port).items() if inspect.isfunction(f) and n[0] != "_"}
    assert methods
    for name, declared in methods.items():
        implemented = getattr(implementation, name)
        assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(declared)
        assert list(inspect.signature(implemented).parameters) == list(
            inspect.signature(declared).parameters
        ), name


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def opener(tmp_path: Path) -> Iterator[Opener]:
    """Opens the store of one data directory (again after ``close``: a restart)."""
    opened: list[ports.SqsStore] = []

    def open_store() -> ports.SqsStore:
        store: ports.SqsStore = SqliteSqsStore(tmp_path / "sqs.sqlite3", "kill")
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> ports.SqsStore:
    return opener()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def _queue(store: ports.SqsStore, name: str, fifo: bool = False) -> int:
    return await store.insert_queue(
        "us-east-1",
        "111111111111",
        name,
        fifo=fifo,
        attributes={"VisibilityTimeout": "30"},
        tags={"team": "a"},
        created=1000.0,
    )


def _message(seq: int, queue_id: int, body: str = "hello", **fields: Any) -> MessageRecord:
    values: dict[str, Any] = {
        "message_id": f"m-{seq}",
        "message_attributes": {"n": ("Number", "1", None), "b": ("Binary", None, b"\x00\xff")},
        "trace_header": None,
        "sender_id": "AIDA",
        "sent_ms": 5000,
        "visible_at_ms": 5000,
    }
    return MessageRecord(seq=seq, queue_id=queue_id, body=body, **(values | fields))


def _by_id(entry: DedupEntry) -> str:
    return entry.dedup_id


def _stored(store: ports.SqsStore, now_ms: int = 0) -> dict[int, MessageRecord]:
    return {m.seq: m for m in store.load_messages(now_ms).messages}


# --- queues -------------------------------------------------------------------------------


def test_queues_are_stored_changed_and_survive_reopening(opener: Opener) -> None:
    store = opener()
    queue_id = run(_queue(store, "jobs"))
    run(store.update_attributes(queue_id, {"DelaySeconds": "5"}, 2000.0))
    run(store.update_tags(queue_id, {"team": "b"}))
    store.close()
    (stored,) = opener().load_queues()
    assert (stored.id, stored.region, stored.account_id, stored.name) == (
        queue_id,
        "us-east-1",
        "111111111111",
        "jobs",
    )
    assert stored.attributes == {"DelaySeconds": "5"} and stored.tags == {"team": "b"}
    assert (stored.created, stored.last_modified, stored.fifo) == (1000.0, 2000.0, False)


def test_a_taken_name_raises_and_stores_nothing(store: ports.SqsStore) -> None:
    run(_queue(store, "jobs"))
    with pytest.raises(Exception):  # noqa: B017 - the port leaves the exception's type open
        run(_queue(store, "jobs"))
    assert [q.name for q in store.load_queues()] == ["jobs"]


def test_queue_ids_are_never_reused(store: ports.SqsStore) -> None:
    first = run(_queue(store, "a"))
    second = run(_queue(store, "b"))
    run(store.delete_queue(second))
    third = run(_queue(store, "b"))
    assert len({first, second, third}) == 3
    assert [q.id for q in store.load_queues()] == [first, third]


def test_writes_to_a_missing_queue_change_nothing(store: ports.SqsStore) -> None:
    run(store.update_attributes(404, {"DelaySeconds": "1"}, 1.0))
    run(store.update_tags(404, {"a": "b"}))
    run(store.delete_queue(404))
    run(store.purge_queue(404, 10))
    assert store.load_queues() == []


def test_deleting_a_queue_takes_its_messages_and_dedup_ids(store: ports.SqsStore) -> None:
    doomed, kept = run(_queue(store, "doomed.fifo", fifo=True)), run(_queue(store, "kept"))
    claim = DedupEntry(doomed, "", "d1", "m-1", 1, expires_ms=10_000)
    run(store.insert_messages([_message(1, doomed), _message(2, kept)], [claim]))
    run(store.delete_queue(doomed))
    loaded = store.load_messages(0)
    assert [m.seq for m in loaded.messages] == [2] and loaded.dedup == []


# --- messages -----------------------------------------------------------------------------


def test_messages_load_without_payloads_which_load_on_demand(store: ports.SqsStore) -> None:
    queue_id = run(_queue(store, "jobs"))
    first = _message(1, queue_id, "one", group_id="g", dedup_id="d", dlq_source_arn="arn:src")
    run(store.insert_messages([first, _message(2, queue_id, "two")], []))
    loaded = store.load_messages(0)
    assert loaded.last_seq == 2
    one = loaded.messages[0]
    assert [m.seq for m in loaded.messages] == [1, 2]
    assert (one.body, one.message_attributes, one.cached) == ("", {}, False)
    expected = dataclasses.replace(first, body="", message_attributes={}, cached=False)
    assert one == expected
    payloads = store.load_payloads([2, 1, 99])
    assert payloads == {
        1: ("one", first.message_attributes),
        2: ("two", first.message_attributes),
    }


def test_payloads_of_many_messages_load_at_once(store: ports.SqsStore) -> None:
    queue_id = run(_queue(store, "jobs"))
    run(store.insert_messages([_message(seq, queue_id, str(seq)) for seq in range(1, 1201)], []))
    payloads = store.load_payloads(list(range(1, 1201)))
    assert len(payloads) == 1200 and payloads[1200][0] == "1200"


def test_receives_and_dead_letter_moves_are_stored_together(store: ports.SqsStore) -> None:
    source, dlq = run(_queue(store, "source")), run(_queue(store, "dlq"))
    run(store.insert_messages([_message(1, source), _message(2, source)], []))
    received = _message(1, source, visible_at_ms=9000, receive_count=1, first_receive_ms=6000)
    received.receipt_token = "tok"
    moved = _message(3, dlq, receive_count=3, dlq_source_arn="arn:aws:sqs:us-east-1:1:source")
    run(store.record_receives([received], [MessageMove(2, moved)]))
    stored = _stored(store)
    assert set(stored) == {1, 3}
    one, three = stored[1], stored[3]
    assert (one.visible_at_ms, one.receive_count, one.first_receive_ms, one.receipt_token) == (
        9000,
        1,
        6000,
        "tok",
    )
    assert (three.queue_id, three.receive_count, three.dlq_source_arn) == (
        dlq,
        3,
        "arn:aws:sqs:us-east-1:1:source",
    )
    assert store.load_payloads([3]) == {3: ("hello", moved.message_attributes)}


def test_move_messages_keeps_payloads(store: ports.SqsStore) -> None:
    dlq, target = run(_queue(store, "dlq")), run(_queue(store, "target"))
    run(store.insert_messages([_message(1, dlq, "kept body")], []))
    run(store.move_messages([MessageMove(1, _message(7, target, "ignored"))]))
    assert list(_stored(store)) == [7] and _stored(store)[7].queue_id == target
    assert store.load_payloads([7])[7][0] == "kept body"
    assert store.load_messages(0).last_seq == 7


def test_visibility_delete_and_purge(store: ports.SqsStore) -> None:
    queue_id, other = run(_queue(store, "jobs")), run(_queue(store, "other"))
    run(store.insert_messages([_message(s, queue_id) for s in (1, 2, 3, 4)], []))
    run(store.insert_messages([_message(5, other)], []))
    run(store.set_visibility([(1, 7000), (404, 1)]))
    assert _stored(store)[1].visible_at_ms == 7000
    run(store.delete_messages([2, 404]))
    run(store.purge_queue(queue_id, 3))
    assert sorted(_stored(store)) == [4, 5]


def test_dedup_ids_live_until_they_expire(store: ports.SqsStore) -> None:
    queue_id = run(_queue(store, "jobs.fifo", fifo=True))
    early = DedupEntry(queue_id, "", "a", "m-1", 1, expires_ms=1000)
    late = DedupEntry(queue_id, "g", "b", "m-2", 2, expires_ms=3000)
    run(store.insert_messages([_message(1, queue_id)], [early, late]))
    assert sorted(store.load_messages(999).dedup, key=_by_id) == [early, late]
    assert store.load_messages(1000).dedup == [late]
    again = DedupEntry(queue_id, "", "a", "m-9", 9, expires_ms=5000)
    run(store.insert_messages([], [again]))  # an expired claim is replaced
    run(store.delete_messages([1]))
    loaded = store.load_messages(1000)
    assert sorted(loaded.dedup, key=_by_id) == [again, late] and loaded.last_seq == 9
    run(store.expire_dedup(3000))
    assert store.load_messages(0).dedup == [again]


# --- the SQLite implementation ------------------------------------------------------------


def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    store = SqliteSqsStore(tmp_path / "sqs.sqlite3", "kill")
    try:
        queue_id = run(_queue(store, "jobs"))
        before = store.database.writer.commits

        async def send_many() -> None:
            await asyncio.gather(
                *(store.insert_messages([_message(s, queue_id)], []) for s in range(1, 201))
            )

        run(send_many())
        assert len(store.load_messages(0).messages) == 200
        assert store.database.writer.commits - before < 200  # group commit batched them
    finally:
        store.close()


def test_a_failing_write_changes_nothing_and_fails_alone(tmp_path: Path) -> None:
    store = SqliteSqsStore(tmp_path / "sqs.sqlite3", "kill")
    try:
        queue_id = run(_queue(store, "jobs"))
        run(store.insert_messages([_message(1, queue_id)], []))

        async def both() -> list[Any]:
            clash = [_message(2, queue_id), _message(1, queue_id)]  # seq 1 exists
            outcomes = await asyncio.gather(
                store.insert_messages(clash, []),
                store.insert_messages([_message(3, queue_id)], []),
                return_exceptions=True,
            )
            return list(outcomes)

        failed, succeeded = run(both())
        assert isinstance(failed, sqlite3.IntegrityError) and succeeded is None
        assert sorted(_stored(store)) == [1, 3]
    finally:
        store.close()


@pytest.mark.parametrize(("durability", "synchronous"), [("kill", 1), ("power-loss", 2)])
def test_durability_sets_the_synchronous_mode(
    tmp_path: Path, durability: str, synchronous: int
) -> None:
    store = SqliteSqsStore(tmp_path / "sqs.sqlite3", durability)
    try:
        mode = store.database.read(lambda conn: conn.execute("PRAGMA synchronous").fetchone())
        assert mode[0] == synchronous
    finally:
        store.close()
