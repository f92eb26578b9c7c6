"""HTTP/S deliveries: one POST with SNS's headers over asyncio streams (standard library
only). Bounded: the whole exchange has a timeout, the answer read is capped, and redirects
are never followed (a 3xx answer is a failed delivery), so a subscriber cannot point SNS at
any address other than its own endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

USER_AGENT = "Amazon Simple Notification Service Agent"
# AWS waits 15 s for an HTTP/S endpoint to answer.
TIMEOUT_SECONDS = 15.0
MAX_ANSWER_HEAD_BYTES = 64 * 1024


class DeliveryFailed(Exception):
    """The endpoint could not be reached, timed out or answered nonsense."""


def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


async def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float = TIMEOUT_SECONDS,
) -> int:
    """POST ``body`` to ``url``; returns the answer's status (``DeliveryFailed`` when there
    is none)."""
    try:
        return await asyncio.wait_for(_post(url, body, headers), timeout)
    except (OSError, asyncio.TimeoutError, ValueError, ssl.SSLError) as exc:
        raise DeliveryFailed(str(exc) or type(exc).__name__) from None


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an HTTP/S URL: {url}")
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    reader, writer = await asyncio.open_connection(
        parts.hostname,
        port,
        ssl=_ssl_context() if secure else None,
        server_hostname=parts.hostname if secure else None,
        limit=MAX_ANSWER_HEAD_BYTES,
    )
    try:
        host = parts.netloc.rpartition("@")[2]
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {host}",
            f"User-Agent: {USER_AGENT}",
            "Accept-Encoding: gzip,deflate",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
        fields = status_line.split()
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
            raise ValueError("the endpoint's answer is not HTTP")
        return int(fields[1])
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
