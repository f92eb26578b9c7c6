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
import logging
import socket
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from lamina.runtime.peer import PeerSocket, peer_socket
from lamina.runtime.runtime_api_connection import _RuntimeApiConnection
from lamina.runtime.runtime_api_wire import (
    ACCEPTED,
    FOREIGN_PEER,
    INVOCATION_PATH,
    MAX_RESPONSE_BYTES,
    NEXT_PATH,
    PREFIX,
    ApiReply,
    ApiRequest,
    LimitExceeded,
    NextEvent,
    RuntimeApiLimits,
    event_bytes,
    next_reply,
    reply_bytes,
    runtime_error,
)

__all__ = [
    "ACCEPTED",
    "FOREIGN_PEER",
    "MAX_RESPONSE_BYTES",
    "PREFIX",
    "ApiReply",
    "ApiRequest",
    "ImmediateNextHandler",
    "LimitExceeded",
    "NextEvent",
    "PeerCheck",
    "RuntimeApiHandler",
    "RuntimeApiLimits",
    "RuntimeApiServer",
    "event_bytes",
    "next_reply",
    "reply_bytes",
    "runtime_error",
]


log = logging.getLogger("lamina.runtime_api")

# Whether a peer socket belongs to the environment's runtime (it runs off the event loop).
PeerCheck = Callable[[PeerSocket], bool]


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

    async def adopt(self, sock: socket.socket) -> None:
        """Serve a connection made in advance with the runtime (one end of a socket pair
        whose other end only the runtime process holds): admitted without a peer check."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        await loop.connect_accepted_socket(
            lambda: _RuntimeApiConnection(self, trusted=True), sock=sock
        )

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
        if self._peer_check is None or connection.trusted:
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

    async def dispatch(self, request: ApiRequest) -> ApiReply:
        reply = self.dispatch_now(request)
        if reply is not None:
            return reply
        return next_reply(await self.handler.next_event())

    def dispatch_now(self, request: ApiRequest) -> ApiReply | None:
        """The reply to every request but ``GET /next`` (None: it waits for an event)."""
        method, path, handler = request.method, request.path, self.handler
        if path == NEXT_PATH:
            return None if method == "GET" else ApiReply(405)
        error_type = request.headers.get("lambda-runtime-function-error-type")
        found = INVOCATION_PATH.match(path)
        if found:
            if method != "POST":
                return ApiReply(405)
            request_id, kind = found.groups()
            if kind == "response":
                if request.reply is not None:
                    return request.reply  # a streamed response, already handled
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
