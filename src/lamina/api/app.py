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
import json
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from lamina.api import guard
from lamina.api.access import EdgeAccess
from lamina.api.endpoints import (
    QUEUE_URL_PATH,
    QueryService,
    ServiceDirectory,
    StreamingBody,
    WireResponse,
    is_query_request,
)
from lamina.api.http_triggers import HttpTrigger, TriggerRequest, TriggerResponse
from lamina.api.lambda_streaming_api import StreamedOutput
from lamina.api.large_body import PARSE_INLINE_BYTES, join_off_loop, parse_off_loop
from lamina.api.lean_invoke import INVOKE, InvokeWire
from lamina.api.sigv4 import SignedRequest, read_claim, unverified_payload
from lamina.api.trigger_edge import TriggerEdge
from lamina.api.wire import (
    error_response,
    error_response_off_loop,
    unexpected_as_error,
    unexpected_error,
)
from lamina.config import DEFAULT_ACCOUNT, DEFAULT_REGION
from lamina.domain.callers import FunctionCaller
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    AccessDeniedException,
    AwsError,
    RequestEntityTooLarge,
    RequestEntityTooLargeException,
    UnknownOperation,
    UnknownOperationException,
)
from lamina.domain.identity import Principal, SigningKey
from lamina.domain.ids import new_uuid

RawHandler = Callable[
    [str, dict[str, list[str]], dict[str, str], bytes],
    Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]],
]

