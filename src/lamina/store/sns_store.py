"""The SNS store port (``store/sns_records.py``: ``SnsStore``) on SQLite:
``<data_dir>/sns.sqlite3``, every write one operation of a group-commit writer (many
callers' writes share one commit; each call is one transaction), loaders on a second
connection. Durability follows ``--queue-durability`` (``kill`` or ``power-loss``)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lamina.store import sns_tables
from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import migrate
from lamina.store.sns_records import (
    DedupEntry,
    NewDelivery,
    PendingState,
    SnsStore,
    StoredMessage,
    StoredSubscription,
    StoredTopic,
)

T = TypeVar("T")
SYNCHRONOUS = {"kill": "NORMAL", "power-loss": "FULL"}


def _open(path: Path, durability: str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[durability]}")
    return conn


class SqliteSnsStore:
    """Topics, subscriptions and the durable delivery queue in one SQLite database."""

    def __init__(self, path: Path, durability: str = "power-loss") -> None:
        self._write_conn = _open(path, durability)
        migrate(self._write_conn, "sns", sns_tables.STEPS)
        self._read_conn = _open(path, durability)
        self._read_lock = threading.Lock()
        self._writer = GroupCommitWriter(self._write_conn, "lamina-sns-writer")
        self._writer.start()
        self._closed = False

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._read_lock:
            return fn(self._read_conn)

    def load_topics(self) -> list[StoredTopic]:
        return self._read(sns_tables.load_topics)

    def load_subscriptions(self) -> list[StoredSubscription]:
        return self._read(sns_tables.load_subscriptions)

    def load_pending(self, now: float) -> PendingState:
        return self._read(lambda conn: sns_tables.load_pending(conn, now))

    async def put_topic(self, topic: StoredTopic) -> None:
        await self._writer.run_op(sns_tables.put_topic(topic))

    async def delete_topic(self, arn: str) -> None:
        await self._writer.run_op(sns_tables.delete_topic(arn))

    async def put_subscription(self, subscription: StoredSubscription) -> None:
        await self._writer.run_op(sns_tables.put_subscription(subscription))

    async def delete_subscription(self, arn: str) -> None:
        await self._writer.run_op(sns_tables.delete_subscription(arn))

    async def publish(
        self,
        messages: list[StoredMessage],
        deliveries: list[NewDelivery],
        dedup: list[DedupEntry],
    ) -> list[int]:
        return await self._writer.run_op(sns_tables.publish(messages, deliveries, dedup))

    async def finish_deliveries(self, finished: list[tuple[int, str]]) -> None:
        await self._writer.run_op(sns_tables.finish_deliveries(finished))

    async def reschedule(self, delivery_id: int, attempts: int, due: float) -> None:
        await self._writer.run_op(sns_tables.reschedule(delivery_id, attempts, due))

    async def expire_dedup(self, now: float) -> None:
        await self._writer.run_op(sns_tables.expire_dedup(now))

    def close(self) -> None:
        """Stop the writer after every queued operation ran, then close both connections."""
        if self._closed:
            return
        self._closed = True
        self._writer.stop()
        self._write_conn.close()
        with self._read_lock:
            self._read_conn.close()


_PORT: type[SnsStore] = SqliteSnsStore
