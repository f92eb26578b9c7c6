"""Handing one payload to one target: a Lambda function (asynchronous invocation, so the
function's own retries, destinations and DLQ apply), an SQS queue, an SNS topic or another
event bus. Failures are ``DeliveryFailed`` with the error code EventBridge reports to
dead-letter queues and whether a retry could succeed (a missing resource cannot)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from lamina.domain.errors import AwsError
from lamina.services.events.arns import BusKey, parse_bus_arn, target_service
from lamina.services.events.model import Target
from lamina.services.function_ports import AsyncFunctionSink, FunctionNotFound, FunctionRejected
from lamina.services.queue_ports import QueueNotFound, QueueSink
from lamina.services.topic_ports import TopicNotFound, TopicRejected, TopicSink

NOT_FOUND: Final = "RESOURCE_NOT_FOUND"
CLIENT_ERROR: Final = "SDK_CLIENT_ERROR"
INTERNAL: Final = "INTERNAL_FAILURE"
THROTTLING: Final = "THROTTLING"
NO_PERMISSIONS: Final = "NO_PERMISSIONS"
EVENTS_PRINCIPAL: Final = "events.amazonaws.com"
# What each kind of target needs of EventBridge's principal in the target's own policy.
TARGET_ACTIONS: Final = {
    "lambda": "lambda:InvokeFunction",
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
}

# (service principal, source ARN, action, target ARN) -> whether the target's resource policy
# lets the service deliver (``--iam enforce``, wiring/authorization.py).
TargetPermits = Callable[[str, str, str, str], bool]

# Routes an event to another bus: False when there is no such bus.
BusRouter = Callable[[BusKey, dict[str, Any]], Awaitable[bool]]


class DeliveryFailed(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass
class TargetSinks:
    functions: AsyncFunctionSink
    queues: QueueSink
    topics: TopicSink | None
    buses: BusRouter | None = None
    permits: TargetPermits | None = None

    async def deliver(
        self,
        target: Target,
        payload: str,
        event: dict[str, Any],
        trace: str | None = None,
        rule_arn: str | None = None,
    ) -> None:
        """Deliver ``payload`` (``event``: the event it came from) to ``target``; ``trace``:
        the event's trace header, which a function target's chain continues. With
        ``permits``, the target's own policy must let EventBridge deliver for ``rule_arn``
        (AWS's NO_PERMISSIONS, never retried, otherwise)."""
        service = target_service(target.arn)
        action = TARGET_ACTIONS.get(service)
        permits = self.permits
        if permits is not None and rule_arn is not None and action is not None:
            self._require(permits(EVENTS_PRINCIPAL, rule_arn, action, target.arn), action, target)
        try:
            if service == "lambda":
                await self.functions.invoke_async(
                    target.arn, payload.encode("utf-8"), trace_header=trace
                )
            elif service == "sqs":
                await self.queues.send(
                    target.arn,
                    payload,
                    message_group_id=target.message_group_id,
                    deduplication_id=str(event.get("id")),
                    trace_header=trace,
                )
            elif service == "sns":
                await self._publish(target.arn, payload)
            elif service == "events":
                await self._route(target.arn, event)
            else:
                raise DeliveryFailed(
                    NOT_FOUND, f"Target {target.arn} is not a supported target.", retryable=False
                )
        except (FunctionNotFound, QueueNotFound, TopicNotFound) as exc:
            raise DeliveryFailed(NOT_FOUND, str(exc) or target.arn, retryable=False) from None
        except (FunctionRejected, TopicRejected) as exc:
            raise DeliveryFailed(CLIENT_ERROR, str(exc), retryable=False) from None
        except AwsError as exc:
            # The target's own service refused: a bad request stays bad (a FIFO queue
            # without a group id, a body too large); throttling and service errors pass.
            retryable = exc.status >= 500 or exc.status == 429
            code = CLIENT_ERROR if not retryable else THROTTLING if exc.status == 429 else INTERNAL
            raise DeliveryFailed(code, exc.message, retryable=retryable) from None

    @staticmethod
    def _require(allowed: bool, action: str, target: Target) -> None:
        if not allowed:
            raise DeliveryFailed(
                NO_PERMISSIONS,
                f"{EVENTS_PRINCIPAL} is not authorized to perform: {action} on resource: "
                f"{target.arn}: no resource-based policy allows it",
                retryable=False,
            )

    async def _publish(self, arn: str, payload: str) -> None:
        if self.topics is None:
            raise TopicNotFound(f"Topic does not exist: {arn}")
        await self.topics.publish(arn, payload)

    async def _route(self, arn: str, event: dict[str, Any]) -> None:
        key = parse_bus_arn(arn)
        if key is None or self.buses is None or not await self.buses(key, event):
            raise DeliveryFailed(NOT_FOUND, f"Event bus {arn} does not exist.", retryable=False)
