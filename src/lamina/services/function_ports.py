"""How other services (EventBridge targets, SNS subscriptions, schedules) hand an event to a
Lambda function: an asynchronous invocation, durably queued in the function's own region, so
the function's retries, maximum event age, destinations and dead-letter queue apply.

The contract only: ``wiring/function_sink.py`` implements it over the regions' Lambda."""

from __future__ import annotations

from typing import Protocol


class FunctionNotFound(Exception):
    """The function (or the version or alias the ARN names) does not exist, or its ARN names
    an account or region Lamina does not serve."""


class FunctionRejected(Exception):
    """The function exists but refused the event (e.g. a payload over the asynchronous
    limit): retrying the same event cannot succeed."""


class AsyncFunctionSink(Protocol):
    async def invoke_async(
        self, function_arn: str, payload: bytes, *, trace_header: str | None = None
    ) -> str:
        """Queue one asynchronous invocation of ``function_arn`` (``...:function:name`` with
        an optional ``:qualifier``); returns its request id once the event is durably
        queued. Raises ``FunctionNotFound`` or ``FunctionRejected``. ``trace_header``: the
        X-Ray header of the request that caused the event (its recursion counter goes on,
        services/recursion.py); None starts a new trace."""
        ...
