"""The Runtime API client of Lamina's built-in Python runtime (see ``bootstrap.py``).

A minimal HTTP/1.1 client on one keep-alive socket rather than ``http.client``: ``http.client``
parses every response's headers with the ``email`` package and costs ~150-300 µs of CPU per
invoke (and ~15 ms of ``ssl``/``email`` imports at start). Responses are parsed by
``lamina_runtime_http.ResponseReader`` from what one ``recv`` returned, so a ``202`` and the next
invocation that arrive together cost one system call.

An invocation's response (or error) POST and the next ``GET .../invocation/next`` go out in one
write (HTTP/1.1 pipelining, which Lamina's Runtime API accepts): one loopback send per invoke
instead of two. The POST's answer is still read and checked first; the GET's answer is what the
next ``wait_next_invocation`` reads. If the connection is lost or closed before that answer,
the GET is sent again on a new connection, so the observable requests are those of the plain
request/response loop.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import select
import socket
import sys

from lamina_runtime_http import NoResponse, ResponseReader

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Callable, Dict, List, Optional, Tuple

API_PREFIX = "/2018-06-01"
USER_AGENT = "lamina-python/%d.%d.%d" % sys.version_info[:3]


class LambdaRuntimeClientError(Exception):
    """The Runtime API answered with an unexpected status (the runtime then exits)."""

    def __init__(self, endpoint: str, status: int, body: bytes) -> None:
        super().__init__(
            "Request to Lambda Runtime '%s' endpoint failed. Reason: '%s'. Response body: '%r'"
            % (endpoint, status, body)
        )
        self.endpoint = endpoint
        self.status = status
        self.body = body


def _split_address(address: str) -> Tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or "]" in port:  # no port (a bare host or an IPv6 literal)
        host, port = address, "80"
    return host.strip("[]"), int(port)


# A socket already connected to the Runtime API, handed over by Lamina's spawner (a Unix
# socket pair): the client's first connection, instead of connecting over TCP.
_ADOPTED: "List[socket.socket]" = []


def adopt_connection(fd: int) -> None:
    _ADOPTED[:] = [socket.socket(fileno=fd)]


def _recv_after_poll(sock: socket.socket) -> Callable[[int], bytes]:
    """``sock.recv`` for the adopted Unix socket, waiting for data in ``poll`` first. A
    ``recv`` blocked on a Unix socket is woken each time the other end reads what this end
    wrote (the kernel then wakes whoever sleeps on the socket, for whatever they wait):
    after every response, a needless switch to this process and back. ``poll`` waits for
    data only."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    wait = poller.poll
    recv = sock.recv

    def recv_after_poll(size: int) -> bytes:
        wait()
        return recv(size)

    return recv_after_poll


