"""LineSplitter (a runtime's output cut into events of at most 256 KB) and TailLines."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lamina.domain.log_events import MAX_EVENT_BYTES
from lamina.runtime.log_lines import (
    MAX_LINE_BYTES,
    LineSplitter,
    NewlineTerminated,
    TailLines,
    split_text,
)


def test_lines_and_partial_lines() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == ["one"]
    assert splitter.feed(b"o\n\nthree") == ["two", ""]
    assert splitter.pending_bytes == 5
    assert splitter.flush() == ["three"]
    assert splitter.flush() == []


def test_a_line_without_newline_is_cut_as_it_streams() -> None:
    splitter = LineSplitter(limit=10)
    out: list[str] = []
    for _ in range(7):
        out += splitter.feed(b"abcdefg")  # 49 bytes, never a newline
        assert splitter.pending_bytes <= 10
    out += splitter.flush()
    assert out == ["abcdefgabc", "defgabcdef", "gabcdefgab", "cdefgabcde", "fgabcdefg"]


def test_a_long_line_in_one_chunk_is_split_at_the_cap() -> None:
    # The cap leaves room for the "\n" each line is stored with (NewlineTerminated).
    assert MAX_LINE_BYTES == MAX_EVENT_BYTES - 1
    data = b"x" * (2 * MAX_LINE_BYTES + 5)
    messages = LineSplitter().feed(data + b"\nnext\n")
    assert [len(m) for m in messages] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 5, 4]


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, str, bool]] = []
        self.waiting: list[Callable[[], None]] = []

    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool = False
    ) -> None:
        self.events.append((group, stream, timestamp_ms, message, droppable))

    def append_platform(
        self, group: str, stream: str, timestamp_ms: int, messages: Sequence[str]
    ) -> None:
        for message in messages:
            self.append(group, stream, timestamp_ms, message)

    def has_room(self, group: str, stream: str, size: int) -> bool:
        return size < 100

    def when_room(self, callback: Callable[[], None]) -> None:
        self.waiting.append(callback)


def test_lines_are_stored_ending_with_a_newline_as_on_aws() -> None:
    sink = RecordingSink()
    lines = NewlineTerminated(sink)
    lines.append("g", "s", 1, "START RequestId: r Version: $LATEST")
    lines.append("g", "s", 2, "multi", droppable=True)
    lines.append("g", "s", 2, "", droppable=True)  # an empty line of output: no event
    lines.append_platform(
        "g", "s", 3, ("END RequestId: r", "REPORT RequestId: r\tDuration: 1.00 ms\t")
    )
    assert [(e[2], e[3], e[4]) for e in sink.events] == [
        (1, "START RequestId: r Version: $LATEST\n", False),
        (2, "multi\n", True),
        (3, "END RequestId: r\n", False),
        (3, "REPORT RequestId: r\tDuration: 1.00 ms\t\n", False),
    ]
    assert lines.has_room("g", "s", 99) and not lines.has_room("g", "s", 100)
    lines.when_room(print)
    assert sink.waiting == [print]


def test_cuts_never_split_a_character() -> None:
    splitter = LineSplitter(limit=10)
    text = "é" * 12  # 2 bytes each
    out = splitter.feed(text.encode()) + splitter.flush()
    assert "".join(out) == text
    assert all(len(m.encode()) <= 10 for m in out)
    assert split_text("€€€€", 7) == ["€€", "€€"]  # 3 bytes each: 6 fit, not 7


def test_undecodable_bytes_stay_under_the_cap() -> None:
    splitter = LineSplitter()
    out = splitter.feed(b"\xff" * (MAX_EVENT_BYTES // 2) + b"\n")
    assert all(len(m.encode()) <= MAX_EVENT_BYTES for m in out)
    assert sum(len(m) for m in out) == MAX_EVENT_BYTES // 2  # one U+FFFD per byte


def test_tail_keeps_only_the_end() -> None:
    tail = TailLines(keep=10)
    tail.extend(["first", "second", "third"])
    assert list(tail) == ["second", "third"]  # at least 10 characters with newlines
    tail.append("x" * 50)
    assert list(tail) == ["x" * 10]
    tail.clear()
    assert len(tail) == 0 and not tail
