"""One connection to an environment's Runtime API: parses requests within the limits
(``RuntimeApiLimits``), handles one at a time, and answers in order (see ``runtime_api``)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

from lamina.runtime.runtime_api_stream import StreamedResponse
from lamina.runtime.runtime_api_wire import (
    ACCEPTED,
    ACCEPTED_BYTES,
    FOREIGN_PEER,
    HELD_BYTES,
    NEXT_PATH,
    ApiReply,
    ApiRequest,
    LimitExceeded,
    NextEvent,
    event_bytes,
    next_reply,
    reply_bytes,
)

if TYPE_CHECKING:
    from lamina.runtime.runtime_api import RuntimeApiServer

log = logging.getLogger("lamina.runtime_api")


class _RuntimeApiConnection(asyncio.Protocol):
    """One connection: parses within the limits, handles one request at a time."""

    def __init__(self, server: RuntimeApiServer, trusted: bool = False) -> None:
        self.server = server
        # Made in advance with the runtime itself (a socket pair): no peer to check.
        self.trusted = trusted
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
        self._pending: deque[ApiRequest] = deque()
        self._serving: asyncio.Task[None] | None = None
        # A /next answered without a task, while its event is awaited: the request.
        self._awaiting: ApiRequest | None = None
        # A 202 held back to go out with the reply to the /next behind it (``_send``).
        self._unsent = b""
        # The request being parsed.
        self._in_head = True
        self._head_size = 0
        self._url = bytearray()
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_size = 0
        # A streamed response being received (``runtime_api_stream``), else None.
        self._stream: StreamedResponse | None = None

    # asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
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
        if self._stream is not None:
            self._stream.truncated()
            self._stream = None
        self.server.connection_ended(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._read_on()

    def pause_stream(self) -> None:
        """A streamed response's reader is behind: read no more until ``resume_stream``."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_stream(self) -> None:
        """The reader caught up: read again (unless reading is paused for another reason)."""
        if self.transport is not None and not self._reading_paused and not self._closing:
            self.transport.resume_reading()

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
        if "lambda-runtime-function-response-mode" in self._headers and self.admitted:
            self._stream = StreamedResponse.start(self)

    def on_body(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.push(body)
            return
        self._body_size += len(body)
        if self._body_size <= self.limits.body_bytes:
            self._body.append(body)
        elif self._body_size > self.limits.discarded_body_bytes:
            raise LimitExceeded(f"request body over {self.limits.discarded_body_bytes} bytes")

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_size = 0
        oversized = self._body_size > self.limits.body_bytes
        request = ApiRequest(
            method=self.parser.get_method().decode(),
            path=self._url.decode("latin-1").split("?", 1)[0],
            headers=self._headers,
            body=b"" if oversized else b"".join(self._body),
            keep_alive=self.parser.should_keep_alive(),
            oversized=oversized,
        )
        if self._stream is not None:
            request.reply = self._stream.complete(self._headers)
            self._stream = None
        self._pending.append(request)
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
                self._unsent = ACCEPTED_BYTES
                return True
            self._send(reply_bytes(reply, request.keep_alive), request.keep_alive)
        else:
            self._send(event_bytes(reply, request.keep_alive), request.keep_alive)
        return True

    def _next_follows(self) -> bool:
        """The next request waiting is the runtime's ``GET /next``."""
        pending = self._pending
        return bool(pending) and pending[0].path == NEXT_PATH and pending[0].method == "GET"

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