class RuntimeAPIClient:
    """HTTP/1.1 client for the Runtime API: one keep-alive connection, TCP_NODELAY, no timeout."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._host, self._port = _split_address(address)
        self._sock: Optional[socket.socket] = None
        self._reader: Optional[ResponseReader] = None
        # Over the connection Lamina's sandbox made in advance (a socket pair to Lamina's own
        # Runtime API), requests carry only the headers the API reads.
        common = b""
        if not _ADOPTED:
            common = ("Host: %s\r\nUser-Agent: %s\r\n" % (address, USER_AGENT)).encode("latin-1")
        next_path = API_PREFIX + "/runtime/invocation/next"
        self._next_request = b"GET " + next_path.encode() + b" HTTP/1.1\r\n" + common + b"\r\n"
        self._invocation_prefix = b"POST " + API_PREFIX.encode() + b"/runtime/invocation/"
        self._post_suffix = b" HTTP/1.1\r\n" + common
        # A ``GET .../next`` was sent behind the last POST and its answer is not read yet.
        self._next_pending = False

    # connection -----------------------------------------------------------------------------
    def _connect(self) -> None:
        if _ADOPTED:
            self._sock = _ADOPTED.pop()
            self._reader = ResponseReader(_recv_after_poll(self._sock))
            return
        try:
            # A numeric IPv4 address (as AWS and Lamina set it) needs no name resolution:
            # getaddrinfo would load the NSS modules, a millisecond or two on a cold start.
            socket.inet_aton(self._host)
        except OSError:
            sock = socket.create_connection((self._host, self._port), timeout=None)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.connect((self._host, self._port))
            except BaseException:
                sock.close()
                raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = ResponseReader(sock.recv)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None
        self._next_pending = False

    def _exchange(
        self, head: bytes, body: bytes, then_next: bool = False
    ) -> Tuple[int, Dict[str, str], bytes]:
        """Send one request and read its response; retry once if a reused connection was dead.

        With ``then_next``, ``GET .../next`` is written right behind the request (same write)
        and left pending: its answer is read by the next ``wait_next_invocation``.
        """
        trailer = self._next_request if then_next else b""
        while True:
            fresh = self._sock is None
            if fresh:
                self._connect()
            sock, reader = self._sock, self._reader
            assert sock is not None and reader is not None
            try:
                if len(body) <= 65536:
                    sock.sendall(head + body + trailer)
                else:
                    sock.sendall(head)
                    sock.sendall(body)
                    if trailer:
                        sock.sendall(trailer)
                self._next_pending = then_next
                status, headers, data, keep_alive = reader.read_response()
            except (NoResponse, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.close()
                if fresh:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if not keep_alive:
                self.close()
            return status, headers, data

    # endpoints ------------------------------------------------------------------------------
    def wait_next_invocation(self) -> Tuple[Dict[str, str], bytes]:
        answered = False
        reader = self._reader
        if self._next_pending and reader is not None:  # sent behind the last POST, reused
            self._next_pending = False
            try:
                status, headers, body, keep_alive = reader.read_response()
                answered = True
            except (NoResponse, ConnectionResetError, ConnectionAbortedError):
                self.close()  # lost before the answer: asked again below, on a new connection
            except BaseException:
                self.close()
                raise
            if answered and not keep_alive:
                self.close()
        if not answered:
            status, headers, body = self._exchange(self._next_request, b"")
        if status != 200:
            raise LambdaRuntimeClientError(API_PREFIX + "/runtime/invocation/next", status, body)
        return headers, body

    def _post(
        self, path: bytes, extra_headers: bytes, body: bytes, then_next: bool = False
    ) -> Tuple[int, bytes]:
        head = b"".join(
            (
                b"POST ",
                path,
                self._post_suffix,
                extra_headers,
                b"Content-Length: %d\r\n\r\n" % len(body),
            )
        )
        status, _, data = self._exchange(head, body, then_next)
        return status, data

    def post_invocation_result(self, request_id: str, payload: bytes, content_type: bytes) -> None:
        head = b"".join(
            (
                self._invocation_prefix,
                request_id.encode("latin-1"),
                b"/response",
                self._post_suffix,
                b"Content-Type: ",
                content_type,
                b"\r\nContent-Length: %d\r\n\r\n" % len(payload),
            )
        )
        status, _, data = self._exchange(head, payload, then_next=True)
        if not 200 <= status < 300:
            raise LambdaRuntimeClientError(
                "%s/runtime/invocation/%s/response" % (API_PREFIX, request_id), status, data
            )

    def post_invocation_error(self, request_id: str, error_json: str, xray_fault: str) -> None:
        xray = xray_fault.encode("utf-8")
        if len(xray) >= 1024 * 1024:
            xray = b""
        path = "%s/runtime/invocation/%s/error" % (API_PREFIX, request_id)
        status, data = self._post(
            path.encode("latin-1"),
            b"Content-Type: application/json\r\n"
            b"Lambda-Runtime-Function-XRay-Error-Cause: " + xray + b"\r\n",
            error_json.encode("utf-8"),
            then_next=True,
        )
        if not 200 <= status < 300:
            raise LambdaRuntimeClientError(path, status, data)

    def post_init_error(self, error_json: str, error_type: str) -> None:
        path = API_PREFIX + "/runtime/init/error"
        status, data = self._post(
            path.encode("latin-1"),
            b"Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: "
            + error_type.encode("utf-8")
            + b"\r\n",
            error_json.encode("utf-8"),
        )
        if not 200 <= status < 300:
            raise LambdaRuntimeClientError(path, status, data)
