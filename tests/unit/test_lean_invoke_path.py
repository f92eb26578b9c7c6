"""The lean parts of the warm invoke path: the Runtime API answering without tasks, the
edge writing each response at once, and the environment's deferred freeze."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from lamina.api.http_protocol import _OneWrite
from lamina.runtime.runtime_api import ACCEPTED, ApiReply, NextEvent, RuntimeApiServer

NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n"
PING = b"GET /2018-06-01/ping HTTP/1.1\r\n\r\n"


class ImmediateStandIn:
    """An environment that answers /next without a task (``next_event_now``)."""

    def __init__(self) -> None:
        self.deliver: Callable[[NextEvent | ApiReply], None] | None = None
        self.responses: list[bytes] = []

    async def next_event(self) -> NextEvent | ApiReply:
        raise AssertionError("the task path is not taken")

    def next_event_now(
        self, deliver: Callable[[NextEvent | ApiReply], None]
    ) -> NextEvent | ApiReply | None:
        self.deliver = deliver
        return None

    def post_response(self, request_id: str, body: bytes) -> ApiReply:
        self.responses.append(body)
        return ACCEPTED

    def post_oversized_response(self, request_id: str) -> ApiReply:
        return ApiReply(413)

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> ApiReply:
        return ACCEPTED

    def post_init_error(self, body: bytes, error_type: str | None) -> ApiReply:
        return ACCEPTED

    def runtime_api_abused(self, reason: str) -> None:
        raise AssertionError(reason)


async def _recv(sock: socket.socket, marker: bytes, count: int = 1) -> bytes:
    received = b""
    while received.count(marker) < count:
        data = await asyncio.to_thread(sock.recv, 65536)
        if not data:
            break
        received += data
    return received


def test_next_waits_without_a_task_and_what_follows_is_answered_after_it() -> None:
    async def main() -> None:
        stand_in = ImmediateStandIn()
        server = RuntimeApiServer(stand_in)
        await server.start()
        try:
            assert server.immediate is stand_in
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(NEXT)
            for _ in range(100):
                if stand_in.deliver is not None:
                    break
                await asyncio.sleep(0.01)
            assert stand_in.deliver is not None
            # Sent while /next waits: answered after it, in order.
            sock.sendall(PING)
            await asyncio.sleep(0.05)
            event = NextEvent("rid-1", b'{"x": 1}', 123, "arn:aws:lambda:fn")
            stand_in.deliver(event)
            reply = await _recv(sock, b"HTTP/1.1 ", 2)
            first, second = reply.split(b"HTTP/1.1 ")[1:]
            assert first.startswith(b"200 OK") and b"Lambda-Runtime-Aws-Request-Id: rid-1" in first
            assert first.endswith(b'{"x": 1}')
            assert second.startswith(b"200 OK") and second.endswith(b"pong")
            # A response is answered at once.
            body = b'{"ok": true}'
            sock.sendall(
                b"POST /2018-06-01/runtime/invocation/rid-1/response HTTP/1.1\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body
            )
            assert (await _recv(sock, b"}")).startswith(b"HTTP/1.1 202 Accepted")
            assert stand_in.responses == [body]
            sock.close()
        finally:
            server.close()

    asyncio.run(main())


def test_a_response_202_goes_out_with_the_next_event_when_next_follows_it() -> None:
    """POST response and GET /next in one write: the 202 is held back and written with the
    next event, in one write; a POST alone is answered at once."""

    async def main() -> None:
        stand_in = ImmediateStandIn()
        server = RuntimeApiServer(stand_in)
        await server.start()
        try:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(NEXT)
            for _ in range(100):
                if stand_in.deliver is not None:
                    break
                await asyncio.sleep(0.01)
            assert stand_in.deliver is not None
            stand_in.deliver(NextEvent("rid-1", b"{}", 123, "arn:aws:lambda:fn"))
            assert b"rid-1" in await _recv(sock, b"{}")
            deliver_first, stand_in.deliver = stand_in.deliver, None
            body = b'{"ok": 1}'
            sock.sendall(
                b"POST /2018-06-01/runtime/invocation/rid-1/response HTTP/1.1\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body + NEXT
            )
            for _ in range(100):
                if stand_in.deliver is not None:
                    break
                await asyncio.sleep(0.01)
            assert stand_in.deliver is not None and stand_in.deliver is not deliver_first
            assert stand_in.responses == [body]
            sock.setblocking(False)
            try:
                early = sock.recv(65536)
            except BlockingIOError:
                early = b""
            assert early == b""  # the 202 waits for the event
            sock.setblocking(True)
            stand_in.deliver(NextEvent("rid-2", b'{"n": 2}', 456, "arn:aws:lambda:fn"))
            both = await _recv(sock, b'{"n": 2}')
            accepted, event = both.split(b"HTTP/1.1 ")[1:]
            assert accepted.startswith(b"202 Accepted") and accepted.endswith(b'{"status":"OK"}')
            assert event.startswith(b"200 OK") and b"Lambda-Runtime-Aws-Request-Id: rid-2" in event
            assert b"Lambda-Runtime-Deadline-Ms: 456\r\n" in event
            # A POST alone (no /next behind it) is answered at once.
            sock.sendall(
                b"POST /2018-06-01/runtime/invocation/rid-2/response HTTP/1.1\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body
            )
            assert (await _recv(sock, b"}")).startswith(b"HTTP/1.1 202 Accepted")
            sock.close()
        finally:
            server.close()

    asyncio.run(main())


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_one_write_holds_the_head_until_the_body() -> None:
    transport = _Transport()
    cycle = SimpleNamespace(response_started=False)
    one = _OneWrite(cast(Any, transport), cast(Any, cycle))
    one.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # before the response: at once
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    cycle.response_started = True
    one.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert len(transport.writes) == 1
    one.write(b"ok")
    assert transport.writes[1] == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    one.write(b"more")  # anything after goes straight through
    assert transport.writes[2] == b"more"


def test_one_write_flushes_the_head_on_close() -> None:
    transport = _Transport()
    one = _OneWrite(cast(Any, transport), cast(Any, SimpleNamespace(response_started=True)))
    one.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    one.close()
    assert transport.writes == [b"HTTP/1.1 500 Internal Server Error\r\n\r\n"]
    assert transport.closed


def test_one_write_does_not_copy_a_large_body_to_join_it() -> None:
    transport = _Transport()
    one = _OneWrite(cast(Any, transport), cast(Any, SimpleNamespace(response_started=True)))
    body = b"x" * (1024 * 1024)
    one.write(b"HTTP/1.1 200 OK\r\n\r\n")
    one.write(body)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n", body]
