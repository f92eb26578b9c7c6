"""HTTP/S deliveries' client: what it sends, that it never follows a redirect, and that a
silent endpoint costs at most the timeout."""

from __future__ import annotations

import asyncio

import pytest

from lamina.services.sns.http_delivery import USER_AGENT, DeliveryFailed, post


async def _serve(answer: bytes | None) -> tuple[asyncio.Server, list[bytes]]:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        received.append(head + await reader.readexactly(length))
        if answer is None:
            await asyncio.sleep(10)  # never answers
        else:
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, received


def test_posts_with_snss_headers_and_never_follows_redirects() -> None:
    async def run() -> None:
        server, received = await _serve(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            status = await post(
                f"http://127.0.0.1:{port}/hook?x=1",
                b'{"a": 1}',
                {"x-amz-sns-message-type": "Notification"},
            )
        assert status == 302
        [request] = received
        assert request.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
        assert f"User-Agent: {USER_AGENT}".encode() in request
        assert b"x-amz-sns-message-type: Notification" in request
        assert request.endswith(b'{"a": 1}')

    asyncio.run(run())


def test_a_silent_endpoint_fails_after_the_timeout() -> None:
    async def run() -> None:
        server, _ = await _serve(None)
        port = server.sockets[0].getsockname()[1]
        async with server:
            started = asyncio.get_running_loop().time()
            with pytest.raises(DeliveryFailed):
                await post(f"http://127.0.0.1:{port}/", b"x", {}, timeout=0.3)
            assert asyncio.get_running_loop().time() - started < 2

    asyncio.run(run())


def test_unreachable_and_malformed_endpoints_fail() -> None:
    async def run() -> None:
        with pytest.raises(DeliveryFailed):
            await post("http://127.0.0.1:1/", b"x", {}, timeout=2)
        with pytest.raises(DeliveryFailed):
            await post("ftp://example.com/", b"x", {}, timeout=2)

    asyncio.run(run())
