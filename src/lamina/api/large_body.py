"""Parsing a package upload without stalling everything else.

A CreateFunction, UpdateFunctionCode or PublishLayerVersion body is JSON holding one base64
string of up to ~70 MB (``ZipFile``). ``json.loads`` and ``b64decode`` of that are single C
calls that hold the GIL for hundreds of milliseconds, so even in a thread they would stall
the event loop (and every warm invocation). For a large body, ``parse_off_loop`` parses in
a thread where:

- the ``ZipFile`` string is cut out of the JSON before ``json.loads`` (a ``LargeBase64``
  stands for it in the document), so the JSON parsed is small;
- the string is decoded in 256 KB chunks (``LargeBase64.to_bytes``), letting the GIL go
  between chunks.

Anything unusual (the member twice, an escape inside the string) falls back to the plain
parse, in the same thread.

Copying tens of megabytes takes tens of milliseconds here (most of it faulting in the fresh
pages), and ``bytes(bytearray)`` holds the GIL meanwhile; ``b"".join`` of a list of ``bytes``
over a megabyte lets it go while it copies. So the body's pieces are joined in a thread
(``join_off_loop``) and the decoded chunks are joined, not converted.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import re
from typing import Any, Protocol

LARGE_BODY_BYTES = 1 << 20
CHUNK_CHARS = 1 << 18  # a multiple of 4: chunks decode independently
MEMBER = b'"ZipFile"'
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE_START = re.compile(rb'\s*:\s*"')


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
    """``json.loads(body)``, with a large ``ZipFile`` string left undecoded."""
    at = body.find(MEMBER)
    if len(body) < LARGE_BODY_BYTES or at < 0:
        return json.loads(body)
    opening = _VALUE_START.match(body, at + len(MEMBER))
    if opening is None:
        return json.loads(body)
    start = opening.end()
    end = body.find(b'"', start)
    if end < 0 or body.find(b"\\", start, end) >= 0 or body.find(MEMBER, end) >= 0:
        return json.loads(body)
    document = json.loads(body[:start] + body[end:])
    return _substitute(document, LargeBase64(memoryview(body)[start:end]))


def _substitute(value: Any, blob: LargeBase64) -> Any:
    """Put ``blob`` where the emptied ``ZipFile`` member is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "ZipFile" and item == "":
                value[key] = blob
            else:
                _substitute(item, blob)
    return value


async def join_off_loop(pieces: list[bytes]) -> bytes:
    """``b"".join(pieces)``: in a thread (where the copy lets the GIL go) for a large body,
    inline otherwise."""
    if sum(map(len, pieces)) < LARGE_BODY_BYTES:
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
    if len(body) < LARGE_BODY_BYTES:
        return model.parse_input(op, labels, query, headers, body)
    return await asyncio.to_thread(model.parse_input, op, labels, query, headers, body)
