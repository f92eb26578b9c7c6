"""The HTTP edge: a bare ASGI application (no framework on the invoke path).

Routes:
- the Lambda REST API, matched and parsed from botocore's model (``api.model``);
- the CloudWatch Logs JSON API (``POST /`` with ``X-Amz-Target: Logs_20140328.*``);
- ``/_lamina/...``: Lamina's own endpoints (code download, health).

Every response carries ``x-amzn-RequestId``. Any ``LambdaError`` becomes the AWS
envelope in ``api.wire``; anything else is logged and answered with a 500
``ServiceException`` that never leaks a traceback.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from lamina.api.model import ServiceModel
from lamina.api.wire import error_response, unexpected_error
from lamina.domain.errors import (
    LambdaError,
    RequestEntityTooLargeException,
    UnknownOperationException,
)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
RawHandler = Callable[
    [str, dict[str, list[str]], dict[str, str], bytes],
    Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]],
]
LogsHandler = Callable[[str, bytes], Awaitable[tuple[int, dict[str, str], bytes]]]

# The largest request body Lambda accepts (CreateFunction with a 50 MB zip, base64).
MAX_REQUEST_BYTES = 70167211

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class EdgeApp:
    def __init__(
        self,
        model: ServiceModel,
        handlers: dict[str, Handler],
        logs_handler: LogsHandler | None = None,
        internal: dict[str, RawHandler] | None = None,
    ) -> None:
        self.model = model
        self.handlers = handlers
        self.logs_handler = logs_handler
        self.internal = internal or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        try:
            status, headers, body = await self._dispatch(scope, receive, request_id)
        except LambdaError as error:
            status, headers, body = error_response(error)
        except Exception as exc:  # noqa: BLE001 - the one catch-all at the edge
            status, headers, body = unexpected_error(exc)
        headers.append((b"x-amzn-requestid", request_id.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _dispatch(
        self, scope: Scope, receive: Receive, request_id: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            raise _too_large(scope, self.model)
        body = await _read_body(receive)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        method = scope["method"]

        target = headers.get("x-amz-target", "")
        if target.startswith("Logs_20140328.") and self.logs_handler is not None:
            status, extra, out = await self.logs_handler(target, body)
            return status, [(k.encode(), v.encode()) for k, v in extra.items()], out
        if path.startswith("/_lamina/"):
            for prefix, raw_handler in self.internal.items():
                if path.startswith(prefix):
                    return await raw_handler(unquote(path[len(prefix) :]), query, headers, body)
            raise UnknownOperationException("Unknown operation")

        found = self.model.match(method, path, query)
        if found is None:
            raise UnknownOperationException(f"Unknown operation {method} {path}")
        op, labels = found
        handler = self.handlers.get(op.name)
        if handler is None:
            raise UnknownOperationException(f"Operation {op.name} is not supported by Lamina yet")
        params = self.model.parse_input(op, labels, query, headers, body)
        params["__request_id__"] = request_id
        output = await handler(params)
        return self.model.render_output(op, output)


def _too_large(scope: Scope, model: ServiceModel) -> LambdaError:
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    found = model.match(scope["method"], path, {})
    name = found[0].name if found else "unknown"
    return RequestEntityTooLargeException(
        f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the {name} operation"
    )


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise RequestEntityTooLargeException(
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
