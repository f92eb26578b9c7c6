"""RESPONSE_STREAM URLs: the HTTP prelude a function writes before its body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from lamina.services.url_streaming import MAX_PRELUDE_BYTES, _prelude_head, _read_prelude


async def pieces(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def read(*chunks: bytes) -> tuple[int, list[tuple[str, str]], bytes] | None:
    parsed = asyncio.run(_read_prelude(pieces(*chunks)))
    if parsed is None:
        return None
    head, rest = parsed
    return head.status, head.headers, rest


def test_the_prelude_gives_status_headers_cookies_and_the_first_body_bytes() -> None:
    prelude = b'{"statusCode":201,"headers":{"Content-Type":"text/html","X-N":3},"cookies":["a=1"]}'
    assert read(prelude[:10], prelude[10:] + b"\0" * 8 + b"<p>", b"more") == (
        201,
        [("content-type", "text/html"), ("x-n", "3"), ("set-cookie", "a=1")],
        b"<p>",
    )


def test_the_nul_bytes_may_span_chunks() -> None:
    assert read(b"{}\0\0\0", b"\0\0\0\0\0body") == (
        200,
        [("content-type", "application/octet-stream")],
        b"body",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1]",
        b'{"statusCode":"200"}',
        b'{"statusCode":99}',
        b'{"statusCode":true}',
        b'{"headers":[]}',
        b'{"cookies":"a=1"}',
    ],
)
def test_a_malformed_prelude_is_refused(raw: bytes) -> None:
    assert _prelude_head(raw) is None


def test_a_prelude_without_its_end_is_refused() -> None:
    assert read(b'{"statusCode":200}') is None
    assert read(b"{" + b" " * MAX_PRELUDE_BYTES, b"}") is None
