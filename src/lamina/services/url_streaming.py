"""RESPONSE_STREAM function URLs: the function's response streamed to the HTTP client as it
writes it (``FunctionUrlTrigger`` calls ``stream_url_response`` for such URLs).

The answer's head comes from the function's HTTP prelude when its stream has the content
type ``application/vnd.awslambda.http-integration-response`` (Node.js
``awslambda.HttpResponseStream.from``): a JSON document ``{"statusCode", "headers",
"cookies"}`` ended by 8 NUL bytes, bounded by ``MAX_PRELUDE_BYTES``. Otherwise the answer is
200 with the runtime's ``Content-Type`` (``application/octet-stream`` when it gave none), as
AWS propagates it. The body chunks follow as they come (sent chunked by the edge). A
function that answers buffered gets the BUFFERED inference (``url_response.map_result``).

Errors before the first byte are the URL's usual answers: 429 throttle, 413, 403 when the
function went away, 502 for a function error or a malformed prelude. An error after the head
went out ends the body where it is (the client sees a response shorter than it expected).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from lamina.api.http_triggers import TriggerResponse
from lamina.api.url_cors import with_cors
from lamina.api.url_event import encode_event
from lamina.api.url_response import UrlAnswer, bad_gateway, map_result
from lamina.config import DEFAULT_ACCOUNT
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    AwsError,
    RequestTooLargeException,
    ResourceNotFoundException,
    TooManyRequestsException,
)
from lamina.domain.requests.invoke import InvokeRequest
from lamina.services.invoke_streaming import StreamingInvocation
from lamina.services.url_model import FunctionUrlConfig

if TYPE_CHECKING:
    from lamina.api.url_trigger import UrlRegion

log = logging.getLogger("lamina.urls")

HTTP_INTEGRATION_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_END = b"\0" * 8
MAX_PRELUDE_BYTES = 64 * 1024
DEFAULT_STREAM_TYPE = "application/octet-stream"


async def stream_url_response(
    regional: UrlRegion, config: FunctionUrlConfig, event: dict[str, Any], request_id: str
) -> TriggerResponse:
    """Invoke the URL's function with its response streamed; the answer whose ``stream``
    yields the body as the function writes it."""
    from lamina.api.url_trigger import forbidden, throttled, too_large

    account = str(event.get("requestContext", {}).get("accountId") or DEFAULT_ACCOUNT)
    ctx = RequestContext(
        request_id, account if account.isdigit() else DEFAULT_ACCOUNT, regional.region
    )
    invoke = regional.invoke
    try:
        prepared = await invoke.prepare(
            ctx, InvokeRequest(config.function, config.qualifier, payload=encode_event(event))
        )
        invocation = await invoke.stream(prepared)
    except TooManyRequestsException:
        return _finish(throttled(), config, event, request_id)
    except RequestTooLargeException:
        return _finish(too_large(), config, event, request_id)
    except ResourceNotFoundException:
        return _finish(forbidden(), config, event, request_id)
    except AwsError as error:
        log.warning("function URL %s: %s", config.url_id, error.message)
        return _finish(bad_gateway(), config, event, request_id)
    return await _answer(invocation, config, event, request_id)


async def _answer(
    invocation: StreamingInvocation,
    config: FunctionUrlConfig,
    event: dict[str, Any],
    request_id: str,
) -> TriggerResponse:
    chunks = invocation.chunks()
    if not invocation.streamed:
        # A buffered response: the BUFFERED inference.
        payload = b"".join([chunk async for chunk in chunks])
        result = invocation.result
        function_error = result.function_error if result is not None else "Unhandled"
        return _finish(map_result(payload, function_error), config, event, request_id)
    content_type = invocation.content_type or DEFAULT_STREAM_TYPE
    head = UrlAnswer(200, [("content-type", content_type)])
    first = b""
    if content_type == HTTP_INTEGRATION_TYPE:
        parsed = await _read_prelude(chunks)
        if parsed is None:
            invocation.close()
            return _finish(bad_gateway(), config, event, request_id)
        head, first = parsed
    response = _finish(head, config, event, request_id)
    response.stream = _body(first, chunks, invocation)
    return response


async def _read_prelude(chunks: AsyncIterator[bytes]) -> tuple[UrlAnswer, bytes] | None:
    """The prelude's answer head and the body bytes read past it; None: malformed, too
    large, or the stream ended (or failed) before its end."""
    buffered = b""
    async for chunk in chunks:
        buffered += chunk
        end = buffered.find(PRELUDE_END)
        if end >= 0:
            head = _prelude_head(buffered[:end])
            return None if head is None else (head, buffered[end + len(PRELUDE_END) :])
        if len(buffered) > MAX_PRELUDE_BYTES:
            return None
    return None


def _prelude_head(raw: bytes) -> UrlAnswer | None:
    try:
        prelude = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None
    if not isinstance(prelude, dict):
        return None
    status = prelude.get("statusCode", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    headers: list[tuple[str, str]] = []
    given = prelude.get("headers")
    given = {} if given is None else given
    if not isinstance(given, dict):
        return None
    for name, value in given.items():
        headers.append((str(name).lower(), value if isinstance(value, str) else json.dumps(value)))
    if not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", DEFAULT_STREAM_TYPE))
    cookies = prelude.get("cookies")
    cookies = [] if cookies is None else cookies
    if not isinstance(cookies, list):
        return None
    headers.extend(("set-cookie", str(cookie)) for cookie in cookies)
    return UrlAnswer(status, headers)


async def _body(
    first: bytes, chunks: AsyncIterator[bytes], invocation: StreamingInvocation
) -> AsyncIterator[bytes]:
    try:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk
    finally:
        if invocation.result is None:
            invocation.close()


def _finish(
    answer: UrlAnswer, config: FunctionUrlConfig, event: dict[str, Any], request_id: str
) -> TriggerResponse:
    headers = [*answer.headers, ("x-amzn-requestid", request_id)]
    if config.cors is not None:
        origin = (event.get("headers") or {}).get("origin")
        headers = with_cors(config.cors, origin, headers)
    return TriggerResponse(answer.status, headers, answer.body)
