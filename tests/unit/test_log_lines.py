"""LineSplitter (a runtime's output cut into events of at most 256 KB) and TailLines."""

from __future__ import annotations

from lamina.domain.log_events import MAX_EVENT_BYTES
from lamina.runtime.log_lines import LineSplitter, TailLines, split_text


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
    data = b"x" * (2 * MAX_EVENT_BYTES + 5)
    messages = LineSplitter().feed(data + b"\nnext\n")
    assert [len(m) for m in messages] == [MAX_EVENT_BYTES, MAX_EVENT_BYTES, 5, 4]


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
