"""One delivery of a schedule's payload to its target, by the target ARN's service:

- ``lambda``: an asynchronous invocation (the function's durable queue; its own retries,
  destinations and dead-letter queue apply afterwards);
- ``sqs``: a message (``SqsParameters.MessageGroupId`` for FIFO queues);
- ``sns``: a published message (FIFO topics get the schedule's message group id too);
- ``events``: an event on the bus, ``EventBridgeParameters`` giving its detail-type and
  source, the payload its detail, the schedule's ARN its resources.

The payload is the target's ``Input`` ("{}" without one). A failure raises
``DeliveryFailed``, retryable or not.
"""

from __future__ import annotations

from collections.abc import Callable

from lamina.domain.errors import AwsError
from lamina.services.event_bus_ports import EventBusNotFound, EventBusRejected, EventBusSink
from lamina.services.function_ports import AsyncFunctionSink, FunctionNotFound, FunctionRejected
from lamina.services.queue_ports import QueueNotFound, QueueSink
from lamina.services.scheduler.records import TargetRecord
from lamina.services.topic_ports import TopicNotFound, TopicRejected, TopicSink

DEFAULT_INPUT = "{}"
# What a schedule's role must be allowed on each kind of target.
TARGET_ACTIONS = {
    "lambda": "lambda:InvokeFunction",
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "events": "events:PutEvents",
}
# (role ARN, action, target ARN) -> AWS's denial when the role may not (``--iam enforce``,
# wiring/authorization.py), else None.
RoleCheck = Callable[[str, str, str], str | None]


class DeliveryFailed(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


def payload_of(target: TargetRecord) -> str:
    return target.input if target.input is not None else DEFAULT_INPUT


def _transient(error: AwsError) -> bool:
    """Whether retrying may succeed: a throttle or the service's own failure."""
    return error.status >= 500 or error.status == 429 or "Throttl" in error.code


def _refused(error: AwsError) -> DeliveryFailed:
    return DeliveryFailed(
        error.query_code or error.code, error.message, retryable=_transient(error)
    )


class TargetSinks:
    """The services a schedule delivers to (topics and buses are optional)."""

    def __init__(
        self,
        functions: AsyncFunctionSink,
        queues: QueueSink,
        topics: TopicSink | None = None,
        buses: EventBusSink | None = None,
    ) -> None:
        self.functions = functions
        self.queues = queues
        self.topics = topics
        self.buses = buses
        # Under ``--iam enforce``: the schedule's role acts on the target, as on AWS.
        self.role_check: RoleCheck | None = None

    async def send(self, target: TargetRecord, schedule_arn: str) -> None:
        """Deliver ``target``'s payload once; ``DeliveryFailed`` if it did not happen."""
        parts = target.arn.split(":")
        service = parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""
        action = TARGET_ACTIONS.get(service)
        if self.role_check is not None and action is not None:
            denial = self.role_check(target.role_arn, action, target.arn)
            if denial is not None:
                raise DeliveryFailed("AccessDeniedException", denial, retryable=False)
        try:
            if service == "lambda":
                await self._invoke(target)
            elif service == "sqs":
                await self._enqueue(target)
            elif service == "sns" and self.topics is not None:
                await self._publish(target, self.topics)
            elif service == "events" and self.buses is not None:
                await self._put_event(target, schedule_arn, self.buses)
            else:
                raise DeliveryFailed(
                    "UnsupportedTarget", f"Lamina does not deliver to {target.arn}", retryable=False
                )
        except AwsError as error:
            raise _refused(error) from None

    async def _invoke(self, target: TargetRecord) -> None:
        try:
            await self.functions.invoke_async(target.arn, payload_of(target).encode())
        except FunctionNotFound as exc:
            raise DeliveryFailed(
                "ResourceNotFoundException", str(exc) or "Function not found", retryable=True
            ) from None
        except FunctionRejected as exc:
            raise DeliveryFailed("InvalidRequestException", str(exc), retryable=False) from None

    async def _enqueue(self, target: TargetRecord) -> None:
        try:
            await self.queues.send(
                target.arn, payload_of(target), message_group_id=target.message_group_id
            )
        except QueueNotFound as exc:
            raise DeliveryFailed(
                "AWS.SimpleQueueService.NonExistentQueue",
                str(exc) or "The specified queue does not exist.",
                retryable=True,
            ) from None

    async def _publish(self, target: TargetRecord, topics: TopicSink) -> None:
        try:
            await topics.publish(target.arn, payload_of(target), group_id=target.message_group_id)
        except TopicNotFound as exc:
            raise DeliveryFailed(
                "NotFound", str(exc) or "Topic does not exist", retryable=True
            ) from None
        except TopicRejected as exc:
            raise DeliveryFailed("InvalidParameter", str(exc), retryable=False) from None

    async def _put_event(
        self, target: TargetRecord, schedule_arn: str, buses: EventBusSink
    ) -> None:
        if target.detail_type is None or target.source is None:
            raise DeliveryFailed(
                "ValidationException",
                "EventBridgeParameters (DetailType, Source) are required for an event bus.",
                retryable=False,
            )
        try:
            await buses.put_event(
                target.arn,
                source=target.source,
                detail_type=target.detail_type,
                detail=payload_of(target),
                resources=[schedule_arn],
            )
        except EventBusNotFound as exc:
            raise DeliveryFailed(
                "ResourceNotFoundException", str(exc) or "Event bus does not exist", retryable=True
            ) from None
        except EventBusRejected as exc:
            raise DeliveryFailed("ValidationException", str(exc), retryable=False) from None
