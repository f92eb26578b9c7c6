"""Invoke: validate the request, pick an environment, run one invocation.

RequestResponse waits for the outcome; a function error is a value (HTTP 200 with
``X-Amz-Function-Error``), never an exception. Event is accepted with 202 once it is durably
queued (``event_queue``: ``services.async_invoke``, docs/async.md). DryRun only
validates (204).

Concurrency (``runtime.concurrency``): every invocation holds a lease while it runs, taken
before it gets an environment and released however it ends. A synchronous invocation
beyond what is available is refused with 429 ``TooManyRequestsException``; an asynchronous
one stays queued until capacity frees (every released lease calls ``on_capacity``).

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
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.domain.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    ServiceException,
    TooManyRequestsException,
    ValidationException,
)
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.tracing import new_trace_id
from lamina.runtime.admission import DEFAULT_ADMISSION_WAIT, INTERACTIVE
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.environment import Environment, EnvironmentGone, Invocation, Outcome
from lamina.runtime.pool import EnvironmentPool
from lamina.runtime.provisioned import ProvisionedEnvironments
from lamina.services.functions import FunctionService
from lamina.services.metrics import MetricsCollector

log = logging.getLogger("lamina.invoke")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")
LOG_TYPES = ("None", "Tail")


def log_tail(log_text: str) -> str:
    data = log_text.encode()[-LOG_TAIL_BYTES:]
    return base64.b64encode(data).decode()


class InvokeService:
    def __init__(
        self,
        functions: FunctionService,
        pool: EnvironmentPool,
        limiter: ConcurrencyLimiter | None = None,
        metrics: MetricsCollector | None = None,
    ) -> None:
        self.functions = functions
        self.pool = pool
        self.limiter = limiter or ConcurrencyLimiter()
        self.metrics = metrics or MetricsCollector(self.limiter, pool)
        # Stores an asynchronous invocation durably (set by the server).
        self.event_queue: (
            Callable[[FunctionConfig, str | None, Invocation], Awaitable[None]] | None
        ) = None
        # Called whenever capacity may have freed (a lease released, a reservation changed).
        self.on_capacity: Callable[[], None] | None = None
        # Provisioned environments (set by the server): served before the on-demand pool.
        self.provisioned: ProvisionedEnvironments | None = None
        # Seconds a synchronous invocation waits for room on the host before its 429.
        self.admission_wait = DEFAULT_ADMISSION_WAIT

    async def invoke(
        self, params: dict[str, Any], request_id: str | None = None
    ) -> dict[str, Any]:
        invocation_type = params.get("InvocationType") or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' "
                "failed to satisfy constraint: Member must satisfy enum value set: "
                "[Event, RequestResponse, DryRun]"
            )
        log_type = params.get("LogType") or "None"
        if log_type not in LOG_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{log_type}' at 'logType' failed to "
                "satisfy constraint: Member must satisfy enum value set: [None, Tail]"
            )
        ref = self.functions.ref(params, "Invoke")
        config = self.functions.require(ref.name, ref.qualifier or LATEST, route=True)
        payload: bytes = params.get("Payload") or b""
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            raise RequestTooLargeException(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )
        payload = _check_json(payload)
        client_context = _decode_client_context(params.get("ClientContext"))
        invoked_arn = config.arn if ref.qualifier is None else f"{config.arn}:{ref.qualifier}"
        request_id = request_id or str(uuid.uuid4())
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            invoked_arn=invoked_arn,
            client_context=client_context if invocation_type != "Event" else None,
            trace_id=new_trace_id(),
        )
        if invocation_type == "DryRun":
            return {"StatusCode": 204}
        if invocation_type == "Event":
            if self.event_queue is None:
                raise ServiceException("Asynchronous invocation is not available.")
            await self.event_queue(config, ref.qualifier, invocation)
            return {"StatusCode": 202}
        try:
            outcome = await self.run(config, invocation)
        except TooManyRequestsException as throttle:
            self.metrics.throttled(config.name, invoked_arn, throttle.reason)
            raise
        result: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": config.version,
            "Payload": outcome.payload,
        }
        if outcome.function_error:
            result["FunctionError"] = outcome.function_error
        if log_type == "Tail":
            result["LogResult"] = log_tail(outcome.log_text)
        return result

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
        slot = self.provisioned.take(config) if self.provisioned is not None else None
        if slot is not None:
            try:
                return await self._run_once(config, invocation, slot.env)
            except EnvironmentGone:
                pass  # it died before the event reached it: run the invocation elsewhere
            finally:
                assert self.provisioned is not None
                self.provisioned.give_back(slot)
        lease = self.limiter.acquire(config.name, not self.pool.has_idle(config))
        try:
            try:
                return await self._run_once(config, invocation, priority=priority, wait=wait)
            except EnvironmentGone:
                # The warm environment exited just before it got the event (its runtime had
                # crashed after the previous invocation): the invocation never ran; run it on
                # a fresh environment.
                return await self._run_once(config, invocation, priority=priority, wait=wait)
        finally:
            self.limiter.release(lease)
            if self.on_capacity is not None:
                self.on_capacity()

    def capacity_changed(self) -> None:
        """Capacity may have freed (a reservation changed): queued events may run."""
        if self.on_capacity is not None:
            self.on_capacity()

    async def _run_once(
        self,
        config: FunctionConfig,
        invocation: Invocation,
        env: Environment | None = None,
        *,
        priority: int = INTERACTIVE,
        wait: float | None = None,
    ) -> Outcome:
        """On ``env`` (a provisioned environment, given back by the caller) or on one of the
        pool's."""
        if env is not None:
            outcome = await env.invoke(invocation)
        else:
            env = await self.pool.acquire(config, priority, wait)
            try:
                outcome = await env.invoke(invocation)
            finally:
                self.pool.release(env)
        self.metrics.invoked(config.name, invocation.invoked_arn, config.version, outcome)
        return outcome


def _check_json(payload: bytes) -> bytes:
    if not payload.strip():
        return b"{}"
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestContentException(
            "Could not parse request body into json: Could not parse payload into json: "
            f"Invalid UTF-8 start byte 0x{payload[exc.start]:02x}"
        ) from None
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return payload


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
