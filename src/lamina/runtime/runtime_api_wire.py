"""The Runtime API's wire: its paths and limits, the event ``GET /next`` hands a runtime, the
replies, and their bytes (every reply is written in one ``write``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

PREFIX = "/2018-06-01"
NEXT_PATH = PREFIX + "/runtime/invocation/next"
# The largest response a runtime may post (RAPID's MaxPayloadSize).
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100

INVOCATION_PATH = re.compile(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$")
STATUS_TEXT = {
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


# Made on every invocation: not frozen (a frozen dataclass's __init__ costs a call per field).
@dataclass(slots=True)
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
ACCEPTED_BYTES = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
    b'{"status":"OK"}'
)


def runtime_error(status: int, error_type: str, message: str) -> ApiReply:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return ApiReply(status, body, [("Content-Type", "application/json")])


FOREIGN_PEER = runtime_error(
    403, "AccessDeniedException", "This Runtime API serves only its own environment's runtime"
)


def next_reply(event: NextEvent | ApiReply) -> ApiReply:
    """The HTTP reply to ``GET /next``."""
    if isinstance(event, ApiReply):
        return event
    return ApiReply(200, event.payload, event.headers())


def reply_bytes(reply: ApiReply, keep_alive: bool) -> bytes:
    """A reply as it goes on the wire."""
    if reply is ACCEPTED and keep_alive:
        return ACCEPTED_BYTES
    lines = [b"HTTP/1.1 %d %s" % (reply.status, STATUS_TEXT.get(reply.status, b"OK"))]
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
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool
    oversized: bool
    # The reply already decided while the request was received (a streamed response).
    reply: ApiReply | None = None
