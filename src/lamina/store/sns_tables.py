"""SNS's tables in ``sns.sqlite3`` (component ``sns``) and the row operations behind
``SqliteSnsStore``. Attributes and tags are JSON objects of strings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from lamina.store.migrations import Step
from lamina.store.sns_records import (
    DedupEntry,
    NewDelivery,
    PendingState,
    StoredDelivery,
    StoredMessage,
    StoredSubscription,
    StoredTopic,
)

STEPS: list[Step] = [
    """
    CREATE TABLE IF NOT EXISTS sns_topics (
        arn TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        fifo INTEGER NOT NULL,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS sns_subscriptions (
        arn TEXT PRIMARY KEY,
        topic_arn TEXT NOT NULL,
        owner TEXT NOT NULL,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        attributes TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        token TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sns_subscriptions_topic ON sns_subscriptions (topic_arn);
    CREATE TABLE IF NOT EXISTS sns_messages (
        message_id TEXT PRIMARY KEY,
        topic_arn TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS sns_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        subscription_arn TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        due REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sns_deliveries_message ON sns_deliveries (message_id);
    CREATE INDEX IF NOT EXISTS sns_deliveries_subscription
        ON sns_deliveries (subscription_arn);
    CREATE TABLE IF NOT EXISTS sns_dedup (
        topic_arn TEXT NOT NULL,
        deduplication_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (topic_arn, deduplication_id)
    );
    """,
]

Op = Callable[[sqlite3.Connection], None]


def load_topics(conn: sqlite3.Connection) -> list[StoredTopic]:
    rows = conn.execute(
        "SELECT arn, region, account_id, name, fifo, attributes, tags FROM sns_topics"
        " ORDER BY rowid"
    ).fetchall()
    return [
        StoredTopic(arn, region, account, name, bool(fifo), json.loads(attrs), json.loads(tags))
        for arn, region, account, name, fifo, attrs, tags in rows
    ]


def load_subscriptions(conn: sqlite3.Connection) -> list[StoredSubscription]:
    rows = conn.execute(
        "SELECT arn, topic_arn, owner, protocol, endpoint, attributes, confirmed, token"
        " FROM sns_subscriptions ORDER BY rowid"
    ).fetchall()
    return [
        StoredSubscription(
            arn, topic, owner, protocol, endpoint, json.loads(attrs), bool(ok), token
        )
        for arn, topic, owner, protocol, endpoint, attrs, ok, token in rows
    ]


def load_pending(conn: sqlite3.Connection, now: float) -> PendingState:
    deliveries = [
        StoredDelivery(*row)
        for row in conn.execute(
            "SELECT id, message_id, subscription_arn, attempts, due FROM sns_deliveries ORDER BY id"
        )
    ]
    messages = [
        StoredMessage(*row)
        for row in conn.execute(
            "SELECT message_id, topic_arn, body FROM sns_messages WHERE message_id IN"
            " (SELECT message_id FROM sns_deliveries)"
        )
    ]
    dedup = [
        DedupEntry(*row)
        for row in conn.execute(
            "SELECT topic_arn, deduplication_id, message_id, expires FROM sns_dedup"
            " WHERE expires > ?",
            (now,),
        )
    ]
    return PendingState(messages, deliveries, dedup)


def put_topic(topic: StoredTopic) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO sns_topics (arn, region, account_id, name, fifo,"
            " attributes, tags) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                topic.arn,
                topic.region,
                topic.account_id,
                topic.name,
                int(topic.fifo),
                json.dumps(topic.attributes),
                json.dumps(topic.tags),
            ),
        )

    return op


def _forget_orphan_messages(conn: sqlite3.Connection) -> None:
    conn.execute(
        "DELETE FROM sns_messages WHERE message_id NOT IN (SELECT message_id FROM sns_deliveries)"
    )


def delete_topic(arn: str) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute(
            "DELETE FROM sns_deliveries WHERE subscription_arn IN"
            " (SELECT arn FROM sns_subscriptions WHERE topic_arn=?)",
            (arn,),
        )
        conn.execute("DELETE FROM sns_subscriptions WHERE topic_arn=?", (arn,))
        conn.execute("DELETE FROM sns_dedup WHERE topic_arn=?", (arn,))
        conn.execute("DELETE FROM sns_topics WHERE arn=?", (arn,))
        _forget_orphan_messages(conn)

    return op


def put_subscription(subscription: StoredSubscription) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO sns_subscriptions (arn, topic_arn, owner, protocol,"
            " endpoint, attributes, confirmed, token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                subscription.arn,
                subscription.topic_arn,
                subscription.owner,
                subscription.protocol,
                subscription.endpoint,
                json.dumps(subscription.attributes),
                int(subscription.confirmed),
                subscription.token,
            ),
        )

    return op


def delete_subscription(arn: str) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM sns_deliveries WHERE subscription_arn=?", (arn,))
        conn.execute("DELETE FROM sns_subscriptions WHERE arn=?", (arn,))
        _forget_orphan_messages(conn)

    return op


def publish(
    messages: list[StoredMessage], deliveries: list[NewDelivery], dedup: list[DedupEntry]
) -> Callable[[sqlite3.Connection], list[int]]:
    def op(conn: sqlite3.Connection) -> list[int]:
        conn.executemany(
            "INSERT INTO sns_messages (message_id, topic_arn, body) VALUES (?, ?, ?)",
            [(m.message_id, m.topic_arn, m.body) for m in messages],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO sns_dedup (topic_arn, deduplication_id, message_id,"
            " expires) VALUES (?, ?, ?, ?)",
            [(d.topic_arn, d.deduplication_id, d.message_id, d.expires) for d in dedup],
        )
        ids: list[int] = []
        for delivery in deliveries:
            cursor = conn.execute(
                "INSERT INTO sns_deliveries (message_id, subscription_arn, attempts, due)"
                " VALUES (?, ?, 0, ?)",
                (delivery.message_id, delivery.subscription_arn, delivery.due),
            )
            ids.append(int(cursor.lastrowid or 0))
        return ids

    return op


def finish_deliveries(finished: list[tuple[int, str]]) -> Op:
    """``finished``: (delivery id, message id) pairs; a message goes with its last delivery."""

    def op(conn: sqlite3.Connection) -> None:
        conn.executemany("DELETE FROM sns_deliveries WHERE id=?", [(i,) for i, _ in finished])
        conn.executemany(
            "DELETE FROM sns_messages WHERE message_id=? AND NOT EXISTS"
            " (SELECT 1 FROM sns_deliveries WHERE message_id=?)",
            [(m, m) for m in {m for _, m in finished}],
        )

    return op


def reschedule(delivery_id: int, attempts: int, due: float) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE sns_deliveries SET attempts=?, due=? WHERE id=?", (attempts, due, delivery_id)
        )

    return op


def expire_dedup(now: float) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM sns_dedup WHERE expires <= ?", (now,))

    return op
