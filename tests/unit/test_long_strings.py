"""Long strings of a large JSON body are cut out and decoded in pieces (``long_strings``):
the same documents as ``json.loads``, the same kinds of error, and the event loop keeps
turning while a thread decodes 60 MB of them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loop_pauses import longest_pause_while

from lamina.api import long_strings
from lamina.api.large_body import loads_sharing_the_gil
from lamina.api.long_strings import cut_long_strings, put_back

ESCAPES = ['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "é", "\u2028", "😀", "\ud83d", "\ude00"]


def _encode(document: Any, ascii_only: bool = True) -> bytes:
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _through_the_cut(body: bytes) -> Any:
    cut = cut_long_strings(body)
    assert cut is not None, body[:80]
    return put_back(json.loads(cut.body), cut.strings)


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strings of 16 bytes are long, decoded 7 characters at a time: every kind of escape
    meets every kind of cut."""
    monkeypatch.setattr(long_strings, "LONG_STRING_BYTES", 16)
    monkeypatch.setattr(long_strings, "PIECE_CHARS", 7)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("ascii_only", [True, False])
@pytest.mark.parametrize("escape", ESCAPES)
def test_every_escape_at_every_cut_decodes_as_json_loads(escape: str, ascii_only: bool) -> None:
    for offset in range(20):
        text = "x" * offset + escape + "y" * 30 + escape * 3 + "z" * offset
        document = {"a": text, text: [text, {"b": text}], "n": 1}
        assert _through_the_cut(_encode(document, ascii_only)) == document


@pytest.mark.usefixtures("small_pieces")
@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.lists(st.sampled_from([*ESCAPES, "a", "\\u", "0", "d"]), max_size=60).map("".join)
    ),
    ascii_only=st.booleans(),
)
def test_any_strings_decode_as_json_loads(texts: list[str], ascii_only: bool) -> None:
    body = _encode({"strings": texts, "padding": "p" * 40}, ascii_only)
    assert _through_the_cut(body) == json.loads(body)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize(
    "raw",
    [
        b'"' + b"a" * 30 + b"\x01" + b"b" * 30 + b'"',  # a control character
        b'"' + b"a" * 30 + b"\\x" + b"b" * 30 + b'"',  # an unknown escape
        b'"' + b"a" * 30 + b"\\u12g4" + b"b" * 30 + b'"',  # a bad \u escape
        b'"' + b"a" * 30 + b"\xff" + b"b" * 30 + b'"',  # not UTF-8
        b'"' + b"a" * 30 + b"\\",  # unterminated
    ],
)
def test_what_json_loads_refuses_is_refused(raw: bytes) -> None:
    body = b'{"k": ' + raw + b"}"
    with pytest.raises(ValueError):
        json.loads(body)
    cut = cut_long_strings(body)  # None when the body ends inside a string
    with pytest.raises(ValueError):
        put_back(json.loads(cut.body), cut.strings) if cut is not None else json.loads(body)


def test_a_body_without_long_strings_is_left_alone() -> None:
    assert cut_long_strings(json.dumps({"k": ["v" * 100] * 20_000}).encode()) is None
    assert cut_long_strings(json.dumps({"k": "v" * 100_000}).encode("utf-16")) is None


def test_a_placeholder_is_never_a_string_of_the_body() -> None:
    body = json.dumps({"k": "v" * 100_000, "other": "\x00lamina-long-string:0:0"}).encode()
    cut = cut_long_strings(body)
    assert cut is not None
    assert put_back(json.loads(cut.body), cut.strings) == json.loads(body)


def test_the_loop_keeps_turning_while_60_mb_of_strings_are_decoded() -> None:
    """With the C decoder the loop would turn a handful of times in all; here a thread
    decodes the strings in pieces and the loop's longest pause stays short."""
    plain = "x" * 40_000_000
    escaped = "é\n" * 5_000_000
    body = _encode({"Description": plain, "Other": escaped})

    document, longest = longest_pause_while(lambda: asyncio.to_thread(loads_sharing_the_gil, body))
    assert document == {"Description": plain, "Other": escaped}
    assert longest < 0.06, longest
