"""How pollers run a function: the ``FunctionInvoker`` port and its adapter over the invoke path.

A poller invokes synchronously (RequestResponse) with a batch, as Lambda does. The outcome is a
value: the function's response or its error. Two things are exceptions: ``Throttled`` (a 429
from the concurrency limits: the batch goes back to the queue and the poller backs off) and
``FunctionUnavailable`` (the function or qualifier no longer exists, or the platform could not
run it: nothing ran, the batch is left to reappear).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from lamina.domain.errors import LambdaError, TooManyRequestsException
from lamina.runtime.admission import BACKGROUND
from lamina.runtime.invocation import Invocation
from lamina.services.functions import FunctionService
from lamina.services.invoke import InvokeService
from lamina.services.recursion import RecursiveInvocationException, batch_trace_header

log = logging.getLogger("lamina.event_sources")

# Outcomes where the function never ran (the platform failed).
PLATFORM_ERRORS = frozenset({"Sandbox.Failure"})
# How long an invocation waits for room on the host before it counts as throttled.
ADMISSION_WAIT = 10.0


@dataclass(frozen=True, slots=True)
class FunctionTarget:
    """The function a mapping invokes: its name, the qualifier it names (None: unqualified) and
    the ARN it was invoked as."""

    name: str
    qualifier: str | None
    arn: str


@dataclass(frozen=True, slots=True)
class InvokeResult:
    payload: bytes
    function_error: str | None


class Throttled(Exception):
    """The function's concurrency (reserved or account) refused the invocation."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"throttled, retry after {retry_after:g}s")
        self.retry_after = retry_after


class FunctionUnavailable(Exception):
    """The function (or its version/alias) is gone, or the platform could not run it."""


class FunctionInvoker(Protocol):
    async def invoke(self, target: FunctionTarget, payload: bytes) -> InvokeResult:
        """Run the function once with ``payload``; ``Throttled`` / ``FunctionUnavailable``."""
        ...

    def concurrency_cap(self, target: FunctionTarget) -> int | None:
        """The function's reserved concurrency (None: none reserved)."""
        ...

    def timeout_seconds(self, target: FunctionTarget) -> int | None:
        """The function's timeout (None: the function is gone)."""
        ...


class InvokeServiceInvoker:
    """``FunctionInvoker`` over ``InvokeService.run`` (a concurrency lease, host admission as a
    background invocation, metrics and throttle counting like any invocation)."""

    def __init__(self, invoke: InvokeService, functions: FunctionService) -> None:
        self.invoke_service = invoke
        self.functions = functions

    async def invoke(self, target: FunctionTarget, payload: bytes) -> InvokeResult:
        try:
            config = self.functions.require(target.name, target.qualifier, route=True)
        except LambdaError as exc:
            raise FunctionUnavailable(exc.message) from None
        try:
            # The batch's AWSTraceHeader carries the recursion counter (services.recursion).
            trace_id = self.invoke_service.admit(config, batch_trace_header(payload))
        except RecursiveInvocationException as stopped:
            # Nothing runs: the batch reappears after its visibility timeout and goes to the
            # queue's dead-letter queue after maxReceiveCount, as on AWS.
            raise FunctionUnavailable(stopped.message) from None
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            payload=payload,
            invoked_arn=target.arn,
            client_context=None,
            trace_id=trace_id,
        )
        try:
            outcome = await self.invoke_service.run(config, invocation, BACKGROUND, ADMISSION_WAIT)
        except TooManyRequestsException as throttle:
            self.invoke_service.metrics.throttled(config.name, target.arn, throttle.reason)
            raise Throttled(throttle.retry_after) from None
        except LambdaError as exc:
            raise FunctionUnavailable(exc.message) from None
        if outcome.error_type in PLATFORM_ERRORS:
            raise FunctionUnavailable(outcome.payload.decode("utf-8", "replace"))
        return InvokeResult(outcome.payload, outcome.function_error)

    def concurrency_cap(self, target: FunctionTarget) -> int | None:
        return self.invoke_service.limiter.reserved(target.name)

    def timeout_seconds(self, target: FunctionTarget) -> int | None:
        try:
            return int(self.functions.require(target.name, target.qualifier).timeout)
        except LambdaError:
            return None