# The largest request body Lambda accepts (CreateFunction with a 50 MB zip, base64).
MAX_REQUEST_BYTES = 70167211
# Lambda operations whose request AWS bounds below ``MAX_REQUEST_BYTES``: 413
# RequestEntityTooLargeException, "Request must be smaller than 5120 bytes for the
# UpdateFunctionConfiguration operation" (what SDK users have met since 2016, e.g. with
# environment variables near their 4 KB limit), before the body is parsed.
LAMBDA_OPERATION_LIMITS = {"UpdateFunctionConfiguration": 5120}
# The largest body of the JSON and query services (SQS's 1 MiB batches, however encoded).
SERVICE_MAX_REQUEST_BYTES = 8 * 1024 * 1024
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
        services: ServiceDirectory,
        internal: dict[str, RawHandler] | None = None,
        access: EdgeAccess | None = None,
        *,
        account_id: str = DEFAULT_ACCOUNT,
        default_region: str = DEFAULT_REGION,
        regions: Container[str] = frozenset(),
        triggers: list[HttpTrigger] | None = None,
    ) -> None:
        self.services = services
        # Function URLs and API stages (``api.http_triggers``): asked before the AWS APIs.
        self.triggers: list[HttpTrigger] = triggers if triggers is not None else []
        self.trigger_edge = TriggerEdge(self.triggers, access.hosts if access else None)
        # The lean path's Invoke (``_invoke``).
        self._invoke_wire = InvokeWire(services.rest_json.model)
        self.internal = internal or {}
        self.access = access
        self.account_id = account_id
        self.default_region = default_region
        # The regions a signature may select; any other name is served as the default.
        self.regions = regions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.triggers:
            trigger = self.trigger_edge.claim(scope)
            if trigger is not None:
                await self.trigger_edge.serve(trigger, scope, receive, send)
                return
        request_id = new_uuid()
        try:
            fields = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            query_string = scope.get("query_string", b"").decode("latin-1")
            request = _Request(scope, receive, scope["method"], raw_path, "", query_string, fields)
            status, headers, body = await self._dispatch(request, request_id)
        except Exception as exc:  # noqa: BLE001 - the one catch-all at the edge
            status, headers, body = unexpected_error(exc)
        headers.append((b"x-amzn-requestid", request_id.encode()))
        if isinstance(body, StreamingBody):
            await _send_streamed(send, status, headers, body)
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # --- function URLs and API stages (``api.trigger_edge``) ----------------------------------

    def lean_trigger(self, host: str, path: str) -> HttpTrigger | None:
        """The trigger of a request on the lean path (``api.http_protocol``)."""
        return self.trigger_edge.lean_trigger(host, path)

    async def respond_trigger(
        self, trigger: HttpTrigger, request: TriggerRequest
    ) -> TriggerResponse:
        """A trigger's answer to a request read ahead (the lean path)."""
        return await self.trigger_edge.respond(trigger, request)

    async def respond(
        self,
        method: str,
        raw_path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        client: tuple[str, int] | None,
    ) -> WireResponse:
        """A request whose body the HTTP protocol has read already (its lean path for small
        Invoke requests, ``api.http_protocol``): the same answer as through ASGI, with
        ``x-amzn-RequestId`` and ``content-length`` among the headers."""
        request_id = new_uuid()
        scope: Scope = {"type": "http", "method": method, "client": client}
        request = _Request(scope, _no_receive, method, raw_path, "", query_string, headers, body)
        try:
            if "x-amz-target" in headers:  # a JSON service's, whatever its path
                status, out_headers, out_body = await self._dispatch(request, request_id)
            else:
                status, out_headers, out_body = await self._invoke(request, request_id)
        except Exception as exc:  # noqa: BLE001 - the one catch-all at the edge
            status, out_headers, out_body = unexpected_error(exc)
        out_headers.append((b"x-amzn-requestid", request_id.encode()))
        out_headers.append((b"content-length", str(len(out_body)).encode()))
        return status, out_headers, out_body

    async def _invoke(self, request: _Request, request_id: str) -> WireResponse:
        """``_dispatch`` of a lean Invoke, whose path the protocol matched: a POST (never a
        preflight) to a Lambda API path (neither ``/_lamina/`` nor the query protocol's)."""
        access = self.access
        if access is not None and not access.hosts.allows(request.headers.get("host")):
            return guard.BAD_HOST
        request.path = request.raw_path
        if request.query_string:
            request.query = parse_qs(request.query_string, keep_blank_values=True)
        service = self.services.rest_json
        handler = service.handlers.get(INVOKE)
        if handler is None:
            return await self._rest_json(request, request_id)
        # ``_rest_json`` with Invoke's wire form (``api.lean_invoke``) for the model's.
        try:
            ctx, body = await self._authenticate(request, request_id, service.signing_name)
            params = self._invoke_wire.params(request.path, request.query, request.headers, body)
            if params is None:
                raise UnknownOperationException(f"Unknown operation POST {request.path}")
            if service.check is not None:  # caller and IAM checks (api.access)
                service.check(ctx, INVOKE, params)
            return self._invoke_wire.answer(await handler(ctx, params))
        except AwsError as error:
            return error_response(error)
        except Exception as exc:  # noqa: BLE001 - rendered as the service's internal error
            return error_response(unexpected_as_error(exc, lambda_api=True))

    async def _dispatch(self, request: _Request, request_id: str) -> WireResponse:
        headers = request.headers
        method = request.method
        access = self.access
        if access is not None:
            if not access.hosts.allows(headers.get("host")):
                return guard.BAD_HOST
            if guard.is_preflight(method, headers):
                return guard.PREFLIGHT_REFUSED
        path = request.path = request.raw_path.split("?", 1)[0]
        query_string = request.query_string
        query = request.query = (
            parse_qs(query_string, keep_blank_values=True) if query_string else {}
        )
        if path.startswith("/_lamina/"):
            try:
                return await self._internal(request.scope, request.receive, path, query, headers)
            except AwsError as error:
                return error_response(error)
        target = headers.get("x-amz-target")
        if target is not None:
            request.limit, request.lambda_limits = SERVICE_MAX_REQUEST_BYTES, False
            return await self._json(request, request_id, target)
        if is_query_request(method, path, headers, query) and self.services.query:
            request.limit, request.lambda_limits = SERVICE_MAX_REQUEST_BYTES, False
            return await self._query(request, request_id)
        return await self._rest_json(request, request_id)

    # --- protocols ----------------------------------------------------------------------------

    async def _rest_json(self, request: _Request, request_id: str) -> WireResponse:
        services = self.services
        service = services.rest_json
        if services.rest and not request.path.startswith("/20"):
            service = services.rest_service(
                request.path, _signing_name(request.headers, request.query)
            )
        try:
            model = service.model
            found = model.match(request.method, request.path, request.query)
            if found is not None and service is services.rest_json:
                request.operation = found[0].name
                request.limit = LAMBDA_OPERATION_LIMITS.get(request.operation, MAX_REQUEST_BYTES)
            ctx, body = await self._authenticate(request, request_id, service.signing_name)
            if found is None:
                raise UnknownOperationException(
                    f"Unknown operation {request.method} {request.path}"
                )
            op, labels = found
            handler = service.handlers.get(op.name)
            if handler is None:
                raise UnknownOperationException(
                    f"Operation {op.name} is not supported by Lamina yet"
                )
            params = await parse_off_loop(model, op, labels, request.query, request.headers, body)
            if service.check is not None:  # caller and IAM checks (api.access)
                service.check(ctx, op.name, params)
            output = await handler(ctx, params)
            if isinstance(output, StreamedOutput):
                return output.wire()  # InvokeWithResponseStream: sent as it comes
            return model.render_output(op, output)
        except AwsError as error:  # a validation error may echo a long value
            return await error_response_off_loop(error)
        except Exception as exc:  # noqa: BLE001 - rendered as the service's internal error
            return error_response(
                unexpected_as_error(exc, lambda_api=service is services.rest_json)
            )

    async def _json(self, request: _Request, request_id: str, target: str) -> WireResponse:
        service = self.services.by_target(target)
        if service is None:
            error = UnknownOperation(f"Lamina does not support the operation {target or '(none)'}.")
            body = json.dumps({"__type": error.code, "message": error.message}).encode()
            return error.status, [(b"x-amzn-errortype", error.code.encode())], body
        codec = service.codec
        try:
            ctx, body = await self._authenticate(request, request_id, service.signing_name)
            operation = codec.operation(target)
            handler = service.handlers.get(operation or "")
            if operation is None or handler is None:
                raise UnknownOperation(
                    f"Lamina does not support the operation {target.partition('.')[2] or target}."
                )
            if len(body) > PARSE_INLINE_BYTES:
                # A large batch takes milliseconds to decode: not on the event loop.
                params = await asyncio.to_thread(codec.parse, operation, body)
            else:
                params = codec.parse(operation, body)
            if service.check is not None:  # caller and IAM checks (api.access)
                service.check(ctx, operation, params)
            return codec.render(operation, await handler(ctx, params))
        except AwsError as error:
            return codec.render_error(error)
        except Exception as exc:  # noqa: BLE001 - rendered as the service's internal error
            failure = unexpected_as_error(exc, lambda_api=False)
            if service.internal_error is not None and failure.status == 500:
                failure = service.internal_error(failure.message)
            return codec.render_error(failure)

    async def _query(self, request: _Request, request_id: str) -> WireResponse:
        service: QueryService | None = None
        try:
            claim_service = _signing_name(request.headers, request.query)
            # The envelope of errors before the form is read: the signature's service, else
            # the query string's Version or the path's.
            service = self.services.query_service(claim_service, request.query, request.path)
            # The form is read before authentication only to pick the service; it is bounded
            # like every body, and a large one is decoded off the event loop.
            body = await self._body(request)
            form = dict(request.query)
            if request.method == "POST" and body:
                text = body.decode("utf-8", "replace")
                if len(body) > PARSE_INLINE_BYTES:
                    fields = await asyncio.to_thread(parse_qs, text, keep_blank_values=True)
                else:
                    fields = parse_qs(text, keep_blank_values=True)
                for key, values in fields.items():
                    form.setdefault(key, []).extend(values)
            service = self.services.query_service(claim_service, form, request.path)
            if service is None:
                return error_response(UnknownOperationException("Unknown operation"))
            ctx, _ = await self._authenticate(request, request_id, service.signing_name)
            operation = service.codec.operation(form)
            handler = service.handlers.get(operation)
            if handler is None:
                raise UnknownOperation(f"Lamina does not support the operation {operation}.")
            member = service.path_member
            if member and member not in form and QUEUE_URL_PATH.fullmatch(request.path):
                form[member] = [_url_of(request)]
            params = service.codec.parse(operation, form)
            if service.check is not None:  # caller and IAM checks (api.access)
                service.check(ctx, operation, params)
            return service.codec.render(operation, await handler(ctx, params), request_id)
        except AwsError as error:
            if service is None:
                return error_response(error)
            return service.codec.render_error(error, request_id)
        except Exception as exc:  # noqa: BLE001 - rendered as the service's internal error
            failure = unexpected_as_error(exc, lambda_api=False)
            if service is None:
                return error_response(failure)
            return service.codec.render_error(failure, request_id)

    # --- authentication -----------------------------------------------------------------------

    async def _authenticate(
        self, request: _Request, request_id: str, signing_name: str
    ) -> tuple[RequestContext, bytes]:
        """The request's context (region from its signature) and body; AWS's error for a
        request that is not signed as it must be."""
        access = self.access
        caller: FunctionCaller | None = None
        principal: Principal | None = None
        key: SigningKey | None = None
        region = self.default_region
        if access is not None:
            claim, key = access.admit(
                request.headers,
                request.query,
                relayed=access.is_relayed(request.scope.get("client")),
                browser=guard.from_browser(request.headers),
            )
            region = claim.region if claim.region in self.regions else self.default_region
            body = await self._body(request)
            if key is None:
                principal = access.root  # --auth off: a key the server does not know
                if len(body) > HASH_INLINE_BYTES:  # an aws-chunked body's join would stall
                    body = await asyncio.to_thread(unverified_payload, request.headers, body)
                else:
                    body = unverified_payload(request.headers, body)
            else:
                signed = SignedRequest(
                    request.method, request.raw_path, request.query_string, request.headers, body
                )
                if len(body) > HASH_INLINE_BYTES:
                    # Hashing a large body for the signature would stall every request.
                    principal, caller, body = await asyncio.to_thread(
                        access.identify, claim, key, signed, signing_name
                    )
                else:
                    principal, caller, body = access.identify(claim, key, signed, signing_name)
        else:
            body = await self._body(request)
        trace_header = request.headers.get("x-amzn-trace-id")
        context = RequestContext(
            request_id,
            self.account_id,
            region,
            caller,
            trace_header,
            principal,
            key.access_key_id if key is not None else None,
            key is not None and key.session_token is not None,
        )
        return context, body

    async def _internal(
        self,
        scope: Scope,
        receive: Receive,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
    ) -> WireResponse:
        """``/_lamina/*``: never through an environment's relay; from a web page only the
        self-signed code links and health."""
        access = self.access
        if access is not None:
            if access.is_relayed(scope.get("client")):
                return guard.NOT_FOUND
            if not path.startswith(UNSIGNED_INTERNAL) and guard.from_browser(headers):
                raise AccessDeniedException(_BROWSER_INTERNAL)
        request = _Request(scope, receive, scope["method"], path, path, "", headers, query=query)
        body = await self._body(request)
        for prefix, raw_handler in self.internal.items():
            if path.startswith(prefix):
                return await raw_handler(unquote(path[len(prefix) :]), query, headers, body)
        raise UnknownOperationException("Unknown operation")

    async def _body(self, request: _Request) -> bytes:
        """The request's body, read once, up to the request's limit."""
        if request.body is None:
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > request.limit:
                raise _too_large(request)
            request.body = await _read_body(request)
        return request.body


