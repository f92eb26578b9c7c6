"""What a runtime writes to its log pipe, cut into bounded log events.

CloudWatch Logs takes events of at most 256 KB, 26 bytes of which are per-event overhead,
so a message holds at most 262,118 bytes of UTF-8; Lambda splits a longer line into several
events of that size. ``LineSplitter`` does the same as the bytes stream in: a line without a
newline is cut as soon as it reaches the cap, so what it keeps between reads never exceeds
one event. ``TailLines`` keeps only the end of an invocation's lines, what ``LogType=Tail``
returns (its last 4 KB). ``NewlineTerminated`` stores each line as AWS stores a function's
log events: ending with ``\n`` (``GetLogEvents``, ``FilterLogEvents``; the tail already
joins its lines with one).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from lamina.domain.log_events import MAX_EVENT_BYTES

# Bytes read from one environment's log pipe per turn of the event loop: a flooding
# function then shares the loop with every other function instead of holding it.
READ_BUDGET_BYTES = 256 << 10
TAIL_BYTES = 4096  # LogType=Tail returns the last 4 KB of an invocation's log
# A byte that cannot be decoded becomes U+FFFD (3 bytes): only lines longer than this can
# grow past the cap when decoded.
_SAFE_UNDECODED_BYTES = MAX_EVENT_BYTES // 3


def _utf8_cut(data: bytes, start: int, limit: int) -> int:
    """The end of a piece of ``data`` from ``start``: at most ``limit`` bytes long, and not
    inside a UTF-8 sequence (unless the bytes there are no valid UTF-8)."""
    end = start + limit
    cut = end
    while cut > end - 3 and cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut if cut > end - 3 else end


def split_text(text: str, limit: int = MAX_EVENT_BYTES) -> list[str]:
    """``text`` as messages of at most ``limit`` bytes of UTF-8, cut between characters."""
    data = text.encode()
    if len(data) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while len(data) - start > limit:
        cut = _utf8_cut(data, start, limit)
        pieces.append(data[start:cut].decode("utf-8", "replace"))
        start = cut
    pieces.append(data[start:].decode("utf-8", "replace"))
    return pieces


# A line's share of an event: the rest is the "\n" it is stored with.
MAX_LINE_BYTES = MAX_EVENT_BYTES - 1


class LineSplitter:
    """Bytes in, messages of at most ``limit`` bytes of UTF-8 out (newlines removed)."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self._limit = limit
        self._partial = b""

    @property
    def pending_bytes(self) -> int:
        return len(self._partial)

    def feed(self, chunk: bytes) -> list[str]:
        """The complete lines (and full-sized pieces of a long line) ``chunk`` finishes."""
        data = self._partial + chunk if self._partial else chunk
        *lines, rest = data.split(b"\n")
        messages: list[str] = []
        for line in lines:
            self._emit(line, messages)
        limit = self._limit
        if len(rest) > limit:
            start = 0
            while len(rest) - start > limit:
                cut = _utf8_cut(rest, start, limit)
                self._emit(rest[start:cut], messages)
                start = cut
            rest = rest[start:]
        self._partial = rest
        return messages

    def flush(self) -> list[str]:
        """The last line when it has no newline (the runtime ended or was stopped)."""
        rest, self._partial = self._partial, b""
        messages: list[str] = []
        if rest:
            self._emit(rest, messages)
        return messages

    def _emit(self, line: bytes, messages: list[str]) -> None:
        if len(line) <= _SAFE_UNDECODED_BYTES:
            messages.append(line.decode("utf-8", "replace"))
        elif len(line) <= self._limit:
            messages.extend(split_text(line.decode("utf-8", "replace"), self._limit))
        else:
            start = 0
            while start < len(line):
                cut = _utf8_cut(line, start, self._limit)
                messages.extend(split_text(line[start:cut].decode("utf-8", "replace"), self._limit))
                start = cut


class TailLines:
    """The last lines of a log, at least ``keep`` characters of them when there are that
    many (a character is at least one byte, so the last ``keep`` bytes are always here)."""

    def __init__(self, keep: int = TAIL_BYTES) -> None:
        self._keep = keep
        self._lines: deque[str] = deque()
        self._chars = 0

    def append(self, line: str) -> None:
        keep = self._keep
        if len(line) > keep:
            line = line[-keep:]
        lines = self._lines
        lines.append(line)
        self._chars += len(line) + 1
        while self._chars - len(lines[0]) - 1 >= keep:
            self._chars -= len(lines.popleft()) + 1

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.append(line)

    def clear(self) -> None:
        self._lines.clear()
        self._chars = 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


class LineSink(Protocol):
    """The log sink of an environment (``runtime_output.LogSink``: the LogService)."""

    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool = False
    ) -> None: ...

    def append_platform(
        self, group: str, stream: str, timestamp_ms: int, messages: Sequence[str]
    ) -> None: ...

    def has_room(self, group: str, stream: str, size: int) -> bool: ...

    def when_room(self, callback: Callable[[], None]) -> None: ...


class NewlineTerminated:
    """A log sink that stores each line of a function's log (its output and the platform's
    START, END, REPORT lines) with the ``\n`` AWS stores it with. Lines come without one
    (``LineSplitter`` cuts them at ``MAX_LINE_BYTES``), so an event stays within
    CloudWatch's size. An empty line of the function's output is no event, as on AWS
    (recorded: ``print("\\nmulti\\nline\\n")`` stores ``multi\\n`` and ``line\\n`` only)."""

    def __init__(self, sink: LineSink) -> None:
        self._sink = sink

    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool = False
    ) -> None:
        if message or not droppable:
            self._sink.append(group, stream, timestamp_ms, message + "\n", droppable)

    def append_platform(
        self, group: str, stream: str, timestamp_ms: int, messages: Sequence[str]
    ) -> None:
        self._sink.append_platform(group, stream, timestamp_ms, [m + "\n" for m in messages])

    def has_room(self, group: str, stream: str, size: int) -> bool:
        return self._sink.has_room(group, stream, size)

    def when_room(self, callback: Callable[[], None]) -> None:
        self._sink.when_room(callback)
