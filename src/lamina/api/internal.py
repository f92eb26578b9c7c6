"""Lamina's own endpoints under ``/_lamina/``: code download (``Code.Location``), health,
metrics (``GET /_lamina/metrics[?function=NAME]``, Prometheus text; docs/metrics.md), the
schedules' clock (``/_lamina/clock[?advance=SECONDS]``; docs/schedules.md) and the
asynchronous queue (``GET /_lamina/async[?function=NAME][&retained=1]``, JSON; docs/async.md).

A code URL is signed with the server's secret and expires after ten minutes, like
the presigned S3 URL AWS returns. The package is sent in pieces read in a thread: reading
70 MB at once on the event loop would hold up every invocation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO, Protocol

from lamina.api.endpoints import StreamingBody
from lamina.store.code import CodeStore

CODE_URL_TTL = 600
DOWNLOAD_PIECE_BYTES = 1 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
RawHandler = Callable[[str, dict[str, list[str]], dict[str, str], bytes], Awaitable[Reply]]


class CodeLinks:
    def __init__(self, base_url: str, secret: bytes, code: CodeStore) -> None:
        self.base_url = base_url
        self.secret = secret
        self.code = code

    def _signature(self, sha: str, expires: int) -> str:
        return hmac.new(self.secret, f"{sha}:{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, sha: str) -> str:
        expires = int(time.time()) + CODE_URL_TTL
        return (
            f"{self.base_url}/_lamina/code/{sha}.zip"
            f"?Expires={expires}&Signature={self._signature(sha, expires)}"
        )

    async def serve(
        self, rest: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        sha = rest.removesuffix(".zip")
        expires_text = query.get("Expires", ["0"])[0]
        signature = query.get("Signature", [""])[0]
        expires = int(expires_text) if expires_text.isdigit() else 0
        if (
            not _SHA.match(sha)
            or expires < time.time()
            or not hmac.compare_digest(signature, self._signature(sha, expires))
        ):
            return 403, [(b"content-type", b"text/plain")], b"AccessDenied"
        try:
            package = self.code.zip_path(sha).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return 404, [(b"content-type", b"text/plain")], b"NoSuchKey"
        size = os.fstat(package.fileno()).st_size
        answer = [(b"content-type", b"application/zip"), (b"content-length", str(size).encode())]
        return 200, answer, StreamingBody.of(lambda: _pieces(package))


async def _pieces(package: BinaryIO) -> AsyncIterator[bytes]:
    """A file's content, read in a thread a piece at a time; closed at the end."""
    with package:
        while piece := await asyncio.to_thread(package.read, DOWNLOAD_PIECE_BYTES):
            yield piece


async def health(
    rest: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
) -> Reply:
    return 200, [(b"content-type", b"application/json")], b'{"status":"ok"}'


def metrics_endpoint(render: Callable[[str | None], str], content_type: str) -> RawHandler:
    """``GET /_lamina/metrics``: the exposition text (``?function=NAME`` keeps one function's
    series; the account-wide families stay complete)."""

    async def serve(
        rest: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if rest:
            return 404, [(b"content-type", b"text/plain")], b"NotFound"
        function = query.get("function", [""])[0] or None
        text = render(function)
        return 200, [(b"content-type", content_type.encode())], text.encode()

    return serve


def async_endpoint(snapshot: Callable[[str | None, bool], dict[str, Any]]) -> RawHandler:
    """``GET /_lamina/async``: the asynchronous queue per function (pending, in flight,
    retrying, counters); ``?function=NAME`` keeps one; ``?retained=1`` adds the retained
    items (dead letters, records for destinations Lamina cannot reach yet)."""

    async def serve(
        rest: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if rest:
            return 404, [(b"content-type", b"text/plain")], b"NotFound"
        function = query.get("function", [""])[0] or None
        retained = query.get("retained", [""])[0] in ("1", "true", "yes")
        data = json.dumps(snapshot(function, retained)).encode()
        return 200, [(b"content-type", b"application/json")], data

    return serve


class AdvanceableClock(Protocol):
    """What ``/_lamina/clock`` needs of the schedules' clock (services/schedules/clock.py)."""

    offset: float

    def timestamp(self) -> float: ...

    async def advance(self, seconds: float) -> None: ...


def clock_endpoint(clock: AdvanceableClock) -> RawHandler:
    """``/_lamina/clock``: the schedules' clock as JSON (``now``: epoch seconds, ``offset``:
    seconds ahead of the wall clock); ``/_lamina/clock?advance=<seconds>`` moves it forward
    and answers once every schedule that became due has fired (docs/schedules.md). Internal
    handlers do not see the HTTP method: any method (``GET`` or ``POST``) reads the clock,
    and any method with ``advance`` advances it. A bad ``advance`` answers 400."""

    async def serve(
        rest: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if rest:
            return 404, [(b"content-type", b"text/plain")], b"NotFound"
        advance = query.get("advance", [None])[0]
        if advance is not None:
            try:
                await clock.advance(float(advance))
            except ValueError as exc:
                return 400, [(b"content-type", b"text/plain")], str(exc).encode()
        data = json.dumps({"now": clock.timestamp(), "offset": clock.offset}).encode()
        return 200, [(b"content-type", b"application/json")], data

    return serve
