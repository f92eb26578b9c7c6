"""The Lambda Runtime API (2018-06-01), one listening endpoint per environment.

A small HTTP/1.1 server on ``httptools`` (the parser uvicorn uses): keep-alive,
TCP_NODELAY, and every response written in a single ``write`` so a runtime's
round trip never waits on Nagle's algorithm. It knows nothing about processes or
logs; it forwards each call to its ``RuntimeApiHandler`` (the environment).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import dataclass, field
from typing import Protocol, cast

import httptools

PREFIX = "/2018-06-01"
# The largest response a runtime may post (RAPID's MaxPayloadSize).
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100

_INVOCATION_PATH = re.compile(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$")
_STATUS_TEXT = {
    200: b"OK",
    202: b"Accepted",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Request Entity Too Large",
    500: b"Internal Server Error",
}


@dataclass(frozen=True)
class NextEvent:
    """What ``GET /runtime/invocation/next`` hands the runtime."""

    request_id: str
    payload: bytes
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str | None = None
    client_context: str | None = None
    cognito_identity: str | None = None

    def headers(self) -> list[tuple[str, str]]:
        out = [
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.invoked_function_arn),
            ("Content-Type", "application/json"),
        ]
        if self.trace_id:
            out.append(("Lambda-Runtime-Trace-Id", self.trace_id))
        if self.client_context:
            out.append(("Lambda-Runtime-Client-Context", self.client_context))
        if self.cognito_identity:
            out.append(("Lambda-Runtime-Cognito-Identity", self.cognito_identity))
        return out


@dataclass
class ApiReply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


ACCEPTED = ApiReply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


def runtime_error(status: int, error_type: str, message: str) -> ApiReply:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return ApiReply(status, body, [("Content-Type", "application/json")])


class RuntimeApiHandler(Protocol):
    async def next_event(self) -> NextEvent | ApiReply: ...

    def post_response(self, request_id: str, body: bytes) -> ApiReply: ...

    def post_oversized_response(self, request_id: str) -> ApiReply: ...

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> ApiReply: ...

    def post_init_error(self, body: bytes, error_type: str | None) -> ApiReply: ...


class RuntimeApiServer:
    """Listens on 127.0.0.1 (an ephemeral port) for one environment's runtime."""

    def __init__(self, handler: RuntimeApiHandler) -> None:
        self.handler = handler
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _RuntimeApiProtocol(self.handler), host, port, backlog=16
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def start_on(self, sock: socket.socket) -> None:
        """Serve on a listening socket made elsewhere (inside a network namespace)."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._server = await loop.create_server(
            lambda: _RuntimeApiProtocol(self.handler), sock=sock
        )
        self.port = sock.getsockname()[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


class _RuntimeApiProtocol(asyncio.Protocol):
    def __init__(self, handler: RuntimeApiHandler) -> None:
        self.handler = handler
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_size = 0
        self._queue: list[tuple[str, str, dict[str, str], bytes, bool, bool]] = []
        self._busy = False

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._write(ApiReply(400), keep_alive=False)
        except httptools.HttpParserError:
            self._write(ApiReply(400), keep_alive=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size <= MAX_RESPONSE_BYTES + 1:
            self._body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        keep_alive = self.parser.should_keep_alive()
        path = self._url.decode("latin-1").split("?", 1)[0]
        oversized = self._body_size > MAX_RESPONSE_BYTES
        body = b"" if oversized else b"".join(self._body)
        self._queue.append((method, path, self._headers, body, keep_alive, oversized))
        if not self._busy:
            self._busy = True
            asyncio.ensure_future(self._drain())

    # request handling ----------------------------------------------------------------------
    async def _drain(self) -> None:
        try:
            while self._queue and self.transport is not None:
                method, path, headers, body, keep_alive, oversized = self._queue.pop(0)
                reply = await self._handle(method, path, headers, body, oversized)
                self._write(reply, keep_alive)
        finally:
            self._busy = False

    async def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, oversized: bool
    ) -> ApiReply:
        error_type = headers.get("lambda-runtime-function-error-type")
        if path == PREFIX + "/runtime/invocation/next":
            if method != "GET":
                return ApiReply(405)
            event = await self.handler.next_event()
            if isinstance(event, ApiReply):
                return event
            return ApiReply(200, event.payload, event.headers())
        found = _INVOCATION_PATH.match(path)
        if found:
            if method != "POST":
                return ApiReply(405)
            request_id, kind = found.groups()
            if kind == "response":
                if oversized:
                    return self.handler.post_oversized_response(request_id)
                return self.handler.post_response(request_id, body)
            return self.handler.post_error(request_id, body, error_type)
        if path == PREFIX + "/runtime/init/error":
            if method != "POST":
                return ApiReply(405)
            return self.handler.post_init_error(body, error_type)
        if path == "/ping" or path == "/2018-06-01/ping":
            return ApiReply(200, b"pong")
        return runtime_error(404, "InvalidRequest", f"Unknown path {path}")

    def _write(self, reply: ApiReply, keep_alive: bool) -> None:
        if self.transport is None:
            return
        lines = [b"HTTP/1.1 %d %s" % (reply.status, _STATUS_TEXT.get(reply.status, b"OK"))]
        for name, value in reply.headers:
            lines.append(f"{name}: {value}".encode("latin-1"))
        lines.append(b"Content-Length: %d" % len(reply.body))
        if not keep_alive:
            lines.append(b"Connection: close")
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + reply.body)
        if not keep_alive:
            self.transport.close()
