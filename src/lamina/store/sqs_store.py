"""The SQS store port (``store/ports.py``: ``SqsStore``) on SQLite: ``<data_dir>/sqs.sqlite3``.

Every write is one operation of the database's group-commit writer (``store/sqs_db.py``):
the rows are computed on the caller's thread, the operation runs in its own savepoint inside
the writer's next transaction, and the call returns after that transaction's commit. Many
callers' writes share one commit; a port method that changes several tables (deleting a
queue, a receive that dead-letters messages) is one operation, hence one transaction. The
loaders use the read connection (WAL: they see committed data and never block the writer).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lamina.store import sqs_messages, sqs_queues
from lamina.store.ports import SqsStore
from lamina.store.sqs_db import SqsDatabase
from lamina.store.sqs_records import (
    DedupEntry,
    MessageMove,
    MessageRecord,
    Payload,
    StoredMessages,
    StoredQueue,
)


class SqliteSqsStore:
    """Queues and messages in one SQLite database, written with group commit."""

    def __init__(self, path: Path, durability: str = "power-loss") -> None:
        """Open (and migrate) the database; ``durability`` is ``--queue-durability``'s
        value (``kill`` or ``power-loss``, see ``store/sqs_db.py``)."""
        self.database = SqsDatabase(path, durability)
        self._writer = self.database.writer

    # --- queues ---------------------------------------------------------------------------

    def load_queues(self) -> list[StoredQueue]:
        return self.database.read(sqs_queues.load_queues)

    async def insert_queue(
        self,
        region: str,
        account_id: str,
        name: str,
        *,
        fifo: bool,
        attributes: dict[str, str],
        tags: dict[str, str],
        created: float,
    ) -> int:
        def insert(conn: sqlite3.Connection) -> int:
            return sqs_queues.insert_queue(
                conn, region, account_id, name, fifo, attributes, tags, created
            )

        return await self._writer.run_op(insert)

    async def update_attributes(
        self, queue_id: int, attributes: dict[str, str], last_modified: float
    ) -> None:
        def update(conn: sqlite3.Connection) -> None:
            sqs_queues.update_attributes(conn, queue_id, attributes, last_modified)

        await self._writer.run_op(update)

    async def update_tags(self, queue_id: int, tags: dict[str, str]) -> None:
        def update(conn: sqlite3.Connection) -> None:
            sqs_queues.update_tags(conn, queue_id, tags)

        await self._writer.run_op(update)

    async def delete_queue(self, queue_id: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            sqs_messages.delete_all_of_queue(conn, queue_id)
            sqs_queues.delete_queue(conn, queue_id)

        await self._writer.run_op(delete)

    # --- messages -------------------------------------------------------------------------

    def load_messages(self, now_ms: int) -> StoredMessages:
        def load(conn: sqlite3.Connection) -> StoredMessages:
            return StoredMessages(
                last_seq=sqs_messages.max_seq(conn),
                messages=sqs_messages.load_messages(conn),
                dedup=sqs_messages.load_dedup(conn, now_ms),
            )

        return self.database.read(load)

    def load_payloads(self, seqs: list[int]) -> dict[int, Payload]:
        def load(conn: sqlite3.Connection) -> dict[int, Payload]:
            return sqs_messages.load_payloads(conn, seqs)

        return self.database.read(load)

    async def insert_messages(self, messages: list[MessageRecord], dedup: list[DedupEntry]) -> None:
        await self._writer.run_op(sqs_messages.insert_messages(messages, dedup))

    async def record_receives(
        self, received: list[MessageRecord], dead_lettered: list[MessageMove]
    ) -> None:
        await self._writer.run_op(sqs_messages.receives_and_moves(received, dead_lettered))

    async def move_messages(self, moves: list[MessageMove]) -> None:
        await self._writer.run_op(sqs_messages.receives_and_moves([], moves))

    async def set_visibility(self, changes: list[tuple[int, int]]) -> None:
        await self._writer.run_op(sqs_messages.set_visibility(changes))

    async def delete_messages(self, seqs: list[int]) -> None:
        await self._writer.run_op(sqs_messages.delete_messages(seqs))

    async def purge_queue(self, queue_id: int, up_to_seq: int) -> None:
        await self._writer.run_op(sqs_messages.purge_messages(queue_id, up_to_seq))

    async def expire_dedup(self, now_ms: int) -> None:
        await self._writer.run_op(sqs_messages.expire_dedup(now_ms))

    def close(self) -> None:
        self.database.close()


_PORT: type[SqsStore] = SqliteSqsStore
