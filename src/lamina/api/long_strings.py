"""Long strings in a large JSON body, decoded in pieces that let the GIL go.

json's decoders scan a string in one C call with the GIL held: 0.2 s for a 60 MB string with
the C decoder, 0.8 s with the Python one (its chunk regex), so even parsed in a thread such a
body stalls the event loop. ``cut_long_strings`` finds every string of a large UTF-8 body
that is ``LONG_STRING_BYTES`` or longer (one Python step per string of the body: it walks
the quotes) and puts a short placeholder in its place; ``LongString.decode`` turns the raw
text into its value a piece at a time: UTF-8 by an incremental decoder, then the escapes
and the check for control characters by json's own ``scanstring``, on pieces cut where no
escape (nor surrogate pair) straddles the cut. Same values as ``json.loads``; the same kinds
of error, positioned in the body's bytes rather than its characters.
"""

from __future__ import annotations

import codecs
import json
import json.decoder
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LONG_STRING_BYTES = 1 << 16
# Characters of a string decoded per step (a millisecond or so of GIL).
PIECE_CHARS = 1 << 18
_CONTROL = re.compile(r"[\x00-\x1f]")
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
_UNTERMINATED = "Unterminated string starting at"
_HIGH, _HIGHEST = "\ud800", "\udbff"


@dataclass(frozen=True, slots=True)
class LongString:
    """The raw text of one long string: ``body[start:end]``, between its quotes."""

    body: bytes
    start: int
    end: int

    def decode(self) -> str:
        """The string's value, as ``json.loads`` makes it (ValueError as it raises)."""
        decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        raw = memoryview(self.body)[self.start : self.end]
        values: list[str] = []
        carry = ""
        done = 0  # characters of the raw text decoded so far
        for offset in range(0, len(raw), PIECE_CHARS):
            final = offset + PIECE_CHARS >= len(raw)
            text = carry + decoder.decode(raw[offset : offset + PIECE_CHARS], final)
            value, used = self._piece(text, final, done)
            values.append(value)
            carry, done = text[used:], done + used
        return "".join(values)

    def _piece(self, text: str, final: bool, done: int) -> tuple[str, int]:
        """The value of ``text``'s longest prefix that can be decoded on its own (all of it
        when ``final``), and that prefix's length; ``done``: characters before ``text``."""
        cut = len(text) if final else max(0, len(text) - 12)
        if "\\" not in text:
            found = _CONTROL.search(text, 0, cut)
            if found is not None:
                raise self._error("Invalid control character at", done + found.start())
            return text[:cut], cut
        retried = False
        while True:
            try:
                value, _ = _scanstring(text[:cut] + '"', 0, True)
            except json.JSONDecodeError as exc:
                split = exc.msg == _UNTERMINATED or exc.pos >= cut - 6
                if final or retried or not split:
                    raise self._error(exc.msg, done + exc.pos) from None
                # The cut split an escape: an odd run of backslashes ends the prefix (the
                # quote after it is escaped), or a \uXXXX is cut short.
                retried = True
                cut = cut - 1 if exc.msg == _UNTERMINATED else max(0, text.rfind("\\", 0, cut))
                continue
            if (
                not final
                and value
                and _HIGH <= value[-1] <= _HIGHEST
                and text[cut - 1] != value[-1]
            ):
                # The prefix ends with a high surrogate's escape, which pairs with a low one's
                # after the cut: cut before it (the escape is six characters).
                cut -= 6
                value, _ = _scanstring(text[:cut] + '"', 0, True)
            return value, cut

    def _error(self, message: str, at: int) -> ValueError:
        """json's error, positioned at byte ``self.start + at`` of the body."""
        where = self.start + at
        line = self.body.count(b"\n", 0, where) + 1
        column = where - self.body.rfind(b"\n", 0, where)
        return ValueError(f"{message}: line {line} column {column} (char {where})")


@dataclass(frozen=True, slots=True)
class Cut:
    """A body with its long strings replaced by placeholders, and what each stands for."""

    body: bytes
    strings: dict[str, LongString]


def cut_long_strings(body: bytes) -> Cut | None:
    """``body`` with every string of ``LONG_STRING_BYTES`` or more replaced by a placeholder;
    None when it has none (or is not plain UTF-8 JSON, or ends inside a string: the decoder
    then says what is wrong)."""
    if json.detect_encoding(body) != "utf-8" or not _has_a_long_quoteless_run(body):
        return None
    nonce = secrets.token_hex(8)
    pieces: list[bytes] = []
    strings: dict[str, LongString] = {}
    find = body.find
    kept = 0
    position = 0
    while True:
        opening = find(b'"', position)
        if opening < 0:
            break
        closing = find(b'"', opening + 1)
        while closing >= 0 and _escaped(body, closing, opening):
            closing = find(b'"', closing + 1)
        if closing < 0:
            return None
        if closing - opening - 1 >= LONG_STRING_BYTES:
            placeholder = f"\x00lamina-long-string:{nonce}:{len(strings)}"
            strings[placeholder] = LongString(body, opening + 1, closing)
            pieces += (body[kept : opening + 1], json.dumps(placeholder)[1:-1].encode())
            kept = closing
        position = closing + 1
    if not strings:
        return None
    pieces.append(body[kept:])
    return Cut(b"".join(pieces), strings)


def put_back(
    document: Any,
    strings: dict[str, LongString],
    blob_member: tuple[str, Callable[[LongString], Any]] | None = None,
) -> Any:
    """``document`` with each placeholder (a value or a key) replaced by its string's value;
    the value of a member named ``blob_member[0]`` by what ``blob_member[1]`` makes of it."""
    if isinstance(document, str):
        found = strings.get(document)
        return document if found is None else found.decode()
    if isinstance(document, list):
        return [put_back(item, strings, blob_member) for item in document]
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            found = strings.get(value) if isinstance(value, str) else None
            if found is not None and blob_member is not None and key == blob_member[0]:
                out[put_back(key, strings)] = blob_member[1](found)
            else:
                out[put_back(key, strings)] = put_back(value, strings, blob_member)
        return out
    return document


def _has_a_long_quoteless_run(body: bytes) -> bool:
    """Whether some stretch of ``LONG_STRING_BYTES / 2`` has no quote: without one, no string
    is long enough to cut (a few thousand ``find`` calls for 70 MB)."""
    step = LONG_STRING_BYTES // 2
    find = body.find
    return any(find(b'"', at, at + step) < 0 for at in range(0, len(body) - step + 1, step))


def _escaped(body: bytes, quote: int, opening: int) -> bool:
    """Whether the quote at ``quote`` follows an odd run of backslashes (counted in C, over a
    window that doubles until it holds the run's start, the opening quote at the latest)."""
    window = 64
    while True:
        low = max(opening + 1, quote - window)
        before = body[low:quote]
        run = len(before) - len(before.rstrip(b"\\"))
        if run < len(before) or low == opening + 1:
            return run % 2 == 1
        window *= 2
