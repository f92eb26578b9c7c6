"""Invoke: validate the request, pick an environment, run one invocation.

RequestResponse waits for the outcome; a function error is a value (HTTP 200 with
``X-Amz-Function-Error``), never an exception. Event is accepted with 202 and run in
the background (the durable queue replaces this in its own issue). DryRun only
validates (204).

Concurrency (``runtime.concurrency``): every invocation holds a lease while it runs, taken
before it gets an environment and released however it ends. A synchronous invocation
beyond what is available is refused with 429 ``TooManyRequestsException``; an asynchronous
one waits in memory until capacity frees (see ``_run_event``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import time
import uuid
from typing import Any

from lamina.domain.errors import (
    InvalidRequestContentException,
    RequestTooLargeException,
    TooManyRequestsException,
    ValidationException,
)
from lamina.domain.models import LATEST, FunctionConfig
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.runtime.environment import EnvironmentGone, Invocation, Outcome
from lamina.runtime.pool import EnvironmentPool
from lamina.services.functions import FunctionService
from lamina.services.metrics import MetricsCollector

log = logging.getLogger("lamina.invoke")

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")
# How long a throttled asynchronous invocation keeps waiting for capacity (AWS's default
# MaximumEventAgeInSeconds), and the longest wait between its attempts.
EVENT_MAX_AGE = 6 * 3600.0
EVENT_RETRY_CAP = 1.0
LOG_TYPES = ("None", "Tail")


def _trace_id() -> str:
    return (
        f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};"
        f"Parent={os.urandom(8).hex()};Sampled=0"
    )


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
        self._background: set[asyncio.Task[Outcome | None]] = set()
        # Set (and dropped) when capacity may have freed: wakes throttled async invocations.
        self._capacity: asyncio.Event | None = None
        self._closing = False

    async def invoke(self, params: dict[str, Any]) -> dict[str, Any]:
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
        request_id = params.get("__request_id__") or str(uuid.uuid4())
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            invoked_arn=invoked_arn,
            client_context=client_context if invocation_type != "Event" else None,
            trace_id=_trace_id(),
        )
        if invocation_type == "DryRun":
            return {"StatusCode": 204}
        if invocation_type == "Event":
            task = asyncio.ensure_future(self._run_event(config, invocation))
            self._background.add(task)
            task.add_done_callback(self._event_done)
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

    async def run(self, config: FunctionConfig, invocation: Invocation) -> Outcome:
        """Run one invocation under a concurrency lease (or raise the 429)."""
        lease = self.limiter.acquire(config.name, not self.pool.has_idle(config))
        try:
            try:
                return await self._run_once(config, invocation)
            except EnvironmentGone:
                # The warm environment exited just before it got the event (its runtime had
                # crashed after the previous invocation): the invocation never ran; run it on
                # a fresh environment.
                return await self._run_once(config, invocation)
        finally:
            self.limiter.release(lease)
            if self._capacity is not None:
                self.capacity_changed()

    async def _run_event(self, config: FunctionConfig, invocation: Invocation) -> Outcome | None:
        """An asynchronous invocation: throttles are not the caller's problem (it already got
        its 202). It waits until capacity frees (woken by every lease released, or after
        the throttle's retry-after, at most ``EVENT_RETRY_CAP``) and tries again, with the
        function's current configuration, for up to ``EVENT_MAX_AGE``. As on AWS, an event
        for a function whose reserved concurrency is 0 is not retried."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EVENT_MAX_AGE
        counted = False  # an event counts as one throttled request, however often it waits
        while True:
            try:
                return await self.run(config, invocation)
            except TooManyRequestsException as throttle:
                if not counted:
                    counted = True
                    self.metrics.throttled(config.name, invocation.invoked_arn, throttle.reason)
                if self.limiter.reserved(config.name) == 0:
                    # AWS sends these straight to the on-failure destination / DLQ with the
                    # condition ZeroReservedConcurrency, without retries (lambda-spec §5).
                    log.warning(
                        "asynchronous invocation %s of %s dropped: reserved concurrency is 0",
                        invocation.request_id,
                        config.name,
                    )
                    return None
                remaining = deadline - loop.time()
                if self._closing or remaining <= 0:
                    log.warning(
                        "asynchronous invocation %s of %s dropped while throttled (%s)",
                        invocation.request_id,
                        config.name,
                        throttle.reason,
                    )
                    return None
                await self._wait_for_capacity(min(throttle.retry_after, EVENT_RETRY_CAP, remaining))
            current = self.functions.config(config.name, config.version)
            if current is None:
                log.warning(
                    "asynchronous invocation %s dropped: function %s no longer exists",
                    invocation.request_id,
                    config.name,
                )
                return None
            config = current

    async def _wait_for_capacity(self, timeout: float) -> None:
        if self._capacity is None:
            self._capacity = asyncio.Event()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._capacity.wait(), timeout)

    def capacity_changed(self) -> None:
        """Wake the asynchronous invocations waiting for capacity (they try again)."""
        event, self._capacity = self._capacity, None
        if event is not None:
            event.set()

    async def _run_once(self, config: FunctionConfig, invocation: Invocation) -> Outcome:
        env = await self.pool.acquire(config)
        try:
            outcome = await env.invoke(invocation)
        finally:
            self.pool.release(env)
        self.metrics.invoked(config.name, invocation.invoked_arn, config.version, outcome)
        return outcome

    def _event_done(self, task: asyncio.Task[Outcome | None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("asynchronous invocation failed: %s", task.exception())

    async def drain(self) -> None:
        self._closing = True
        self.capacity_changed()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


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
    except ValueError as exc:
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
    except (binascii.Error, ValueError):
        raise InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return decoded
