"""Streaming invocations (InvokeWithResponseStream, RESPONSE_STREAM function URLs).

``open_stream`` runs a prepared RequestResponse invocation whose response goes to a
``ResponseStream``: once the runtime starts streaming (or the invocation ended first) it
returns a ``StreamingInvocation`` whose ``chunks()`` yields the response as the function
writes it, and whose ``result`` (after the chunks) says how it ended. A throttle (429) or any
other refusal before the function runs is raised by ``open_stream`` itself, so the caller
can still answer it as an error.

The concurrency lease and the environment are held until the invocation ends (the stream's
end, its error trailer, a timeout or a crash), as for a buffered invocation. A function that
answers buffered (a plain ``/response``) streams its payload as one chunk. A reader that
stops early (``close``) abandons the stream: the function runs on, its output is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from lamina.domain.errors import TooManyRequestsException
from lamina.runtime.invocation import Outcome
from lamina.runtime.response_stream import ResponseStream
from lamina.services.invoke import InvokeService, PreparedInvocation, log_tail


@dataclass(frozen=True)
class StreamResult:
    """How a streamed invocation ended (InvokeComplete's members)."""

    error_code: str | None
    error_details: str | None
    log_result: str | None
    function_error: str | None = None


class StreamingInvocation:
    """A running invocation's response, chunk by chunk."""

    def __init__(
        self,
        prepared: PreparedInvocation,
        stream: ResponseStream,
        task: asyncio.Future[Outcome],
    ) -> None:
        self.prepared = prepared
        self.executed_version = prepared.config.version
        self._stream = stream
        self._task = task
        self.result: StreamResult | None = None

    @property
    def streamed(self) -> bool:
        """Whether the runtime streams its response (False: it answered buffered, or the
        invocation failed before it started streaming)."""
        return self._stream.started

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` the runtime gave its streamed response (None: buffered)."""
        return self._stream.content_type

    async def chunks(self) -> AsyncIterator[bytes]:
        """The response's chunks as they come; ``result`` is set once they are over."""
        stream = self._stream
        try:
            async for chunk in stream.chunks():
                yield chunk
            outcome = await self._task
            if not stream.started and outcome.function_error is None and outcome.payload:
                yield outcome.payload  # a buffered response: one chunk
            self.result = _result(outcome, self.prepared.log_type)
        finally:
            if self.result is None:
                stream.abandon()

    def close(self) -> None:
        """The reader stops: the function's further output is dropped."""
        self._stream.abandon()


async def open_stream(invoke: InvokeService, prepared: PreparedInvocation) -> StreamingInvocation:
    """Start the invocation; return once its response starts (or it ended)."""
    stream = ResponseStream()
    invocation = dataclasses.replace(prepared.invocation, stream=stream)
    config = prepared.config
    task = asyncio.ensure_future(invoke.run(config, invocation))
    task.add_done_callback(lambda _: stream.end())
    waiter = asyncio.ensure_future(stream.ready())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        stream.abandon()
        raise
    finally:
        waiter.cancel()
    if task.done() and task.exception() is not None:
        error = task.exception()
        if isinstance(error, TooManyRequestsException):
            invoke.metrics.throttled(config.name, invocation.invoked_arn, error.reason)
        assert error is not None
        raise error
    return StreamingInvocation(prepared, stream, task)


def _result(outcome: Outcome, log_type: str) -> StreamResult:
    tail = log_tail(outcome.log_text) if log_type == "Tail" else None
    if outcome.function_error is None:
        return StreamResult(None, None, tail)
    return StreamResult(
        outcome.error_type or outcome.function_error,
        _error_details(outcome.payload),
        tail,
        outcome.function_error,
    )


def _error_details(payload: bytes) -> str:
    """The error document's ``errorMessage`` (the document itself when it has none)."""
    text = payload.decode("utf-8", "replace")
    with contextlib.suppress(ValueError, RecursionError):
        document = json.loads(text)
        if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
            return str(document["errorMessage"])
    return text
