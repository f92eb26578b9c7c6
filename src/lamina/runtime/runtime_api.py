"""The Lambda Runtime API (2018-06-01), one listening endpoint per environment.

A small HTTP/1.1 server on ``httptools`` (the parser uvicorn uses): keep-alive,
TCP_NODELAY, and every response written in a single ``write`` so a runtime's
round trip never waits on Nagle's algorithm. It knows nothing about processes or
logs; it forwards each call to its ``RuntimeApiHandler`` (the environment).

It is bounded (``RuntimeApiLimits``, docs/invocation.md "Runtime API limits"): the
URL, headers and body have maximum sizes, each connection has one request
handled at a time while reading from it stops (back-pressure: a runtime that sends
faster waits on its full socket), and an environment has a few connections at most.
A runtime that breaks a limit is reported to the handler, which stops the environment,
and its connections are dropped at once, so nothing it sends afterwards is parsed.

When other processes can reach the listener (``--function-network host``), a connection
is served only once its peer socket is shown to belong to the environment's runtime
(``check_peers`` / ``admit_peers``, see ``peer.py``): checked once per connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast, runtime_checkable

import httptools

from lamina.runtime.peer import PeerSocket, peer_socket

log = logging.getLogger("lamina.runtime_api")

PREFIX = "/2018-06-01"
_NEXT_PATH = PREFIX + "/runtime/invocation/next"
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
class RuntimeApiLimits:
    """What one environment's runtime may send. Breaking any of them costs the runtime its
    environment, except ``body_bytes``: a larger body is read and thrown away, and a
    response that large answers 413 (``Function.ResponseSizeTooLarge``), as on AWS."""

    url_bytes: int = 8 * 1024
    # The request line (URL included) and every header together.
    head_bytes: int = 64 * 1024
    header_count: int = 100
    body_bytes: int = MAX_RESPONSE_BYTES
    # A body beyond this is no oversized response but a flood.
    discarded_body_bytes: int = 64 * 1024 * 1024
    # Complete requests waiting behind the one being handled on a connection.
    pipelined: int = 4
    # Connections of the runtime open at once.
    connections: int = 16
    # Connections not yet shown to be the runtime's (host network), on top.
    unverified_connections: int = 16


class LimitExceeded(Exception):
    """The runtime broke a Runtime API limit; the message says which."""


# Bytes a connection may send while its request is handled before reading from it stops.
HELD_BYTES = 64 * 1024

# Whether a peer socket belongs to the environment's runtime (it runs off the event loop).
PeerCheck = Callable[[PeerSocket], bool]


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
_ACCEPTED_BYTES = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
    b'{"status":"OK"}'
)


def runtime_error(status: int, error_type: str, message: str) -> ApiReply:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return ApiReply(status, body, [("Content-Type", "application/json")])


FOREIGN_PEER = runtime_error(
    403, "AccessDeniedException", "This Runtime API serves only its own environment's runtime"
)


class RuntimeApiHandler(Protocol):
    async def next_event(self) -> NextEvent | ApiReply: ...

    def post_response(self, request_id: str, body: bytes) -> ApiReply: ...

    def post_oversized_response(self, request_id: str) -> ApiReply: ...

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> ApiReply: ...

    def post_init_error(self, body: bytes, error_type: str | None) -> ApiReply: ...

    def runtime_api_abused(self, reason: str) -> None:
        """The runtime broke a Runtime API limit (``reason`` says which): stop it."""
        ...


@runtime_checkable
class ImmediateNextHandler(RuntimeApiHandler, Protocol):
    """A handler that can answer ``/next`` without a task: the connection writes the event
    the moment it exists (one event-loop turn and one task fewer per invocation)."""

    def next_event_now(
        self, deliver: Callable[[NextEvent | ApiReply], None]
    ) -> NextEvent | ApiReply | None:
        """The reply to ``GET /next`` when there is one now; else None, and ``deliver`` is
        called once with it later (on the event loop), or never if the environment ends
        first. At most one ``deliver`` is pending."""
        ...


def next_reply(event: NextEvent | ApiReply) -> ApiReply:
    """The HTTP reply to ``GET /next``."""
    if isinstance(event, ApiReply):
        return event
    return ApiReply(200, event.payload, event.headers())


def reply_bytes(reply: ApiReply, keep_alive: bool) -> bytes:
    """A reply as it goes on the wire."""
    if reply is ACCEPTED and keep_alive:
        return _ACCEPTED_BYTES
    lines = [b"HTTP/1.1 %d %s" % (reply.status, _STATUS_TEXT.get(reply.status, b"OK"))]
    for name, value in reply.headers:
        lines.append(f"{name}: {value}".encode("latin-1"))
    lines.append(b"Content-Length: %d" % len(reply.body))
    if not keep_alive:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + reply.body


def event_bytes(event: NextEvent | ApiReply, keep_alive: bool) -> bytes:
    """The reply to ``GET /next`` as it goes on the wire (an event's head is formatted in one
    step: it is written once per invocation)."""
    if isinstance(event, ApiReply) or not keep_alive:
        return reply_bytes(next_reply(event), keep_alive)
    optional = ""
    if event.trace_id:
        optional += f"Lambda-Runtime-Trace-Id: {event.trace_id}\r\n"
    if event.client_context:
        optional += f"Lambda-Runtime-Client-Context: {event.client_context}\r\n"
    if event.cognito_identity:
        optional += f"Lambda-Runtime-Cognito-Identity: {event.cognito_identity}\r\n"
    head = (
        f"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {event.request_id}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {event.deadline_ms}\r\n"
        f"Lambda-Runtime-Invoked-Function-Arn: {event.invoked_function_arn}\r\n"
        f"Content-Type: application/json\r\n{optional}"
        f"Content-Length: {len(event.payload)}\r\n\r\n"
    )
    return head.encode("latin-1") + event.payload


@dataclass(slots=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool
    oversized: bool


class RuntimeApiServer:
    """Listens on 127.0.0.1 (an ephemeral port) for one environment's runtime."""

    def __init__(self, handler: RuntimeApiHandler, limits: RuntimeApiLimits | None = None) -> None:
        self.handler = handler
        # The handler's immediate /next, when it has one.
        self.immediate: ImmediateNextHandler | None = (
            handler if isinstance(handler, ImmediateNextHandler) else None
        )
        self.limits = limits or RuntimeApiLimits()
        self._server: asyncio.AbstractServer | None = None
        self._shut = False
        self.port = 0
        self._connections: set[_RuntimeApiConnection] = set()
        self._admitted = 0
        self._refusals = 0
        # Set by check_peers: settled with the check once the runtime is known.
        self._peer_check: asyncio.Future[PeerCheck | None] | None = None
        # Why the runtime lost its environment, once it broke a limit.
        self.broken: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _RuntimeApiConnection(self), host, port, backlog=16
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def start_on(self, sock: socket.socket) -> None:
        """Serve on a listening socket made elsewhere (inside a network namespace)."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._server = await loop.create_server(lambda: _RuntimeApiConnection(self), sock=sock)
        self.port = sock.getsockname()[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def check_peers(self) -> None:
        """Other processes can reach this listener: serve a connection only once its peer
        socket passes the check that ``admit_peers`` gives (connections wait until then)."""
        if self._peer_check is None:
            self._peer_check = asyncio.get_running_loop().create_future()

    def admit_peers(self, check: PeerCheck | None) -> None:
        """The runtime is known: its connections are those that pass ``check`` (None: the
        runtime cannot be told from other processes, every connection is served)."""
        if self._peer_check is not None and not self._peer_check.done():
            self._peer_check.set_result(check)

    def close(self) -> None:
        self._shut = True
        if self._server is not None:
            self._server.close()
            self._server = None
        self.admit_peers(_nobody)
        for connection in list(self._connections):
            connection.abort()

    # connections ---------------------------------------------------------------------------

    def connection_opened(self, connection: _RuntimeApiConnection) -> None:
        unverified = len(self._connections) - self._admitted
        if self.broken is not None or self._shut:
            connection.abort()
            return
        self._connections.add(connection)
        if self._peer_check is None:
            self._admit(connection)
        elif unverified >= self.limits.unverified_connections:
            self.note_refusal("too many connections not yet shown to be the runtime's")
            connection.abort()
        else:
            connection.verdict = asyncio.ensure_future(self._verify(connection))

    def _admit(self, connection: _RuntimeApiConnection) -> None:
        connection.admitted = True
        self._admitted += 1
        if self._admitted > self.limits.connections:
            self.limit_broken(f"more than {self.limits.connections} connections")

    async def _verify(self, connection: _RuntimeApiConnection) -> bool:
        assert self._peer_check is not None
        check = await asyncio.shield(self._peer_check)
        ours = connection.local, connection.remote
        if check is not None and not await asyncio.to_thread(_passes, check, *ours):
            host, port = connection.remote
            self.note_refusal(f"refused {host}:{port}: not this environment's runtime")
            connection.refuse()
            return False
        if connection.transport is None:
            return False
        self._admit(connection)
        return True

    def note_refusal(self, what: str) -> None:
        """Log a connection turned away: the 1st, 2nd, 4th, 8th... (other processes can
        make many; the log must not grow with them)."""
        self._refusals += 1
        if self._refusals & (self._refusals - 1) == 0:
            log.warning("Runtime API on port %d %s (%d so far)", self.port, what, self._refusals)

    def connection_ended(self, connection: _RuntimeApiConnection) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            if connection.admitted:
                self._admitted -= 1

    def limit_broken(self, reason: str) -> None:
        """The runtime broke a limit: drop every connection and tell the handler (once)."""
        if self.broken is not None:
            return
        self.broken = reason
        for connection in list(self._connections):
            connection.abort()
        self.handler.runtime_api_abused(reason)

    # requests --------------------------------------------------------------------------------

    async def dispatch(self, request: _Request) -> ApiReply:
        reply = self.dispatch_now(request)
        if reply is not None:
            return reply
        return next_reply(await self.handler.next_event())

    def dispatch_now(self, request: _Request) -> ApiReply | None:
        """The reply to every request but ``GET /next`` (None: it waits for an event)."""
        method, path, handler = request.method, request.path, self.handler
        if path == _NEXT_PATH:
            return None if method == "GET" else ApiReply(405)
        error_type = request.headers.get("lambda-runtime-function-error-type")
        found = _INVOCATION_PATH.match(path)
        if found:
            if method != "POST":
                return ApiReply(405)
            request_id, kind = found.groups()
            if kind == "response":
                if request.oversized:
                    return handler.post_oversized_response(request_id)
                return handler.post_response(request_id, request.body)
            return handler.post_error(request_id, request.body, error_type)
        if path == PREFIX + "/runtime/init/error":
            if method != "POST":
                return ApiReply(405)
            return handler.post_init_error(request.body, error_type)
        if path == "/ping" or path == PREFIX + "/ping":
            return ApiReply(200, b"pong")
        return runtime_error(404, "InvalidRequest", f"Unknown path {path}")


def _nobody(peer: PeerSocket) -> bool:
    return False


def _passes(check: PeerCheck, local: tuple[str, int], remote: tuple[str, int]) -> bool:
    try:
        peer = peer_socket(local, remote)
        return peer is not None and check(peer)
    except Exception:
        log.exception("Runtime API: could not tell whose connection %s:%d is", *remote)
        return False


class _RuntimeApiConnection(asyncio.Protocol):
    """One connection: parses within the limits, handles one request at a time."""

    def __init__(self, server: RuntimeApiServer) -> None:
        self.server = server
        self.limits = server.limits
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.local: tuple[str, int] = ("", 0)
        self.remote: tuple[str, int] = ("", 0)
        self.admitted = False
        self.verdict: asyncio.Future[bool] | None = None
        self._closing = False
        # The runtime does not read its replies (the transport's buffer is full): read no
        # more requests until it does.
        self._write_paused = False
        # What arrives while a request is handled waits here, unparsed; past
        # HELD_BYTES, or while the replies back up, reading stops. (Reading goes on below
        # that, so a runtime closing the connection during a long /next is noticed.)
        self._reading_paused = False
        self._held = b""
        self._pending: deque[_Request] = deque()
        self._serving: asyncio.Task[None] | None = None
        # A /next answered without a task, while its event is awaited: the request.
        self._awaiting: _Request | None = None
        # A 202 held back to go out with the reply to the /next behind it (``_send``).
        self._unsent = b""
        # The request being parsed.
        self._in_head = True
        self._head_size = 0
        self._url = bytearray()
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_size = 0

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.local = sock.getsockname()
            self.remote = sock.getpeername()
        self.server.connection_opened(self)

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self._closing:
            return
        if self._serving is not None or self._awaiting is not None or self._write_paused:
            # One request at a time: the runtime's next bytes wait until it is answered.
            self._held += data
            if len(self._held) >= HELD_BYTES or self._write_paused:
                self._pause_reading()
            return
        self._parse(data)

    def _parse(self, data: bytes) -> None:
        try:
            self._feed(data)
            self._handle()
        except LimitExceeded as exc:
            self._violated(str(exc))
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, LimitExceeded):
                raise
            self._violated(str(exc.__context__))
        except (httptools.HttpParserUpgrade, httptools.HttpParserError):
            if self._serving is None and self._awaiting is None and not self._pending:
                self._write(ApiReply(400), keep_alive=False)
            else:
                self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server.connection_ended(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._read_on()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _read_on(self) -> None:
        """Nothing in flight and the replies flow: parse what was held back, read again."""
        if self._serving is not None or self._awaiting is not None:
            return
        if self._write_paused or self._closing:
            return
        held, self._held = self._held, b""
        if held:
            self._parse(held)
            if self._serving is not None or self._awaiting is not None or self._closing:
                return
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    def abort(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.abort()

    def refuse(self) -> None:
        """Not the runtime's: answer 403 (whatever it asked) and close."""
        self._pending.clear()
        self._write(FOREIGN_PEER, keep_alive=False)

    def _violated(self, reason: str) -> None:
        self.abort()
        if self.admitted:
            self.server.limit_broken(reason)
        else:
            self.server.note_refusal(f"dropped a connection not yet admitted ({reason})")

    def _feed(self, data: bytes) -> None:
        """Feed the parser; while in a request's head, never more than its limit (the
        parser keeps a partial header in memory)."""
        limit = self.limits.head_bytes
        while data and not self._closing:
            if not self._in_head:
                self.parser.feed_data(data)
                return
            room = limit + 1 - self._head_size
            rest = b""
            if len(data) > room:
                data, rest = data[:room], data[room:]
            self._head_size += len(data)
            self.parser.feed_data(data)
            if self._in_head and self._head_size > limit:
                raise LimitExceeded(f"request headers over {limit} bytes")
            data = rest

    # httptools callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = bytearray()
        self._headers = {}
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        if len(self._url) + len(url) > self.limits.url_bytes:
            raise LimitExceeded(f"request URL over {self.limits.url_bytes} bytes")
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) >= self.limits.header_count:
            raise LimitExceeded(f"more than {self.limits.header_count} headers")
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._in_head = False
        declared = self._headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.discarded_body_bytes:
            raise LimitExceeded(f"request body over {self.limits.discarded_body_bytes} bytes")

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size <= self.limits.body_bytes:
            self._body.append(body)
        elif self._body_size > self.limits.discarded_body_bytes:
            raise LimitExceeded(f"request body over {self.limits.discarded_body_bytes} bytes")

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_size = 0
        oversized = self._body_size > self.limits.body_bytes
        self._pending.append(
            _Request(
                method=self.parser.get_method().decode(),
                path=self._url.decode("latin-1").split("?", 1)[0],
                headers=self._headers,
                body=b"" if oversized else b"".join(self._body),
                keep_alive=self.parser.should_keep_alive(),
                oversized=oversized,
            )
        )
        self._body = []
        if len(self._pending) > self.limits.pipelined:
            raise LimitExceeded(f"more than {self.limits.pipelined} pipelined requests")
        # Handled once the bytes at hand are parsed (``_handle``): pipelined requests are
        # counted against the limit first.

    def _handle(self) -> None:
        """After parsing: handle what was received, unless a request is in flight. Requests
        that need no waiting are answered at once, in order, without a task (a runtime sends
        its response and its next ``/next`` in one write); the first that must wait goes to
        ``_serve``."""
        while self._pending and self._serving is None and self._awaiting is None:
            if not self._answer_now():
                self._flush_unsent()
                self._serving = asyncio.ensure_future(self._serve())
                return
        if not self._pending and self._awaiting is None:
            self._flush_unsent()

    def _answer_now(self) -> bool:
        """Nothing in flight: answer the first request waiting without a task when it needs
        no waiting (a response, an error) or the handler answers ``/next`` itself. False: it
        is left to ``_serve``."""
        if not self.admitted or self._closing:
            return False
        request = self._pending[0]
        popped = False
        server = self.server
        try:
            reply = server.dispatch_now(request)
            if reply is None:
                immediate = server.immediate
                if immediate is None:
                    return False
                self._pending.popleft()
                popped = True
                self._awaiting = request
                event = immediate.next_event_now(self._next_arrived)
                if event is None:
                    return True  # written by _next_arrived
                self._awaiting = None
                reply = next_reply(event)
                if not isinstance(event, ApiReply):
                    self._send(event_bytes(event, request.keep_alive), request.keep_alive)
                    return True
        except Exception:
            log.exception("Runtime API %s %s failed", request.method, request.path)
            self._awaiting = None
            reply = ApiReply(500)
        if not popped:
            self._pending.popleft()
            if reply is ACCEPTED and request.keep_alive and self._next_follows():
                # A response (or error) with the runtime's /next right behind it: its
                # 202 goes out with the next event, in one write (the runtime reads both).
                self._unsent = _ACCEPTED_BYTES
                return True
            self._send(reply_bytes(reply, request.keep_alive), request.keep_alive)
        else:
            self._send(event_bytes(reply, request.keep_alive), request.keep_alive)
        return True

    def _next_follows(self) -> bool:
        """The next request waiting is the runtime's ``GET /next``."""
        pending = self._pending
        return bool(pending) and pending[0].path == _NEXT_PATH and pending[0].method == "GET"

    def _next_arrived(self, event: NextEvent | ApiReply) -> None:
        """The event of a ``/next`` answered without a task: write it, then go on with what
        the runtime sent meanwhile."""
        request, self._awaiting = self._awaiting, None
        if request is None:
            return
        self._send(event_bytes(event, request.keep_alive), request.keep_alive)
        self._handle()
        self._read_on()

    # request handling ----------------------------------------------------------------------
    async def _serve(self) -> None:
        """Handle the waiting requests in order, then read again."""
        try:
            if not self.admitted and (self.verdict is None or not await self.verdict):
                return
            while self._pending and self.transport is not None and not self._closing:
                request = self._pending.popleft()
                try:
                    reply = await self.server.dispatch(request)
                except Exception:
                    log.exception("Runtime API %s %s failed", request.method, request.path)
                    reply = ApiReply(500)
                self._write(reply, request.keep_alive)
        finally:
            self._serving = None
        self._read_on()

    def _write(self, reply: ApiReply, keep_alive: bool) -> None:
        self._send(reply_bytes(reply, keep_alive), keep_alive)

    def _send(self, data: bytes, keep_alive: bool) -> None:
        """Write one reply (after a 202 held back for it), in one ``write``."""
        if self.transport is None or self._closing:
            return
        unsent = self._unsent
        if unsent:
            self._unsent = b""
            data = unsent + data
        self.transport.write(data)
        if not keep_alive:
            self._closing = True
            self.transport.close()

    def _flush_unsent(self) -> None:
        """Write a held-back 202 now (its /next is not answered without a task)."""
        unsent = self._unsent
        if unsent and self.transport is not None and not self._closing:
            self._unsent = b""
            self.transport.write(unsent)
