"""InvokeWithResponseStream (``POST /2021-11-15/functions/{FunctionName}/
response-streaming-invocations``): the function's response as an event stream.

The answer is 200 with ``Content-Type: application/vnd.amazon.eventstream`` and
``X-Amz-Executed-Version``; its body is one ``PayloadChunk`` event per chunk the function
wrote, sent as it comes, then ``InvokeComplete`` (``ErrorCode``, ``ErrorDetails``,
``LogResult``). Bad requests, unknown functions and throttles are answered before any of
it, with AWS's errors. ``DryRun`` validates and answers 204.

The handler returns a ``StreamedOutput``; the edge (``api.app``) sends its
``StreamingBody`` chunk by chunk instead of a rendered body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from lamina.api import eventstream
from lamina.api.endpoints import Handler, StreamingBody, WireResponse
from lamina.api.lambda_wire.refs import function_ref
from lamina.domain.context import RequestContext
from lamina.domain.errors import ValidationException
from lamina.domain.requests.invoke import DRY_RUN, LOG_TYPES, REQUEST_RESPONSE, InvokeRequest
from lamina.services.invoke import InvokeService
from lamina.services.invoke_streaming import StreamingInvocation

STREAM_INVOCATION_TYPES = (REQUEST_RESPONSE, DRY_RUN)


class StreamedOutput(dict[str, Any]):
    """A handler's output whose answer is streamed: ``wire()`` is what the edge sends."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__()
        self.status = status
        self.headers = headers
        self.body = body

    def wire(self) -> WireResponse:
        return self.status, list(self.headers), self.body


def stream_request(ctx: RequestContext, params: dict[str, Any]) -> InvokeRequest:
    """The enums first (InvocationType, then LogType), then the function's name."""
    invocation_type = params.get("InvocationType") or REQUEST_RESPONSE
    if invocation_type not in STREAM_INVOCATION_TYPES:
        raise ValidationException(
            f"1 validation error detected: Value '{invocation_type}' at 'invocationType' "
            "failed to satisfy constraint: Member must satisfy enum value set: "
            "[RequestResponse, DryRun]"
        )
    log_type = params.get("LogType") or "None"
    if log_type not in LOG_TYPES:
        raise ValidationException(
            f"1 validation error detected: Value '{log_type}' at 'logType' failed to "
            "satisfy constraint: Member must satisfy enum value set: [None, Tail]"
        )
    ref = function_ref(ctx, params, "InvokeWithResponseStream")
    return InvokeRequest(
        name=ref.name,
        qualifier=ref.qualifier,
        invocation_type=invocation_type,
        log_type=log_type,
        payload=params.get("Payload") or b"",
        client_context=params.get("ClientContext"),
    )


def event_stream(invocation: StreamingInvocation) -> Callable[[], AsyncIterator[bytes]]:
    """The answer's body: a ``PayloadChunk`` per chunk, then ``InvokeComplete``."""

    async def pieces() -> AsyncIterator[bytes]:
        chunks = invocation.chunks()
        try:
            async for chunk in chunks:
                yield b"".join(eventstream.payload_chunks(chunk))
        finally:
            if invocation.result is None:
                invocation.close()
        result = invocation.result
        assert result is not None
        yield eventstream.invoke_complete(
            result.error_code, result.error_details, result.log_result
        )

    return pieces


def streaming_handlers(invoke: InvokeService) -> dict[str, Handler]:
    async def invoke_with_response_stream(ctx: RequestContext, params: dict[str, Any]) -> Any:
        prepared = await invoke.prepare(ctx, stream_request(ctx, params))
        if prepared.invocation_type == DRY_RUN:
            return {"StatusCode": 204}
        invocation = await invoke.stream(prepared)
        headers = [
            (b"x-amz-executed-version", invocation.executed_version.encode()),
            (b"content-type", eventstream.CONTENT_TYPE.encode()),
        ]
        return StreamedOutput(200, headers, StreamingBody.of(event_stream(invocation)))

    return {"InvokeWithResponseStream": invoke_with_response_stream}
