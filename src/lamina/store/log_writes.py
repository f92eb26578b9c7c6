"""The statements ``SqliteLogStore`` writes a batch of log events with.

A batch costs a handful of statements whatever its size, and no Python code per event:

- the events go in with multi-row ``INSERT … VALUES`` statements of up to ``MAX_ROWS`` rows
  (and about ``INSERT_CHUNK_BYTES`` of messages): per chunk, one statement of the largest
  multiple of ``STEP_ROWS`` rows and one of the few rows left, so SQLite prepares at most
  ``MAX_ROWS / STEP_ROWS + STEP_ROWS - 1`` statements (79), once, and the sqlite3 module's
  cache (128) keeps them. Every parameter is a str or an int: the sqlite3 module binds those
  directly, while a ``None`` (the rows of NULLs chunks were once padded with) goes through
  its adaptation protocol, two failed attribute lookups each, with the GIL held. ``OR
  IGNORE`` spares SQLite a statement journal (with ``ABORT``, the journal of a big INSERT
  spilled to a temporary file, every batch). The parameters are laid out by C-level
  ``zip``/``chain``, and the rows keep their order (ids ascending in order of arrival);
- the streams' and groups' statistics (first and last timestamp, stored bytes: UTF-8 bytes
  of the messages plus CloudWatch's 26 per event) are summed per stream in one pass over the
  batch (``stream_stats``) and added with one UPDATE for the streams and one for the groups.

Why few statements: SQLite runs each without the GIL, and when it returns, the writer's
thread must win the GIL back from a busy event loop: futex waits and wake-ups that cost both
threads CPU (measured: tens of microseconds per statement under load), and the loop up to a
switch interval.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, chain, repeat

from lamina.domain.log_events import EVENT_OVERHEAD_BYTES, utf8_size
from lamina.store.log_batch import StreamKey

INSERT_CHUNK_BYTES = 1 << 20  # characters of messages per INSERT statement (about)
MAX_ROWS = 1024  # rows per INSERT statement: 5,120 parameters (SQLite takes 32,766)
STEP_ROWS = 64  # an INSERT's rows are a multiple of this, or fewer
_COLUMNS = 5  # group id, stream id, timestamp, ingestion time, message

# A batch's statistics per stream, a JSON array of [stream id, first timestamp, last
# timestamp, bytes] (``stats_parameters``), added to the streams in one statement.
ADD_STREAM_STATS = """
UPDATE log_streams SET
    first_event_ts = min(coalesce(first_event_ts, new.first), new.first),
    last_event_ts = max(coalesce(last_event_ts, new.last), new.last),
    last_ingestion_time = :now,
    stored_bytes = stored_bytes + new.bytes
