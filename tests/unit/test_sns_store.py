"""The SNS store's contract (``store/sns_records.py`` ``SnsStore``) on SQLite: what a
restart loads, what each write takes with it, and that writes are durable once awaited."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lamina.store.sns_records import (
    DedupEntry,
    NewDelivery,
    SnsStore,
    StoredMessage,
    StoredSubscription,
    StoredTopic,
)
from lamina.store.sns_store import SqliteSnsStore

TOPIC = "arn:aws:sns:us-east-1:111111111111:t"
SUB_A = TOPIC + ":00000000-0000-0000-0000-00000000000a"
SUB_B = TOPIC + ":00000000-0000-0000-0000-00000000000b"


def open_store(tmp: Path) -> SnsStore:
    return SqliteSnsStore(tmp / "sns.sqlite3", "kill")


def subscription(arn: str) -> StoredSubscription:
    return StoredSubscription(arn, TOPIC, "111111111111", "sqs", "arn:q", {}, True, "tok")


async def seed(store: SnsStore) -> list[int]:
    await store.put_topic(
        StoredTopic(TOPIC, "us-east-1", "111111111111", "t", False, {"a": "1"}, {"k": "v"})
    )
    await store.put_subscription(subscription(SUB_A))
    await store.put_subscription(subscription(SUB_B))
    return await store.publish(
        [StoredMessage("m1", TOPIC, "{}"), StoredMessage("m2", TOPIC, "{}")],
        [
            NewDelivery("m1", SUB_A, 1.0),
            NewDelivery("m1", SUB_B, 1.0),
            NewDelivery("m2", SUB_A, 2.0),
        ],
        [DedupEntry(TOPIC, "d1", "m1", 100.0), DedupEntry(TOPIC, "d2", "m2", 5.0)],
    )


def test_a_reopened_store_has_everything_written(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ids = asyncio.run(seed(store))
    store.close()
    assert len(set(ids)) == 3
    store = open_store(tmp_path)
    try:
        [topic] = store.load_topics()
        assert (topic.attributes, topic.tags) == ({"a": "1"}, {"k": "v"})
        assert {s.arn for s in store.load_subscriptions()} == {SUB_A, SUB_B}
        pending = store.load_pending(now=10.0)
        assert [d.delivery_id for d in pending.deliveries] == ids
        assert {m.message_id for m in pending.messages} == {"m1", "m2"}
        assert [d.deduplication_id for d in pending.dedup] == ["d1"]  # d2 expired at 5
    finally:
        store.close()


def test_a_message_goes_with_its_last_delivery(tmp_path: Path) -> None:
    store = open_store(tmp_path)

    async def run() -> None:
        ids = await seed(store)
        await store.finish_deliveries([(ids[0], "m1")])
        assert {m.message_id for m in store.load_pending(0).messages} == {"m1", "m2"}
        await store.finish_deliveries([(ids[1], "m1"), (ids[2], "m2")])
        pending = store.load_pending(0)
        assert (pending.deliveries, pending.messages) == ([], [])

    try:
        asyncio.run(run())
    finally:
        store.close()


def test_reschedule_and_unsubscribe(tmp_path: Path) -> None:
    store = open_store(tmp_path)

    async def run() -> None:
        ids = await seed(store)
        await store.reschedule(ids[2], 4, 99.0)
        rescheduled = [d for d in store.load_pending(0).deliveries if d.delivery_id == ids[2]]
        assert [(d.attempts, d.due) for d in rescheduled] == [(4, 99.0)]
        await store.delete_subscription(SUB_A)
        pending = store.load_pending(0)
        assert [d.subscription_arn for d in pending.deliveries] == [SUB_B]
        assert [m.message_id for m in pending.messages] == ["m1"]
        await store.expire_dedup(1000.0)
        assert store.load_pending(0).dedup == []
        await store.delete_topic(TOPIC)
        assert (store.load_topics(), store.load_subscriptions()) == ([], [])
        assert store.load_pending(0).deliveries == []

    try:
        asyncio.run(run())
    finally:
        store.close()
