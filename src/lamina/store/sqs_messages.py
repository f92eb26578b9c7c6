"""SQS messages in SQLite: the schema (component ``sqs_messages``) and the row operations
behind ``SqliteSqsStore`` (``store/sqs_store.py``), which runs each write through the SQS
database's group-commit writer.

A row is one message of one queue (``store/sqs_records.MessageRecord``: ``seq`` is its key).
Deduplication ids of FIFO queues live five minutes in ``sqs_dedup`` so a restart keeps
deduplicating. Write operations are built here (their rows computed by the caller, on the
event loop) and run on the writer thread: ``Op`` is a function of the write connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence

from lamina.store.migrations import Step
from lamina.store.sqs_records import (
    DedupEntry,
    MessageMove,
    MessageRecord,
    Payload,
    StoredAttribute,
)

STEPS: list[Step] = [
    """
    CREATE TABLE IF NOT EXISTS sqs_messages (
        seq INTEGER PRIMARY KEY,
        queue_id INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        message_attributes TEXT,
        trace_header TEXT,
        sender_id TEXT NOT NULL,
        sent_ms INTEGER NOT NULL,
        visible_at_ms INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_receive_ms INTEGER,
        receipt_token TEXT,
        group_id TEXT,
        dedup_id TEXT,
        dlq_source_arn TEXT
    );
    CREATE INDEX IF NOT EXISTS sqs_messages_by_queue ON sqs_messages(queue_id, seq);
    CREATE TABLE IF NOT EXISTS sqs_dedup (
        queue_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        dedup_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        PRIMARY KEY (queue_id, scope, dedup_id)
    );
    """,
]


def encode_attributes(attributes: dict[str, StoredAttribute]) -> str | None:
    if not attributes:
        return None
    out: dict[str, list[str | None]] = {}
    for name, (data_type, string_value, binary_value) in attributes.items():
        out[name] = [data_type, string_value, binary_value.hex() if binary_value else None]
    return json.dumps(out, separators=(",", ":"))


def decode_attributes(text: str | None) -> dict[str, StoredAttribute]:
    if not text:
        return {}
    out: dict[str, StoredAttribute] = {}
    for name, (data_type, string_value, binary_hex) in json.loads(text).items():
        out[name] = (data_type, string_value, bytes.fromhex(binary_hex) if binary_hex else None)
    return out


_COLUMNS = (
    "seq, queue_id, message_id, body, message_attributes, trace_header, sender_id, sent_ms,"
    " visible_at_ms, receive_count, first_receive_ms, receipt_token, group_id, dedup_id,"
    " dlq_source_arn"
)


def _row(m: MessageRecord) -> tuple[object, ...]:
    return (
        m.seq,
        m.queue_id,
        m.message_id,
        m.body,
        encode_attributes(m.message_attributes),
        m.trace_header,
        m.sender_id,
        m.sent_ms,
        m.visible_at_ms,
        m.receive_count,
        m.first_receive_ms,
        m.receipt_token,
        m.group_id,
        m.dedup_id,
        m.dlq_source_arn,
    )


Op = Callable[[sqlite3.Connection], None]


def insert_messages(messages: Sequence[MessageRecord], dedup: Iterable[DedupEntry] = ()) -> Op:
    """New messages and the deduplication ids they claim (replacing an expired claim)."""
    rows = [_row(m) for m in messages]
    dedup_rows = [
        (d.queue_id, d.scope, d.dedup_id, d.message_id, d.seq, d.expires_ms) for d in dedup
    ]

    def op(conn: sqlite3.Connection) -> None:
        conn.executemany(
            f"INSERT INTO sqs_messages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
        )
        if dedup_rows:
            conn.executemany(
                "INSERT OR REPLACE INTO sqs_dedup"
                " (queue_id, scope, dedup_id, message_id, seq, expires_ms) VALUES (?,?,?,?,?,?)",
                dedup_rows,
            )

    return op


def receives_and_moves(received: Sequence[MessageRecord], moves: Sequence[MessageMove]) -> Op:
    """The receive state (visibility, count, first receive, receipt token) of ``received``
    and the new position and receive state of moved messages, in one operation."""
    receive_rows = [
        (m.visible_at_ms, m.receive_count, m.first_receive_ms, m.receipt_token, m.seq)
        for m in received
    ]
    move_rows = [
        (
            move.record.seq,
            move.record.queue_id,
            move.record.visible_at_ms,
            move.record.receive_count,
            move.record.first_receive_ms,
            move.record.receipt_token,
            move.record.dlq_source_arn,
            move.from_seq,
        )
        for move in moves
    ]

    def op(conn: sqlite3.Connection) -> None:
        if receive_rows:
            conn.executemany(
                "UPDATE sqs_messages SET visible_at_ms=?, receive_count=?, first_receive_ms=?,"
                " receipt_token=? WHERE seq=?",
                receive_rows,
            )
        if move_rows:
            conn.executemany(
                "UPDATE sqs_messages SET seq=?, queue_id=?, visible_at_ms=?, receive_count=?,"
                " first_receive_ms=?, receipt_token=?, dlq_source_arn=? WHERE seq=?",
                move_rows,
            )

    return op


def set_visibility(changes: Sequence[tuple[int, int]]) -> Op:
    """``(seq, visible_at_ms)`` pairs."""
    rows = [(visible_at, seq) for seq, visible_at in changes]

    def op(conn: sqlite3.Connection) -> None:
        conn.executemany("UPDATE sqs_messages SET visible_at_ms=? WHERE seq=?", rows)

    return op


def delete_messages(seqs: Sequence[int]) -> Op:
    rows = [(seq,) for seq in seqs]

    def op(conn: sqlite3.Connection) -> None:
        conn.executemany("DELETE FROM sqs_messages WHERE seq=?", rows)

    return op


def purge_messages(queue_id: int, up_to_seq: int) -> Op:
    """A purge: the queue's messages up to ``up_to_seq`` (later sends stay)."""

    def op(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM sqs_messages WHERE queue_id=? AND seq<=?", (queue_id, up_to_seq))

    return op


def delete_all_of_queue(conn: sqlite3.Connection, queue_id: int) -> None:
    """A deleted queue's messages and deduplication ids (in the deleting transaction)."""
    conn.execute("DELETE FROM sqs_messages WHERE queue_id=?", (queue_id,))
    conn.execute("DELETE FROM sqs_dedup WHERE queue_id=?", (queue_id,))


def expire_dedup(now_ms: int) -> Op:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM sqs_dedup WHERE expires_ms<=?", (now_ms,))

    return op


def load_messages(conn: sqlite3.Connection) -> list[MessageRecord]:
    """Every stored message in ``seq`` order, without bodies and attributes (``cached``
    False: ``load_payloads`` reads them when a receive needs them)."""
    out: list[MessageRecord] = []
    for row in conn.execute(
        "SELECT seq, queue_id, message_id, trace_header, sender_id, sent_ms, visible_at_ms,"
        " receive_count, first_receive_ms, receipt_token, group_id, dedup_id, dlq_source_arn"
        " FROM sqs_messages ORDER BY seq"
    ):
        out.append(
            MessageRecord(
                seq=row[0],
                queue_id=row[1],
                message_id=row[2],
                body="",
                message_attributes={},
                trace_header=row[3],
                sender_id=row[4],
                sent_ms=row[5],
                visible_at_ms=row[6],
                receive_count=row[7],
                first_receive_ms=row[8],
                receipt_token=row[9],
                group_id=row[10],
                dedup_id=row[11],
                dlq_source_arn=row[12],
                cached=False,
            )
        )
    return out


def load_payloads(conn: sqlite3.Connection, seqs: Sequence[int]) -> dict[int, Payload]:
    """The bodies and attributes of messages by ``seq`` (messages gone are absent)."""
    out: dict[int, Payload] = {}
    for start in range(0, len(seqs), 500):
        chunk = list(seqs[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for seq, body, attributes in conn.execute(
            f"SELECT seq, body, message_attributes FROM sqs_messages WHERE seq IN ({marks})",
            chunk,
        ):
            out[seq] = (body, decode_attributes(attributes))
    return out


def load_dedup(conn: sqlite3.Connection, now_ms: int) -> list[DedupEntry]:
    """The deduplication ids that expire after ``now_ms``."""
    rows = conn.execute(
        "SELECT queue_id, scope, dedup_id, message_id, seq, expires_ms FROM sqs_dedup"
        " WHERE expires_ms>?",
        (now_ms,),
    )
    return [DedupEntry(*row) for row in rows]


def max_seq(conn: sqlite3.Connection) -> int:
    """The highest ``seq`` of any message or deduplication id (0: none)."""
    row = conn.execute(
        "SELECT max(m) FROM (SELECT max(seq) AS m FROM sqs_messages"
        " UNION ALL SELECT max(seq) FROM sqs_dedup)"
    ).fetchone()
    return int(row[0] or 0)
