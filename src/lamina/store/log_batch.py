"""A batch of log events as the log buffer collects them and the SQLite store writes them.

An event is one ``LogRow`` tuple, ``((group, stream), timestamp_ms, message)``, in arrival
order: the invoke path builds no object per event beyond that tuple, and the store reads the
rows' columns with C-level ``zip``/``map`` instead of a Python loop over event objects.

``LogBatch`` is a ``Sequence[LogEvent]`` (what the ``LogStore`` port takes), so any store can
read it event by event; ``rows_of`` gives a store the rows of any sequence of events, without
a copy when it is a ``LogBatch``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from lamina.store.log_records import LogEvent

StreamKey = tuple[str, str]  # (log group, log stream)
LogRow = tuple[StreamKey, int, str]  # (stream key, timestamp in ms, message)


class LogBatch(Sequence[LogEvent]):
    """Log events kept as ``LogRow`` tuples (``rows``, in arrival order, not copied)."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[LogRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> LogEvent: ...

    @overload
    def __getitem__(self, index: slice) -> LogBatch: ...

    def __getitem__(self, index: int | slice) -> LogEvent | LogBatch:
        if isinstance(index, slice):
            return LogBatch(self.rows[index])
        (group, stream), timestamp_ms, message = self.rows[index]
        return LogEvent(group, stream, timestamp_ms, message)

    def __iter__(self) -> Iterator[LogEvent]:
        for (group, stream), timestamp_ms, message in self.rows:
            yield LogEvent(group, stream, timestamp_ms, message)


def rows_of(events: Sequence[LogEvent]) -> list[LogRow]:
    """The events as rows: a ``LogBatch``'s own list, else a new one."""
    if isinstance(events, LogBatch):
        return events.rows
    return [((e.group, e.stream), e.timestamp_ms, e.message) for e in events]
