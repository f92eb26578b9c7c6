"""Invoke: validate the request, pick an environment, run one invocation.

``prepare`` validates and resolves one request; RequestResponse then runs it (``call``) and
waits for the outcome: a function error is a value (HTTP 200 with ``X-Amz-Function-Error``),
never an exception. Event is handed by the api layer to ``services.async_invoke`` (202 once
durably queued, docs/async.md). DryRun only validates (204).

Concurrency (``runtime.concurrency``): every invocation holds a lease while it runs, taken
before it gets an environment and released however it ends. A synchronous invocation
beyond what is available is refused with 429 ``TooManyRequestsException``; an asynchronous
one stays queued until capacity frees (every released lease emits ``capacity_freed``).

Host admission (``runtime.admission``): an invocation that needs a new environment when the
host has no room for one waits (for room, or, see ``runtime.pool``, a released environment), a
synchronous one (``INTERACTIVE``, served first) for at most ``admission_wait`` seconds, then
429 ``ConcurrentInvocationLimitExceeded``; an asynchronous one (``BACKGROUND``) as long as
its dispatcher allows.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.domain import function_states
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    TooManyRequestsException,
)
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.requests.invoke import DRY_RUN, EVENT, InvokeRequest, InvokeResult
from lamina.domain.tracing import new_trace_id
from lamina.runtime.admission import DEFAULT_ADMISSION_WAIT, INTERACTIVE
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.environment import Environment
from lamina.runtime.invocation import EnvironmentGone, Invocation, Outcome
from lamina.runtime.pool import EnvironmentPool
from lamina.runtime.provisioned import ProvisionedEnvironments
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.metrics import MetricsCollector
from lamina.services.payload_check import PayloadChecker
from lamina.services.signals import LambdaSignals

if TYPE_CHECKING:
    from lamina.services.invoke_streaming import StreamingInvocation
    from lamina.services.recursion import RecursionGuard

log = logging.getLogger("lamina.invoke")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
LOG_TAIL_BYTES = 4096


def log_tail(log_text: str) -> str:
    data = log_text.encode()[-LOG_TAIL_BYTES:]
    return base64.b64encode(data).decode()


# Made on every invocation: not frozen (a frozen dataclass's __init__ costs a call per field).
@dataclass(slots=True)
class PreparedInvocation:
    """An invocation validated and resolved, ready to run (RequestResponse), to queue
    (Event: ``AsyncInvoker.enqueue(config, qualifier, invocation)``) or to drop (DryRun)."""

    config: FunctionConfig
    qualifier: str | None
    invocation: Invocation
    invocation_type: str
    log_type: str


class InvokeService:
    """Runs invocations. Emits ``signals.capacity_freed`` after every released lease."""

    def __init__(
        self,
        catalog: FunctionCatalog,
        pool: EnvironmentPool,
        limiter: ConcurrencyLimiter,
        metrics: MetricsCollector,
        provisioned: ProvisionedEnvironments | None,
        signals: LambdaSignals,
        admission_wait: float = DEFAULT_ADMISSION_WAIT,
        recursion: RecursionGuard | None = None,
        payloads: PayloadChecker | None = None,
    ) -> None:
        self._catalog = catalog
        # Whether a payload is JSON (a large one in a worker process: ``services.payload_check``).
        self._payloads = payloads if payloads is not None else PayloadChecker()
        # Recursive loop detection (``services.recursion``): every invocation path asks it.
        self.recursion = recursion
        self.pool = pool
        self.limiter = limiter
        self.metrics = metrics
        # Provisioned environments: served before the on-demand pool.
        self._provisioned = provisioned
        self._signals = signals
        # Seconds a synchronous invocation waits for room on the host before its 429.
        self.admission_wait = admission_wait
        # ``(region, key ARN)`` → raises Invoke's KMS 502 when a function's ``KMSKeyArn``
        # cannot decrypt its variables (set by the wiring when KMS is served).
        self.kms_key_check: Callable[[str, str], Awaitable[None]] | None = None

    async def prepare(self, ctx: RequestContext, request: InvokeRequest) -> PreparedInvocation:
        """Resolve the function (an alias picks its version by weight), check the payload
        (size for the invocation type, JSON) and the client context; the invocation carries
        the request's id."""
        config = self._catalog.require(request.name, request.qualifier or LATEST, route=True)
        if config.state == function_states.PENDING:
            raise function_states.not_invocable_while_pending()
        payload = request.payload
        is_event = request.invocation_type == EVENT
        limit = ASYNC_PAYLOAD_LIMIT if is_event else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            raise RequestTooLargeException(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )
        if not request.payload_is_json:
            payload = await self._payloads.check(payload)
        client_context = _decode_client_context(request.client_context)
        qualifier = request.qualifier
        invoked_arn = config.arn if qualifier is None else f"{config.arn}:{qualifier}"
        if is_event:
            # Counted when the queued event runs (``AsyncInvoker``): a loop's event is
            # accepted, then goes to the dead-letter queue or on-failure destination.
            trace_id = ctx.trace_header or new_trace_id()
        elif request.invocation_type == DRY_RUN:
            trace_id = new_trace_id()
        else:
            trace_id = self.admit(config, ctx.trace_header)  # 400 when a loop is stopped
        invocation = Invocation(
            request_id=ctx.request_id,
            payload=payload,
            invoked_arn=invoked_arn,
            client_context=None if is_event else client_context,
            trace_id=trace_id,
            log_tail=request.log_type == "Tail",
        )
        return PreparedInvocation(
            config, qualifier, invocation, request.invocation_type, request.log_type
        )

    def admit(self, config: FunctionConfig, trace_header: str | None) -> str:
        """The trace header of one more invocation of ``config``'s function in the chain of
        ``trace_header``; ``RecursiveInvocationException`` when recursive loop detection
        stops it (``services.recursion``)."""
        if self.recursion is None:
            return trace_header or new_trace_id()
        return self.recursion.admit(config.name, config.arn, trace_header)

    async def call(self, prepared: PreparedInvocation) -> InvokeResult:
        """Run a synchronous invocation: the function's error is a value; a throttle is
        counted and raised (429)."""
        config, invocation = prepared.config, prepared.invocation
        try:
            outcome = await self.run(config, invocation)
        except TooManyRequestsException as throttle:
            self.metrics.throttled(config.name, invocation.invoked_arn, throttle.reason)
            raise
        tail = log_tail(outcome.log_text) if prepared.log_type == "Tail" else None
        return InvokeResult(config.version, outcome.payload, outcome.function_error, tail)

    async def stream(self, prepared: PreparedInvocation) -> StreamingInvocation:
        """Run a synchronous invocation whose response is streamed as the function writes
        it (``services.invoke_streaming``); a throttle is counted and raised (429)."""
        from lamina.services.invoke_streaming import open_stream

        return await open_stream(self, prepared)

    async def run(
        self,
        config: FunctionConfig,
        invocation: Invocation,
        priority: int = INTERACTIVE,
        wait: float | None = None,
    ) -> Outcome:
        """Run one invocation under a concurrency lease (or raise the 429). An idle
        provisioned environment of the version serves it first, under a provisioned lease;
        when all are busy it spills over to the on-demand pool, where it waits for room on
        the host up to ``wait`` seconds (a synchronous invocation: ``admission_wait``)."""
        if wait is None and priority == INTERACTIVE:
            wait = self.admission_wait
        if self.kms_key_check is not None and config.passthrough.get("KMSKeyArn"):
            await self.kms_key_check(config.region, config.passthrough["KMSKeyArn"])
        provisioned = self._provisioned
        slot = provisioned.take(config) if provisioned is not None else None
        if slot is not None:
            assert provisioned is not None
            try:
                return await self._run_once(config, invocation, slot.env)
            except EnvironmentGone:
                pass  # it died before the event reached it: run the invocation elsewhere
            finally:
                provisioned.give_back(slot)
        lease = self.limiter.acquire(config.name, not self.pool.has_idle(config))
        try:
            try:
                return await self._run_once(config, invocation, priority=priority, wait=wait)
            except EnvironmentGone as gone:
                # The warm environment exited just before it got the event (its runtime had
                # crashed after the previous invocation), or a cold start's init outlived its
                # 10 s (the retry's init then runs inside the invocation, in the same log
                # stream, as on AWS): the invocation never ran; run it on a fresh environment.
                return await self._run_once(
                    config, invocation, priority=priority, wait=wait, continues=gone.log_stream
                )
        finally:
            self.limiter.release(lease)
            self._signals.capacity_freed.emit()

    async def _run_once(
        self,
        config: FunctionConfig,
        invocation: Invocation,
        env: Environment | None = None,
        *,
        priority: int = INTERACTIVE,
        wait: float | None = None,
        continues: str | None = None,
    ) -> Outcome:
        """On ``env`` (a provisioned environment, given back by the caller) or on one of the
        pool's (a new one continuing the log stream ``continues``, if it is new)."""
        if env is not None:
            outcome = await env.invoke(invocation)
        else:
            env = await self.pool.acquire(config, priority, wait, continues)
            try:
                outcome = await env.invoke(invocation)
            finally:
                self.pool.release(env)
        self.metrics.invoked(config.name, invocation.invoked_arn, config.version, outcome)
        return outcome


def _decode_client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
        json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return decoded
