"""The API port's HTTP protocol: uvicorn's httptools protocol with bounds.

- **Header size.** llhttp has no limit of its own: the bytes of a request line and headers
  are counted as they arrive, and beyond ``max_header_bytes`` the request is answered 431
  and the connection closed (what is buffered stays within that limit plus one read).
- **Idle connections.** A connection with no request in flight is closed after the
  keep-alive timeout, before its first request as after each response, even while it
  dribbles the bytes of an incomplete request head (uvicorn only arms its timer after a
  response, and disarms it at the first byte). One timer serves every connection.
- **Connection count.** At most ``max_connections`` are open; a new one beyond that closes
  the connection idle the longest (no request being served), or is closed itself when
  every connection is busy. Idle sockets cannot exhaust the server's file descriptors or
  keep clients out.

A response goes out in one ``write`` (status line, headers and the first body chunk
together): uvicorn writes its head as soon as the application starts the response, and the
body right after, so ``_OneWrite`` holds the head back until that body (or a close) comes.

**The lean path.** A small Invoke (``POST /2015-03-31/functions/<name>/invocations`` with a
``Content-Length`` of at most ``LEAN_MAX_BODY``) and a small request to a function URL or
API stage (one an HTTP trigger claims by its host: ``api.http_triggers``), over HTTP/1.1, with
no ``Expect``, no upgrade, not pipelined behind another request, skip ASGI: the protocol keeps
the body and hands the request to the edge (``EdgeApp.respond`` / ``respond_trigger``: the
same checks and answers as through ASGI), then writes the response in one ``write`` with
uvicorn's default headers (a trigger's streamed answer: chunked, as it comes). Requests
pipelined behind it wait their turn as behind any response (``_LeanCycle`` stands in for
uvicorn's cycle).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from lamina.api.function_peers import FunctionPeers
from lamina.api.http_triggers import HttpTrigger, TriggerRequest, TriggerResponse

log = logging.getLogger("lamina.edge")

WireAnswer = tuple[int, list[tuple[bytes, bytes]], bytes]


class LeanEdge(Protocol):
    """What the lean path asks of the edge (``EdgeApp``)."""

    def respond(
        self,
        method: str,
        raw_path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        client: tuple[str, int] | None,
    ) -> Awaitable[WireAnswer]: ...

    def lean_trigger(self, host: str, path: str) -> HttpTrigger | None: ...

    def respond_trigger(
        self, trigger: HttpTrigger, request: TriggerRequest
    ) -> Awaitable[TriggerResponse]: ...


# Invoke requests with bodies up to this size take the lean path.
LEAN_MAX_BODY = 256 * 1024
_INVOKE_URL = re.compile(rb"/2015-03-31/functions/[^/?]+/invocations(?:\?[^#]*)?")

DEFAULT_MAX_HEADER_BYTES = 64 * 1024

_TOO_LARGE_TEXT = b"Request header fields too large."
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_TOO_LARGE_TEXT)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TOO_LARGE_TEXT
)


class _LeanCycle:
    """What uvicorn's protocol sees of a request on the lean path: its ``cycle`` while it is
    answered (so requests pipelined behind it wait), never an ASGI cycle."""

    __slots__ = (
        "response_complete",
        "disconnected",
        "keep_alive",
        "body",
        "message_event",
        "trigger",
    )

    def __init__(self, keep_alive: bool, trigger: HttpTrigger | None = None) -> None:
        self.response_complete = False
        self.disconnected = False
        self.keep_alive = keep_alive
        self.body: list[bytes] = []
        self.message_event = self  # uvicorn sets it on disconnect: nothing waits on it
        self.trigger = trigger  # None: an Invoke

    def set(self) -> None:
        pass


def _lean_candidate(protocol: HttpToolsProtocol, edge: LeanEdge) -> _LeanCycle | None:
    """The lean cycle of the request whose head was just parsed, or None: it goes to ASGI."""
    cycle = protocol.cycle
    if cycle is not None and not cycle.response_complete:
        return None
    parser = protocol.parser
    if protocol.pipeline or protocol.expect_100_continue:
        return None
    if parser.get_http_version() != "1.1" or parser.should_upgrade():
        return None
    length = None
    host = b""
    for name, value in protocol.headers:
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif name == b"transfer-encoding":
            return None
        elif name == b"host":
            host = value
    if (length or 0) > LEAN_MAX_BODY:
        return None
    method = parser.get_method()
    if method == b"POST" and length is not None and _INVOKE_URL.fullmatch(protocol.url):
        return _LeanCycle(parser.should_keep_alive())
    name, colon, port = host.lower().rpartition(b":")
    if not colon or not port.isdigit():
        name = host.lower()
    # Function URLs and API stages by host: ``<id>.lambda-url.<region>.localhost[:port]``.
    if not name.endswith(b".localhost") or method == b"HEAD":
        return None
    path = protocol.url.partition(b"?")[0].decode("latin-1")
    trigger = edge.lean_trigger(name.decode("latin-1"), path)
    if trigger is None or (length or 0) > trigger.max_body:
        return None
    return _LeanCycle(parser.should_keep_alive(), trigger)


def bounded_protocol(
    max_connections: int,
    max_header_bytes: int,
    function_peers: FunctionPeers | None = None,
    lean: LeanEdge | None = None,
) -> type[asyncio.Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these bounds (one class per
    server: the idle queue is shared by its connections). With ``function_peers``, each
    connection from a function sharing the host's network is marked as such. With ``lean``,
    small Invoke and trigger requests are answered by it without ASGI."""
    idle = _IdleConnections()
    # uvicorn's default headers (date, server), as they go on the wire: uvicorn replaces the
    # list each second (its date), so the bytes are made once per list.
    default_head: list[tuple[list[tuple[bytes, bytes]] | None, bytes]] = [(None, b"")]

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _in_headers = False
        _header_bytes = 0
        _refused = False
        _function_address: tuple[str, int] | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if function_peers is not None:
                self._function_address = function_peers.connected(transport)
            if len(self.connections) > max_connections:
                if idle:
                    idle.pop_oldest().transport.close()
                else:
                    self._refused = True
                    transport.close()
                    return
            idle.add(self, self.loop, self.timeout_keep_alive)

        def connection_lost(self, exc: Exception | None) -> None:
            idle.discard(self)
            if function_peers is not None and self._function_address is not None:
                function_peers.disconnected(self._function_address)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            counting = self._in_headers
            super().data_received(data)
            if counting and self._in_headers:
                self._header_bytes += len(data)
                if self._header_bytes > max_header_bytes:
                    self._refuse_headers()

        def _refuse_headers(self) -> None:
            self._refused = True
            if not self.transport.is_closing():
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()

        def on_message_begin(self) -> None:
            # uvicorn's, but its ASGI scope is made only for a request that goes to ASGI
            # (``_begin_scope``): the lean path never needs it.
            self.url = b""
            self.expect_100_continue = False
            self.headers = []
            self._in_headers = True
            self._header_bytes = 0

        def _begin_scope(self) -> None:
            """uvicorn's ``on_message_begin`` (the request's ASGI scope), after the fact: the
            head parsed so far is kept."""
            url, headers, expect = self.url, self.headers, self.expect_100_continue
            super().on_message_begin()
            self.url, self.expect_100_continue = url, expect
            self.headers.extend(headers)  # the scope's list

        def on_headers_complete(self) -> None:
            self._in_headers = False
            idle.discard(self)
            if lean is not None:
                lean_cycle = _lean_candidate(self, lean)
                if lean_cycle is not None:
                    self.cycle = lean_cycle  # type: ignore[assignment]
                    return
            self._begin_scope()
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None and not isinstance(cycle.transport, _OneWrite):
                # The cycle's task has not run yet: its response will go out in one write.
                cycle.transport = _OneWrite(self.transport, cycle)

        def on_body(self, body: bytes) -> None:
            cycle = self.cycle
            if isinstance(cycle, _LeanCycle):
                cycle.body.append(body)
            else:
                super().on_body(body)

        def on_message_complete(self) -> None:
            cycle = self.cycle
            if not isinstance(cycle, _LeanCycle):
                super().on_message_complete()
                return
            assert lean is not None
            url = self.url.decode("latin-1")
            raw_path, _, query = url.partition("?")
            body = b"".join(cycle.body)
            cycle.body = []
            trigger = cycle.trigger
            if trigger is None:
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers}
                answer = lean.respond("POST", raw_path, query, headers, body, self.client)
                task = self.loop.create_task(self._answer_lean(cycle, answer))
            else:
                fields = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]
                request = TriggerRequest(
                    method=self.parser.get_method().decode("ascii"),
                    host=next((v.lower() for k, v in fields if k == "host"), ""),
                    raw_path=raw_path,
                    query_string=query,
                    headers=fields,
                    body=body,
                    client=self.client,
                )
                replied = lean.respond_trigger(trigger, request)
                task = self.loop.create_task(self._answer_trigger(cycle, replied))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)

        async def _answer_lean(
            self,
            cycle: _LeanCycle,
            answer: Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]],
        ) -> None:
            try:
                status, headers, body = await answer
            finally:
                cycle.response_complete = True
            transport = self.transport
            if cycle.disconnected or transport.is_closing():
                return
            content = self._head(cycle, status, headers)
            content += (b"\r\n", body)
            transport.write(b"".join(content))
            if not cycle.keep_alive:
                transport.close()
            self.on_response_complete()

        def _head(
            self, cycle: _LeanCycle, status: int, headers: list[tuple[bytes, bytes]]
        ) -> list[bytes]:
            """A lean answer's status line and headers (uvicorn's defaults first), without
            the blank line that ends them."""
            defaults = self.server_state.default_headers
            made_for, default_bytes = default_head[0]
            if made_for is not defaults:
                default_bytes = b"".join(b"%s: %s\r\n" % field for field in defaults)
                default_head[0] = (defaults, default_bytes)
            head = [STATUS_LINE[status], default_bytes]
            for name, value in headers:
                head += (name, b": ", value, b"\r\n")
            if not cycle.keep_alive:
                head.append(b"connection: close\r\n")
            return head

        async def _answer_trigger(
            self, cycle: _LeanCycle, replied: Awaitable[TriggerResponse]
        ) -> None:
            try:
                response = await replied
                fields = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
                head = self._head(cycle, response.status, fields)
                transport = self.transport
                stream = response.stream
                if stream is None:
                    if cycle.disconnected or transport.is_closing():
                        return
                    head += (b"content-length: %d\r\n\r\n" % len(response.body), response.body)
                    transport.write(b"".join(head))
                else:
                    head.append(b"transfer-encoding: chunked\r\n\r\n")
                    await self._stream_chunks(cycle, b"".join(head), stream)
            except Exception:  # a stream that broke midway: the client sees the cut
                log.exception("a streamed function URL or API stage answer failed")
                self.transport.close()
                return
            finally:
                cycle.response_complete = True
            if cycle.disconnected or self.transport.is_closing():
                return
            if not cycle.keep_alive:
                self.transport.close()
            self.on_response_complete()

        async def _stream_chunks(
            self, cycle: _LeanCycle, head: bytes, stream: AsyncIterator[bytes]
        ) -> None:
            """A streamed answer, chunked: each chunk written as it comes, waiting for the
            client to read when its socket is full."""
            pending = head
            async for chunk in stream:
                if cycle.disconnected or self.transport.is_closing():
                    continue  # the function runs to its end; its output is dropped
                if chunk:
                    self.transport.write(pending + b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                    pending = b""
                    await self.flow.drain()
            if not cycle.disconnected and not self.transport.is_closing():
                self.transport.write(pending + b"0\r\n\r\n")

        def shutdown(self) -> None:
            cycle = self.cycle
            if isinstance(cycle, _LeanCycle) and not cycle.response_complete:
                cycle.keep_alive = False  # closed once answered
                return
            super().shutdown()

        def on_response_complete(self) -> None:
            if isinstance(self.cycle, _LeanCycle) and not self.pipeline:
                # uvicorn's, without arming a keep-alive timer per response.
                self.server_state.total_requests += 1
                if self.transport.is_closing():
                    return
                self.flow.resume_reading()
            else:
                super().on_response_complete()
                if self.transport.is_closing():
                    return
            # The keep-alive timeout: ``idle``'s one timer, not one per response.
            self._unset_keepalive_if_required()
            if self.cycle is None or self.cycle.response_complete:
                idle.add(self, self.loop, self.timeout_keep_alive)

    return BoundedHttpToolsProtocol


class _IdleConnections:
    """The connections with no request in flight, oldest first, with the loop time each went
    idle. One timer closes those idle for the keep-alive timeout (instead of one timer armed
    and cancelled per response)."""

    def __init__(self) -> None:
        self._since: OrderedDict[HttpToolsProtocol, float] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._since)

    def add(
        self, connection: HttpToolsProtocol, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        since = self._since
        since.pop(connection, None)
        since[connection] = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(timeout, self._sweep, loop, timeout)

    def discard(self, connection: HttpToolsProtocol) -> None:
        self._since.pop(connection, None)

    def pop_oldest(self) -> HttpToolsProtocol:
        return self._since.popitem(last=False)[0]

    def _sweep(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._timer = None
        since = self._since
        now = loop.time()
        while since:
            connection, idle_since = next(iter(since.items()))
            if now - idle_since < timeout:
                self._timer = loop.call_later(
                    idle_since + timeout - now, self._sweep, loop, timeout
                )
                return
            del since[connection]
            connection.timeout_keep_alive_handler()


# Bodies up to this size are joined to their head (larger ones would be copied for it).
_JOIN_BYTES = 64 * 1024


class _OneWrite(asyncio.Transport):
    """One response's view of the connection's transport: the head uvicorn writes when the
    response starts is held back and written together with what comes next (the body), in
    one ``write``; a close writes it first. Writes before the response starts (``100
    Continue``) go out at once."""

    __slots__ = ("_transport", "_cycle", "_held", "_head_seen")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        super().__init__()
        self._transport = transport
        self._cycle = cycle
        self._held: bytes | None = None
        self._head_seen = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if len(data) <= _JOIN_BYTES:
                self._transport.write(held + bytes(data))
                return
            # A large body is not copied to be joined: two writes.
            self._transport.write(held)
            self._transport.write(data)
        elif not self._head_seen and self._cycle.response_started:
            self._head_seen = True
            self._held = bytes(data)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


def connection_cap(requested: int, open_files_limit: int) -> int:
    """The connection cap: what was asked, at most half the open-files limit (the other half
    is for environments, logs and databases)."""
    return max(16, min(requested, open_files_limit // 2))


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; the resulting soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)
