"""Reading and parsing large request bodies (package uploads, dense JSON) without stalling
everything else.

A CreateFunction, UpdateFunctionCode or PublishLayerVersion body is JSON holding one base64
string of up to ~70 MB (``ZipFile``). ``json.loads`` and ``b64decode`` of that are single C
calls that hold the GIL for hundreds of milliseconds, so even in a thread they would stall
the event loop (and every warm invocation). For a large body, ``parse_off_loop`` parses in
a thread where:

- every long string is cut out of the JSON before it is parsed (``long_strings``: the C
  decoder scans a string with the GIL held, 0.2 s for 60 MB, the Python one 0.8 s), so the
  JSON parsed is small; the strings are decoded in pieces, and the ``ZipFile`` string is not
  decoded at all (a ``LargeBase64`` stands for it, unless it holds an escape);
- the package's base64 is decoded in 256 KB chunks (``LargeBase64.to_bytes``), letting the
  GIL go between chunks.

A JSON body of many values is the other way to hold the GIL: the C decoder takes about a
microsecond a value and lets the GIL go only at the end (1 MB of 10,000 log events: 44 ms; 8 MB
of small numbers: 230 ms). A body over ``PARSE_INLINE_BYTES`` is parsed in a thread, and one
with ``DENSE_VALUES`` or more separators by json's Python decoder (``loads_sharing_the_gil``:
the same results, 2 to 16 times the CPU, the GIL shared every switch interval).

Copying tens of megabytes takes tens of milliseconds here (most of it faulting in the fresh
pages), and ``bytes(bytearray)`` holds the GIL meanwhile; ``b"".join`` of a list of ``bytes``
over a megabyte lets it go while it copies. So the body's pieces are joined in a thread
(``join_off_loop``) and the decoded chunks are joined, not converted.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import json.scanner
from collections.abc import Callable
from typing import Any, Protocol

from lamina.api.long_strings import LongString, cut_long_strings, put_back

LARGE_BODY_BYTES = 1 << 20
# Bodies up to this size are parsed on the event loop (a few milliseconds at most).
PARSE_INLINE_BYTES = 64 * 1024
# A larger JSON body with this many "," and ":" is parsed by the Python decoder: the C one
# would hold the GIL for more than about 5 ms.
DENSE_VALUES = 5_000
CHUNK_CHARS = 1 << 18  # a multiple of 4: chunks decode independently
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class LargeBase64(str):
    """A base64 string member left undecoded by ``loads_leaving_blob`` (an empty ``str``
    that knows its source)."""

    source: memoryview

    def __new__(cls, source: memoryview) -> LargeBase64:
        made = super().__new__(cls, "")
        made.source = source
        return made

    def to_bytes(self) -> bytes:
        """Decoded chunk by chunk, validated as ``b64decode(validate=True)`` does
        (ValueError if it is not base64)."""
        source = self.source
        size = len(source)
        if size % 4:
            raise ValueError("incorrect padding")
        out: list[bytes] = []
        for start in range(0, size, CHUNK_CHARS):
            chunk = bytes(source[start : start + CHUNK_CHARS])
            if start + CHUNK_CHARS >= size:  # the last chunk may end with padding
                digits = chunk.rstrip(b"=")
                if len(chunk) - len(digits) > 2:
                    raise ValueError("incorrect padding")
            else:
                digits = chunk
            if digits.translate(None, ALPHABET):
                raise ValueError("non-base64 digit found")
            try:
                out.append(binascii.a2b_base64(chunk))
            except binascii.Error as exc:
                raise ValueError(str(exc)) from None
        return b"".join(out)


def loads_leaving_blob(body: bytes) -> Any:
    """``json.loads(body)``, with a large ``ZipFile`` string left undecoded (a
    ``LargeBase64``; decoded like any other long string if it holds an escape)."""
    return loads_sharing_the_gil(body, _zip_file)


def loads_sharing_the_gil(
    body: bytes, blob_member: tuple[str, Callable[[LongString], Any]] | None = None
) -> Any:
    """``json.loads(body)``, called from a thread for a large body: its long strings are cut
    out and decoded in pieces (``long_strings``; ``blob_member``'s value made by its own
    function), and a body of many values is parsed by the Python decoder, which shares the
    GIL (the C decoder would hold it throughout)."""
    if len(body) >= LARGE_BODY_BYTES:
        cut = cut_long_strings(body)
        if cut is not None:
            return put_back(_loads(cut.body), cut.strings, blob_member)
    return _loads(body)


def _as_base64(text: LongString) -> Any:
    if text.body.find(b"\\", text.start, text.end) >= 0:
        return text.decode()
    return LargeBase64(memoryview(text.body)[text.start : text.end])


_zip_file = ("ZipFile", _as_base64)


def _loads(body: bytes) -> Any:
    if len(body) <= PARSE_INLINE_BYTES or body.count(b",") + body.count(b":") < DENSE_VALUES:
        return json.loads(body)
    return _PYTHON_DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


def _python_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


_PYTHON_DECODER = _python_decoder()


async def join_off_loop(pieces: list[bytes], size: int) -> bytes:
    """``b"".join(pieces)`` (``size`` bytes in all): in a thread (where the copy lets the GIL
    go) for a large body, inline otherwise."""
    if size < LARGE_BODY_BYTES:
        return b"".join(pieces)
    return await asyncio.to_thread(b"".join, pieces)


class _Parser(Protocol):
    def parse_input(
        self,
        op: Any,
        labels: dict[str, str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]: ...


async def parse_off_loop(
    model: _Parser,
    op: Any,
    labels: dict[str, str],
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> dict[str, Any]:
    """``model.parse_input``: in a thread for a large body, inline otherwise."""
    if len(body) <= PARSE_INLINE_BYTES:
        return model.parse_input(op, labels, query, headers, body)
    return await asyncio.to_thread(model.parse_input, op, labels, query, headers, body)
