"""The HTTP edge: a bare ASGI application (no framework on the invoke path).

Routes:
- the Lambda REST API, matched and parsed from botocore's model (``api.model``);
- the CloudWatch Logs JSON API (``POST /`` with ``X-Amz-Target: Logs_20140328.*``);
- ``/_lamina/...``: Lamina's own endpoints (code download, health).

Before any of that: the ``Host`` must name this server and CORS preflights get no grant
(``api.guard``); Lambda and Logs requests must be signed, and calls made with an execution
environment's credentials are verified and limited by the function access policy
(``api.access``). ``/_lamina/*`` needs no signature (code links carry their own, health is
public) but is never reachable from inside an environment nor from a web page.

Every response carries ``x-amzn-RequestId``. Any ``LambdaError`` becomes the AWS
envelope in ``api.wire``; anything else is logged and answered with a 500
``ServiceException`` that never leaks a traceback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from lamina.api import guard
from lamina.api.access import EdgeAccess, logs_error
from lamina.api.large_body import parse_off_loop
from lamina.api.model import ServiceModel
from lamina.api.sigv4 import SignedRequest
from lamina.api.wire import error_response, unexpected_error
from lamina.domain.callers import FunctionCaller
from lamina.domain.errors import (
    AccessDeniedException,
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
LOGS_TARGET_PREFIX = "Logs_20140328."
# Bodies larger than this are hashed (signature verification) on a worker thread.
HASH_INLINE_BYTES = 256 * 1024
# Lamina's endpoints that need no signature: code links carry their own, health is public.
UNSIGNED_INTERNAL = ("/_lamina/code/", "/_lamina/health")

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
        access: EdgeAccess | None = None,
    ) -> None:
        self.model = model
        self.handlers = handlers
        self.logs_handler = logs_handler
        self.internal = internal or {}
        self.access = access

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
        method = scope["method"]
        access = self.access
        if access is not None:
            if not access.hosts.allows(headers.get("host")):
                return guard.BAD_HOST
            if guard.is_preflight(method, headers):
                return guard.PREFLIGHT_REFUSED
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        path = raw_path.split("?", 1)[0]
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = parse_qs(query_string, keep_blank_values=True)
        if path.startswith("/_lamina/"):
            return await self._internal(scope, receive, path, query, headers)
        target = headers.get("x-amz-target", "")
        is_logs = target.startswith(LOGS_TARGET_PREFIX) and self.logs_handler is not None
        logs_target = target if is_logs else None
        body: bytes | None = None
        caller: FunctionCaller | None = None
        if access is not None:
            try:
                claim, credentials = access.admit(
                    headers,
                    query,
                    relayed=access.is_relayed(scope.get("client")),
                    browser=guard.from_browser(headers),
                )
                if credentials is not None:
                    body = await self._body(scope, receive, headers)
                    request = SignedRequest(method, raw_path, query_string, headers, body)
                    service = "lambda" if logs_target is None else "logs"
                    if len(body) > HASH_INLINE_BYTES:
                        # Hashing a large body for the signature would stall every request.
                        caller = await asyncio.to_thread(
                            access.identify, claim, credentials, request, service
                        )
                    else:
                        caller = access.identify(claim, credentials, request, service)
            except LambdaError as error:
                if logs_target is not None:
                    return logs_error(error.code, error.message, error.status)
                raise
        if body is None:
            body = await self._body(scope, receive, headers)
        if logs_target is not None and self.logs_handler is not None:
            if caller is not None and access is not None:
                refused = access.check_logs(caller, logs_target, body)
                if refused is not None:
                    return refused
            status, extra, out = await self.logs_handler(logs_target, body)
            return status, [(k.encode(), v.encode()) for k, v in extra.items()], out
        found = self.model.match(method, path, query)
        if found is None:
            raise UnknownOperationException(f"Unknown operation {method} {path}")
        op, labels = found
        handler = self.handlers.get(op.name)
        if handler is None:
            raise UnknownOperationException(f"Operation {op.name} is not supported by Lamina yet")
        params = await parse_off_loop(self.model, op, labels, query, headers, body)
        if caller is not None and access is not None:
            access.check_lambda(caller, op.name, params)
        params["__request_id__"] = request_id
        output = await handler(params)
        return self.model.render_output(op, output)

    async def _internal(
        self,
        scope: Scope,
        receive: Receive,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """``/_lamina/*``: never through an environment's relay; from a web page only the
        self-signed code links and health."""
        access = self.access
        if access is not None:
            if access.is_relayed(scope.get("client")):
                return guard.NOT_FOUND
            if not path.startswith(UNSIGNED_INTERNAL) and guard.from_browser(headers):
                raise AccessDeniedException(_BROWSER_INTERNAL)
        body = await self._body(scope, receive, headers)
        for prefix, raw_handler in self.internal.items():
            if path.startswith(prefix):
                return await raw_handler(unquote(path[len(prefix) :]), query, headers, body)
        raise UnknownOperationException("Unknown operation")

    async def _body(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> bytes:
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            raise _too_large(scope, self.model)
        return await _read_body(receive)


_BROWSER_INTERNAL = "Lamina's own endpoints do not answer web pages."


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
