"""A runtime's streamed response on the Runtime API (docs/http.md "Response streaming").

A ``POST /runtime/invocation/<id>/response`` with ``Lambda-Runtime-Function-Response-Mode:
streaming`` (and ``Transfer-Encoding: chunked``) is not buffered: from its head on, each
body chunk the parser reports goes straight to the invocation's ``ResponseStream``, and the
request's end (its trailers ``Lambda-Runtime-Function-Error-Type`` and
``Lambda-Runtime-Function-Error-Body``, base64) ends the invocation. When the reader falls
behind, the connection stops reading from the runtime (``pause_stream``) until it catches
up. A connection lost mid-stream ends the invocation with ``Runtime.TruncatedResponse``.

Any other value of the mode header is refused as AWS's RAPID does: 400
``InvalidFunctionResponseMode`` to the runtime, ``Runtime.InvalidResponseModeHeader`` to the
caller. Only admitted connections stream (a connection still being checked is buffered).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lamina.runtime.response_stream import ResponseStream
from lamina.runtime.runtime_api_wire import INVOCATION_PATH, ApiReply, runtime_error

if TYPE_CHECKING:
    from lamina.runtime.runtime_api_connection import _RuntimeApiConnection

STREAMING_MODE = "streaming"
ERROR_TYPE_TRAILER = "lambda-runtime-function-error-type"
ERROR_BODY_TRAILER = "lambda-runtime-function-error-body"


@runtime_checkable
class StreamingHandler(Protocol):
    """A Runtime API handler that takes streamed responses (the environment)."""

    def begin_stream(self, request_id: str, content_type: str | None) -> ResponseStream | ApiReply:
        """The runtime starts streaming the response of ``request_id``: the stream its
        chunks go to, or the error reply (unknown request id)."""
        ...

    def end_stream(self, request_id: str, error_type: str | None, error_body: bytes) -> ApiReply:
        """The streamed response ended (with the trailers' error when ``error_type``)."""
        ...

    def reject_response_mode(self, request_id: str, mode: str) -> ApiReply:
        """The runtime sent an unknown response mode: fail the invocation, answer 400."""
        ...


class StreamedResponse:
    """One streamed response being received on a connection."""

    __slots__ = ("_connection", "_handler", "_request_id", "_sink", "_reply")

    def __init__(
        self,
        connection: _RuntimeApiConnection,
        handler: StreamingHandler,
        request_id: str,
        sink: ResponseStream | None,
        reply: ApiReply | None,
    ) -> None:
        self._connection = connection
        self._handler = handler
        self._request_id = request_id
        self._sink = sink
        self._reply = reply

    @classmethod
    def start(cls, connection: _RuntimeApiConnection) -> StreamedResponse | None:
        """After the head of a request with the mode header: a streamed response, or None
        when the request is no invocation response (it is handled as usual)."""
        handler = connection.server.handler
        if not isinstance(handler, StreamingHandler):
            return None
        path = connection._url.decode("latin-1").split("?", 1)[0]
        found = INVOCATION_PATH.match(path)
        if found is None or found.group(2) != "response":
            return None
        request_id = found.group(1)
        headers = connection._headers
        mode = headers.get("lambda-runtime-function-response-mode", "")
        if mode.lower() != STREAMING_MODE:
            reply = handler.reject_response_mode(request_id, mode)
            return cls(connection, handler, request_id, None, reply)
        opened = handler.begin_stream(request_id, headers.get("content-type"))
        if isinstance(opened, ApiReply):
            return cls(connection, handler, request_id, None, opened)
        opened.on_resume(connection.resume_stream)
        return cls(connection, handler, request_id, opened, None)

    def push(self, chunk: bytes) -> None:
        sink = self._sink
        if sink is not None and not sink.push(chunk):
            self._connection.pause_stream()

    def complete(self, trailers: dict[str, str]) -> ApiReply:
        """The request ended: end the invocation; the reply to the runtime."""
        if self._reply is not None:
            return self._reply
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.on_resume(None)
        error_type = trailers.get(ERROR_TYPE_TRAILER) or None
        body = b""
        if error_type is not None:
            body = decode_error_body(trailers.get(ERROR_BODY_TRAILER, ""), error_type)
        return self._handler.end_stream(self._request_id, error_type, body)

    def truncated(self) -> None:
        """The connection was lost before the request ended."""
        if self._reply is not None or self._sink is None:
            return
        self._sink = None
        body = json.dumps(
            {
                "errorMessage": "Response stream was truncated before completion",
                "errorType": "Runtime.TruncatedResponse",
            }
        ).encode()
        self._handler.end_stream(self._request_id, "Runtime.TruncatedResponse", body)


def decode_error_body(value: str, error_type: str) -> bytes:
    """The ``Lambda-Runtime-Function-Error-Body`` trailer (base64 of the error document);
    an absent or undecodable one becomes ``{"errorType": ...}``."""
    if value:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    return json.dumps({"errorType": error_type, "errorMessage": ""}).encode()


def invalid_mode_reply(mode: str) -> ApiReply:
    return runtime_error(
        400,
        "InvalidFunctionResponseMode",
        f"Invalid function response mode: {mode}",
    )
