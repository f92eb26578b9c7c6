"""The AWS JSON 1.0/1.1 protocol (SQS, CloudWatch Logs; later EventBridge, Kinesis).

A request is ``POST /`` with ``X-Amz-Target: <targetPrefix>.<Operation>`` and a JSON object
body; the answer is a JSON object with ``Content-Type: application/x-amz-json-<version>``
(``metadata.jsonVersion``). An error is ``{"__type": "<namespace>#<code>", "<message_key>":
...}`` with the error's status. A service with the ``awsQueryCompatible`` trait (SQS) also
sends ``x-amzn-query-error: <legacy code>;Sender|Receiver`` on its own errors, which botocore
reports as ``Error.Code`` (keeping ``__type``'s code as ``Error.QueryErrorCode``). The codec
adds no ``x-amzn-RequestId``: the edge adds exactly one per response.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lamina.api.large_body import loads_sharing_the_gil
from lamina.api.protocols.errors import SerializationException, missing_parameter
from lamina.api.protocols.json_decode import BadValue, Decoder, MissingMember, compile_decoder
from lamina.api.protocols.shapes import ShapeGraph
from lamina.domain.errors import AwsError

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]
MissingParameterFactory = Callable[[str, str], AwsError]
SerializationErrorFactory = Callable[[str], AwsError]

_EMPTY_OBJECT = b"{}"


def _json_default(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself: timestamps (epoch seconds), blobs (base64)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_UTF8_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default)


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON (``\\u`` escapes only when a string cannot be UTF-8 encoded)."""
    try:
        return _UTF8_ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which only JSON escapes can carry
        return _ASCII_ENCODER.encode(value).encode("ascii")


class JsonCodec:
    """Parses requests and renders answers and errors of one JSON-protocol service model.

    ``parse`` raises the codec's errors: ``serialization_error(message)`` for a body that is
    not a JSON object or a member of the wrong type, ``missing_parameter(operation, member)``
    for an absent required member. Decoders are compiled once per operation.
    """

    def __init__(
        self,
        model: dict[str, Any],
        *,
        error_namespace: str | None = None,
        missing_parameter: MissingParameterFactory = missing_parameter,
        serialization_error: SerializationErrorFactory = SerializationException,
    ) -> None:
        self._graph = ShapeGraph(model)
        metadata = self._graph.metadata
        self.target_prefix: str = str(metadata["targetPrefix"])
        self.content_type = f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}"
        self._content_type_header = (b"content-type", self.content_type.encode())
        self._query_compatible = "awsQueryCompatible" in metadata
        self._error_namespace = error_namespace
        self._missing_parameter = missing_parameter
        self._serialization_error = serialization_error
        self._operations = frozenset(self._graph.operations)
        self._decoders: dict[str, Decoder | None] = {}
        self._shape_decoders: dict[str, Decoder] = {}

    @property
    def operations(self) -> frozenset[str]:
        return self._operations

    def operation(self, target: str) -> str | None:
        """``"AmazonSQS.SendMessage"`` -> ``"SendMessage"``; None when not one of ours."""
        prefix, dot, name = target.partition(".")
        if not dot or prefix != self.target_prefix or name not in self._operations:
            return None
        return name

    def _decoder(self, operation: str) -> Decoder | None:
        if operation in self._decoders:
            return self._decoders[operation]
        shape = self._graph.input_shape(operation)
        decoder = None if shape is None else compile_decoder(shape, self._shape_decoders)
        self._decoders[operation] = decoder
        return decoder

    def parse(self, operation: str, body: bytes) -> dict[str, Any]:
        """The request body as the operation's input shape (an empty body is ``{}``)."""
        if not body or body.isspace():
            data: Any = {}
        else:
            try:
                data = loads_sharing_the_gil(body)  # large bodies: called in a thread
            except (ValueError, RecursionError):  # RecursionError: nested too deep
                raise self._serialization_error("The request body is not valid JSON.") from None
            if type(data) is not dict:
                raise self._serialization_error("The request body must be a JSON object.")
        decoder = self._decoder(operation)
        if decoder is None:
            return {}
        try:
            parsed: dict[str, Any] = decoder(data, "")
        except BadValue as exc:
            raise self._serialization_error(exc.message) from None
        except MissingMember as exc:
            raise self._missing_parameter(operation, exc.member) from None
        return parsed

    def render(self, operation: str, output: dict[str, Any]) -> WireResponse:
        """``output`` as the JSON body (datetimes as epoch seconds, bytes as base64)."""
        body = dump_json(output) if output else _EMPTY_OBJECT
        return 200, [self._content_type_header], body

    def render_error(self, error: AwsError) -> WireResponse:
        """``{"__type": ..., <message_key>: ...}``, plus ``x-amzn-query-error: <query_code or
        code>;Sender|Receiver`` when the service is query-compatible."""
        namespace = getattr(error, "json_namespace", None) or self._error_namespace
        payload: dict[str, Any] = {
            "__type": f"{namespace}#{error.code}" if namespace else error.code,
            error.message_key: error.message,
        }
        payload.update(error.extra)
        # AWS's JSON services name the error in a header too (the SDKs read either).
        headers = [self._content_type_header, (b"x-amzn-errortype", error.code.encode())]
        # The request framework's own errors (unknown operation, bad JSON) carry no legacy code.
        framework_error = getattr(error, "json_namespace", None) is not None
        if self._query_compatible and not framework_error:
            fault = "Sender" if error.sender_fault else "Receiver"
            legacy = error.query_code or error.code
            headers.append((b"x-amzn-query-error", f"{legacy};{fault}".encode()))
        headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
        return error.status, headers, dump_json(payload)