FROM (
    SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS first,
           json_extract(value, '$[2]') AS last, json_extract(value, '$[3]') AS bytes
    FROM json_each(:stats)
) AS new
WHERE log_streams.id = new.id
"""

# A JSON array of [group id, bytes] (``stats_parameters``), added to the groups' bytes.
ADD_GROUP_BYTES = """
UPDATE log_groups SET stored_bytes = stored_bytes + new.bytes
FROM (
    SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS bytes
    FROM json_each(:bytes)
) AS new
WHERE log_groups.id = new.id
"""

_INSERT_SQL: dict[int, str] = {}  # rows -> statement


def insert_sql(rows: int) -> str:
    """The INSERT of ``rows`` events: fewer than ``STEP_ROWS``, or a multiple of it up to
    ``MAX_ROWS`` (the statements a batch is written with, ``insert_statements``)."""
    sql = _INSERT_SQL.get(rows)
    if sql is None:
        if not 0 < rows <= MAX_ROWS or (rows > STEP_ROWS and rows % STEP_ROWS):
            raise ValueError(f"not at most {STEP_ROWS} nor a multiple up to {MAX_ROWS}: {rows}")
        values = ", ".join(["(?, ?, ?, ?, ?)"] * rows)
        sql = _INSERT_SQL[rows] = (
            "INSERT OR IGNORE INTO log_events"
            f" (group_id, stream_id, timestamp, ingestion_time, message) VALUES {values}"
        )
    return sql


def insert_parameters(
    ids: Mapping[StreamKey, tuple[int, int]],
    keys: Sequence[StreamKey],
    timestamps: Iterable[int],
    messages: Iterable[str],
    ingestion_time: int,
) -> list[int | str]:
    """The events' columns laid out row after row, as the INSERTs bind them (by C-level
    iterators: no Python code runs per event); ``ids`` maps each stream to its (group id,
    stream id)."""
    group_of = {key: group_id for key, (group_id, _) in ids.items()}
    stream_of = {key: stream_id for key, (_, stream_id) in ids.items()}
    return list(
        chain.from_iterable(
            zip(
                map(group_of.__getitem__, keys),
                map(stream_of.__getitem__, keys),
                timestamps,
                repeat(ingestion_time),
                messages,
            )
        )
    )


def stream_stats(
    keys: Sequence[StreamKey], timestamps: Sequence[int], messages: Sequence[str]
) -> dict[StreamKey, list[int]]:
    """Per stream of the batch: [first timestamp, last timestamp, stored bytes]."""
    if all(map(str.isascii, messages)):
        sizes: Iterable[int] = map(len, messages)
    else:
        sizes = map(utf8_size, messages)
    stats: dict[StreamKey, list[int]] = {}
    for key, timestamp, size in zip(keys, timestamps, sizes, strict=True):
        entry = stats.get(key)
        if entry is None:
            stats[key] = [timestamp, timestamp, size + EVENT_OVERHEAD_BYTES]
            continue
        if timestamp < entry[0]:
            entry[0] = timestamp
        elif timestamp > entry[1]:
            entry[1] = timestamp
        entry[2] += size + EVENT_OVERHEAD_BYTES
    return stats


def stats_parameters(
    ids: Mapping[StreamKey, tuple[int, int]], stats: Mapping[StreamKey, list[int]], now: int
) -> tuple[dict[str, object], dict[str, object]]:
    """The parameters of ``ADD_STREAM_STATS`` and ``ADD_GROUP_BYTES`` for a batch's
    ``stream_stats``."""
    streams: list[list[int]] = []
    groups: dict[int, int] = {}
    for key, (first, last, size) in stats.items():
        group_id, stream_id = ids[key]
        streams.append([stream_id, first, last, size])
        groups[group_id] = groups.get(group_id, 0) + size
    return (
        {"stats": json.dumps(streams), "now": now},
        {"bytes": json.dumps(list(groups.items()))},
    )


def chunk_bounds(messages: Sequence[str], limit: int | None = None) -> list[int]:
    """Row indexes where a new chunk of at most about ``limit`` (``INSERT_CHUNK_BYTES``)
    characters of messages begins (a chunk holds at least one row); the last bound is
    ``len(messages)``."""
    if limit is None:
        limit = INSERT_CHUNK_BYTES
    count = len(messages)
    if sum(map(len, messages)) <= limit:
        return [count]
    ends = list(accumulate(map(len, messages)))
    bounds: list[int] = []
    start = 0
    while start < count:
        before = ends[start - 1] if start else 0
        start = max(bisect_right(ends, before + limit, start), start + 1)
        bounds.append(start)
    return bounds


def insert_statements(
    parameters: list[int | str], bounds: Sequence[int]
) -> Iterator[tuple[str, list[int | str]]]:
    """Each INSERT of a batch with its parameters, in row order: per chunk
    (``chunk_bounds``), statements of ``MAX_ROWS`` rows, then one of the largest multiple of
    ``STEP_ROWS`` rows left and one of the rest."""
    start = 0
    for end in bounds:
        while start < end:
            rows = min(MAX_ROWS, end - start)
            if rows > STEP_ROWS:
                rows -= rows % STEP_ROWS
            yield insert_sql(rows), parameters[start * _COLUMNS : (start + rows) * _COLUMNS]
            start += rows