@dataclass(slots=True)
class _Request:
    scope: Scope
    receive: Receive
    method: str
    raw_path: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes | None = None
    query: dict[str, list[str]] = field(default_factory=dict)
    limit: int = MAX_REQUEST_BYTES
    # Over ``limit``: Lambda's RequestEntityTooLargeException (naming ``operation`` when it
    # is known), else the JSON and query services' RequestEntityTooLarge.
    lambda_limits: bool = True
    operation: str | None = None


async def _no_receive() -> dict[str, Any]:
    """The body of a request read ahead is never received again."""
    raise RuntimeError("the request's body was read ahead")


def _signing_name(headers: dict[str, str], query: dict[str, list[str]]) -> str | None:
    """The service a request is signed for (its credential scope), when it says."""
    try:
        return read_claim(headers, query).service
    except AwsError:
        return None


def _url_of(request: _Request) -> str:
    host = request.headers.get("host", "localhost")
    return f"http://{host}{request.path}"


_BROWSER_INTERNAL = "Lamina's own endpoints do not answer web pages."


def _too_large(request: _Request) -> AwsError:
    """A body larger than its request's limit (declared, or found while being read)."""
    if not request.lambda_limits:
        return RequestEntityTooLarge(f"Request must be smaller than {request.limit} bytes")
    operation = f" for the {request.operation} operation" if request.operation else ""
    return RequestEntityTooLargeException(
        f"Request must be smaller than {request.limit} bytes{operation}"
    )


async def _read_body(request: _Request) -> bytes:
    message = await request.receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > request.limit:
            raise _too_large(request)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await request.receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > request.limit:
            raise _too_large(request)
        chunks.append(chunk)
    return await join_off_loop(chunks, size)


async def _send_streamed(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: StreamingBody
) -> None:
    """A streamed answer (chunked unless its headers give its length), each piece written as
    soon as it is produced."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    try:
        async for piece in body.pieces():
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    finally:
        await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
