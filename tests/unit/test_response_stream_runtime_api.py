"""Streamed responses on the Runtime API: chunks forwarded as they arrive, trailers, the
mode header, truncation, back-pressure, and the buffered path left as it was."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import Awaitable, Callable

from lamina.runtime.response_stream import ResponseStream
from lamina.runtime.runtime_api import ACCEPTED, ApiReply, NextEvent, RuntimeApiServer

RESPONSE = b"/2018-06-01/runtime/invocation/req-1/response"
HEAD = (
    b"POST " + RESPONSE + b" HTTP/1.1\r\nHost: x\r\n"
    b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
    b"Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class StreamingStandIn:
    """Records the streamed responses the server reports."""

    def __init__(self, high_water: int = 256 * 1024) -> None:
        self.stream = ResponseStream(high_water=high_water, low_water=high_water // 4)
        self.begun: list[tuple[str, str | None]] = []
        self.ended: list[tuple[str, str | None, bytes]] = []
        self.rejected: list[str] = []
        self.responses: list[bytes] = []

    async def next_event(self) -> NextEvent | ApiReply:
        return ApiReply(200, b"{}")

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

    def begin_stream(self, request_id: str, content_type: str | None) -> ResponseStream | ApiReply:
        if request_id != "req-1":
            return ApiReply(400, b"unknown")
        self.begun.append((request_id, content_type))
        self.stream.begin(content_type)
        return self.stream

    def end_stream(self, request_id: str, error_type: str | None, error_body: bytes) -> ApiReply:
        self.ended.append((request_id, error_type, error_body))
        self.stream.end()
        return ACCEPTED

    def reject_response_mode(self, request_id: str, mode: str) -> ApiReply:
        self.rejected.append(mode)
        return ApiReply(400, b"bad mode")


Scenario = Callable[[RuntimeApiServer, StreamingStandIn], Awaitable[None]]


def serve(scenario: Scenario, stand_in: StreamingStandIn | None = None) -> StreamingStandIn:
    stand_in = stand_in or StreamingStandIn()

    async def main() -> None:
        server = RuntimeApiServer(stand_in)
        await server.start()
        try:
            await scenario(server, stand_in)
        finally:
            server.close()

    asyncio.run(main())
    return stand_in


def connect(server: RuntimeApiServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.to_thread(sock.sendall, data)


async def reply_of(sock: socket.socket) -> bytes:
    return await asyncio.to_thread(sock.recv, 65536)


def test_each_chunk_reaches_the_stream_before_the_request_ends() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        chunks = stand_in.stream.chunks()
        with connect(server) as sock:
            await send(sock, HEAD + chunk(b"first"))
            assert await asyncio.wait_for(chunks.__anext__(), 2) == b"first"
            assert stand_in.begun == [("req-1", "text/plain")]
            assert stand_in.ended == []
            await send(sock, chunk(b"second"))
            assert await asyncio.wait_for(chunks.__anext__(), 2) == b"second"
            await send(sock, b"0\r\n\r\n")
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 202 ")
        assert stand_in.ended == [("req-1", None, b"")]

    serve(scenario)


def test_error_trailers_end_the_stream_with_the_decoded_error() -> None:
    document = json.dumps({"errorMessage": "late", "errorType": "Custom.Late"}).encode()

    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            await send(
                sock,
                HEAD
                + chunk(b"partial")
                + b"0\r\nLambda-Runtime-Function-Error-Type: Custom.Late\r\n"
                + b"Lambda-Runtime-Function-Error-Body: "
                + base64.b64encode(document)
                + b"\r\n\r\n",
            )
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 202 ")
        assert stand_in.ended == [("req-1", "Custom.Late", document)]

    serve(scenario)


def test_an_undecodable_error_body_still_names_the_error_type() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            await send(
                sock,
                HEAD + b"0\r\nLambda-Runtime-Function-Error-Type: X.Y\r\n"
                b"Lambda-Runtime-Function-Error-Body: %%%\r\n\r\n",
            )
            await reply_of(sock)
        assert stand_in.ended == [("req-1", "X.Y", b'{"errorType": "X.Y", "errorMessage": ""}')]

    serve(scenario)


def test_an_unknown_response_mode_is_refused() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            head = HEAD.replace(b"Mode: streaming", b"Mode: sideways")
            await send(sock, head + chunk(b"ignored") + b"0\r\n\r\n")
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 400 ")
        assert stand_in.rejected == ["sideways"]
        assert stand_in.begun == []

    serve(scenario)


def test_an_unknown_request_id_is_answered_with_the_handlers_error() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            head = HEAD.replace(b"req-1", b"req-2")
            await send(sock, head + chunk(b"ignored") + b"0\r\n\r\n")
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 400 ")
        assert stand_in.ended == []

    serve(scenario)


def test_a_connection_lost_mid_stream_truncates_it() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            await send(sock, HEAD + chunk(b"half"))
            await asyncio.sleep(0.05)
        for _ in range(100):
            if stand_in.ended:
                break
            await asyncio.sleep(0.01)
        ((request_id, error_type, body),) = stand_in.ended
        assert (request_id, error_type) == ("req-1", "Runtime.TruncatedResponse")
        assert json.loads(body)["errorType"] == "Runtime.TruncatedResponse"

    serve(scenario)


def test_a_slow_reader_stops_the_server_reading_from_the_runtime() -> None:
    stand_in = StreamingStandIn(high_water=64 * 1024)
    block = chunk(b"b" * 65536)
    blocks = 300  # ~19 MiB

    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)

            def write_all() -> None:
                sock.sendall(HEAD)
                for _ in range(blocks):
                    sock.sendall(block)
                sock.sendall(b"0\r\n\r\n")

            writer = asyncio.ensure_future(asyncio.to_thread(write_all))
            await asyncio.sleep(0.5)
            # Nobody reads: what the server took is bounded (high water plus a read or two),
            # and the runtime's writes are held back.
            assert stand_in.stream.total < 2 * 1024 * 1024, stand_in.stream.total
            assert not writer.done()
            received = 0
            started = time.monotonic()
            async for piece in stand_in.stream.chunks():
                received += len(piece)
            assert received == blocks * 65536
            assert time.monotonic() - started < 20
            await writer
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 202 ")

    serve(scenario, stand_in)


def test_the_buffered_path_is_unchanged() -> None:
    async def scenario(server: RuntimeApiServer, stand_in: StreamingStandIn) -> None:
        with connect(server) as sock:
            body = b'{"ok":true}'
            await send(
                sock,
                b"POST " + RESPONSE + b" HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
            )
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 202 ")
            # A chunked body without the mode header is a buffered response too.
            await send(
                sock,
                b"POST "
                + RESPONSE
                + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunk(b"a")
                + chunk(b"b")
                + b"0\r\n\r\n",
            )
            assert (await reply_of(sock)).startswith(b"HTTP/1.1 202 ")
        assert stand_in.responses == [b'{"ok":true}', b"ab"]
        assert stand_in.begun == []

    serve(scenario)
