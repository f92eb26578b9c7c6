"""Where asynchronous invocation records and dead letters go, one class per service:
Lambda functions (invoked asynchronously with the record as their event), and the
services Lamina does not have yet, whose records are kept in the queue database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.domain.destinations import DeliveryFailed
from lamina.domain.errors import LambdaError
from lamina.domain.tracing import new_trace_id
from lamina.services.event_invoke_config import LAMBDA_ARN
from lamina.services.functions import FunctionService
from lamina.store.ports import AsyncQueue
from lamina.store.records import Retained

RETAINED_DESTINATION_SERVICES = ("sqs", "sns", "events", "s3")


class LambdaDestination:
    """A Lambda function: invoked asynchronously with the record as its event."""

    def __init__(
        self,
        functions: FunctionService,
        submit: Callable[[str, str | None, bytes, str, str], Awaitable[None]],
    ) -> None:
        self.functions = functions
        self.submit = submit

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        match = LAMBDA_ARN.fullmatch(target)
        functions = self.functions
        if match is None:
            raise DeliveryFailed(f"not a function ARN: {target}")
        try:
            functions.require(match["name"], match["qualifier"])
        except LambdaError as exc:
            raise DeliveryFailed(exc.message) from None
        await self.submit(
            match["name"], match["qualifier"], body, str(uuid.uuid4()), new_trace_id()
        )


class RetainedDestination:
    """A service Lamina does not have yet (SQS, SNS, EventBridge, S3): the record (or dead
    letter) is kept in the queue database, counted and visible (``lamina queue``)."""

    def __init__(self, store: AsyncQueue, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        await self.store.retain(
            Retained(
                function=delivery["function"],
                reason=delivery["kind"],
                target=target,
                request_id=delivery["requestId"],
                body=body,
                attributes=delivery.get("attributes"),
                created_at=self.clock(),
            )
        )
