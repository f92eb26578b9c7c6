"""HTTP/1.1 responses read from one socket, for the built-in Python runtime (``bootstrap.py``).

``ResponseReader`` keeps the bytes a ``recv`` returned beyond the response being read, so
pipelined responses that arrive together (the ``202`` of a response POST and the next
invocation, when the Runtime API writes them in one write) are parsed from one buffer with one
``recv`` system call. It reads responses in order; each ``read_response`` returns exactly one.

What it accepts is what the ``readline``-based reader before it accepted: a status line and
header lines ending in ``\\r\\n`` or ``\\n``, 1xx interim responses skipped, bodies delimited by
``Content-Length``, by chunked transfer coding (trailers ignored) or by the end of the
connection. Header names are lower-cased; names and values are stripped of white space.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Callable, Dict, List, Optional, Tuple

    Response = Tuple[int, Dict[str, str], bytes, bool]  # status, headers, body, keep-alive

# The end of a response head: the first empty line (``\r\n`` or ``\n``) after a line break.
_HEAD_END = re.compile(b"\n\r?\n")
# Largest response head, and largest chunk-size or trailer line, before the reader gives up.
MAX_HEAD_BYTES = 1024 * 1024
MAX_LINE_BYTES = 65536
# Largest single ``recv``: a body beyond what is buffered is read in pieces of this size.
RECV_BYTES = 65536
# Largest response remembered to be recognised by its bytes when it comes again.
REPEAT_BYTES = 256


class NoResponse(ConnectionError):
    """The connection ended before any byte of a response arrived."""


class ResponseReader:
    """Reads HTTP/1.1 responses from ``recv`` (a socket's ``recv``), keeping what is left over.

    ``recv(n)`` returns up to ``n`` bytes, blocking until at least one is there; ``b""`` means
    the peer closed the connection. A connection that ends inside a response raises
    ``ConnectionError`` (``NoResponse`` if no byte of it had arrived).
    """

    __slots__ = ("_recv", "_buf", "_pos", "_repeat", "_repeat_response")

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self._buf = b""  # received bytes; those before ``_pos`` are consumed
        self._pos = 0
        # The bytes of the last small keep-alive response and what they parsed to: the
        # ``202`` of every response POST is the same bytes, and is then not parsed again.
        self._repeat = b""
        self._repeat_response: Tuple[int, Dict[str, str], bytes] = (0, {}, b"")

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as (part of) a response."""
        return len(self._buf) - self._pos

    def _fill(self) -> bool:
        """Receive more bytes behind the unread ones (compacting the buffer); ``False`` when
        the connection has ended."""
        data = self._recv(RECV_BYTES)
        if not data:
            return False
        pos = self._pos
        if pos == len(self._buf):
            self._buf = data
        else:
            self._buf = self._buf[pos:] + data
        self._pos = 0
        return True

    def read_response(self) -> Response:
        """The next complete response: status, headers, body and whether the connection stays
        open (``False`` for ``Connection: close``, HTTP/1.0 without keep-alive, and bodies
        delimited by the end of the connection)."""
        buf, start = self._buf, self._pos
        if start == len(buf):
            buf = self._recv(RECV_BYTES)
            if not buf:
                raise NoResponse("Remote end closed connection without response")
            self._buf, self._pos, start = buf, 0, 0
        repeat = self._repeat
        if repeat and buf.startswith(repeat, start):
            self._pos = start + len(repeat)
            status, headers, body = self._repeat_response
            return status, dict(headers), body, True
        while True:
            status, version, headers = self._read_head()
            if status >= 200 or status == 101:
                break  # 1xx interim responses are skipped
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (
            version == "HTTP/1.1" or "keep-alive" in connection
        )
        if "transfer-encoding" in headers and "chunked" in headers["transfer-encoding"].lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
            if keep_alive and self._buf is buf and self._pos - start <= REPEAT_BYTES:
                self._repeat = buf[start : self._pos]
                self._repeat_response = (status, dict(headers), body)
        elif status == 204 or status == 304:
            body = b""
        else:
            body = self._read_to_close()
            keep_alive = False
        return status, headers, body, keep_alive

    # head -----------------------------------------------------------------------------------
    def _read_head(self) -> Tuple[int, str, Dict[str, str]]:
        buf, pos = self._buf, self._pos
        if pos == len(buf):  # after a skipped 1xx response
            if not self._fill():
                raise NoResponse("Remote end closed connection without response")
            buf, pos = self._buf, 0
        while True:
            # Fast path: a head in ``\r\n`` lines (a ``\n\n`` before it would end it sooner).
            end = buf.find(b"\r\n\r\n", pos)
            if end >= 0 and buf.find(b"\n\n", pos, end) < 0:
                body_start = end + 4
                break
            found = _HEAD_END.search(buf, pos)
            if found is not None:
                end, body_start = found.start(), found.end()
                break
            if len(buf) - pos > MAX_HEAD_BYTES:
                raise ConnectionError("Response head from the Runtime API is too large")
            if not self._fill():
                raise ConnectionError("Connection closed inside the response headers")
            buf, pos = self._buf, 0
        self._pos = body_start
        lines = buf[pos:end].decode("latin-1").split("\n")
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ConnectionError("Bad status line from the Runtime API: %r" % lines[0])
        headers: Dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), parts[0], headers

    # bodies ---------------------------------------------------------------------------------
    def _read_exact(self, length: int) -> bytes:
        if length < 0:
            raise ConnectionError("Negative Content-Length from the Runtime API")
        buf, pos = self._buf, self._pos
        end = pos + length
        if end <= len(buf):
            self._pos = end
            return buf[pos:end] if (pos or end != len(buf)) else buf
        pieces = [buf[pos:]]
        missing = end - len(buf)
        self._buf, self._pos = b"", 0
        recv = self._recv
        while missing:
            data = recv(missing if missing < RECV_BYTES else RECV_BYTES)
            if not data:
                raise ConnectionError("Connection closed inside the response body")
            pieces.append(data)
            missing -= len(data)
        return b"".join(pieces)

    def _read_line(self) -> Optional[bytes]:
        """One line (``\\n`` ends it, and is dropped with any ``\\r`` before it); ``None`` if
        the connection ended before its end."""
        while True:
            buf, pos = self._buf, self._pos
            end = buf.find(b"\n", pos)
            if end >= 0:
                self._pos = end + 1
                return buf[pos:end].rstrip(b"\r")
            if len(buf) - pos > MAX_LINE_BYTES:
                raise ConnectionError("Line too long in a chunked response from the Runtime API")
            if not self._fill():
                return None

    def _read_chunked(self) -> bytes:
        chunks: List[bytes] = []
        while True:
            line = self._read_line()
            if line is None:
                raise ConnectionError("Connection closed inside a chunked response body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._read_line():
                    pass  # trailers, up to the empty line (or the end of the connection)
                return b"".join(chunks)
            chunks.append(self._read_exact(size))
            self._read_line()  # the CRLF after the chunk's data

    def _read_to_close(self) -> bytes:
        pieces = [self._buf[self._pos :]]
        self._buf, self._pos = b"", 0
        recv = self._recv
        while True:
            data = recv(RECV_BYTES)
            if not data:
                return b"".join(pieces)
            pieces.append(data)
