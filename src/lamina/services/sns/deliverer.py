"""The delivery worker: takes the durable fan-out Publish committed and delivers each
notification to its subscription, retrying per AWS's delivery policy, then sending it to
the subscription's dead-letter queue (``RedrivePolicy``) or dropping it.

Every pending delivery is a row of the store; a delivery is forgotten (its row deleted)
only after it succeeded, was dead-lettered or dropped, so a SIGKILL loses none: the next
start loads the rows and delivers them (at least once, as SNS). Bounds: at most
``MAX_IN_FLIGHT`` deliveries at a time; undelivered messages are held in memory up to
``MAX_PENDING_BYTES`` (Publish is throttled beyond, see ``Publisher``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
import uuid
from collections.abc import Callable

from lamina.services.function_ports import AsyncFunctionSink, FunctionNotFound, FunctionRejected
from lamina.services.queue_ports import MessageAttribute, QueueNotFound, QueueSink
from lamina.services.sns import http_delivery, payloads, retry_policy
from lamina.services.sns.model import Delivery, Notification, Subscription
from lamina.services.sns.registry import SnsRegistry
from lamina.store.sns_records import SnsStore

log = logging.getLogger("lamina.sns")

MAX_IN_FLIGHT = 64
MAX_PENDING_BYTES = 128 * 1024 * 1024
MAX_PENDING_DELIVERIES = 1_000_000
MAX_CONFIRMATIONS_IN_FLIGHT = 16
MAX_CONFIRMATIONS_QUEUED = 1_000


class PermanentFailure(Exception):
    """A delivery that cannot succeed however often it is tried (client-side error)."""


SNS_PRINCIPAL = "sns.amazonaws.com"
# What a subscription's endpoint must let SNS do in its own resource policy.
ENDPOINT_ACTIONS = {"sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction"}
# (service principal, source ARN, action, endpoint ARN) -> whether the endpoint's resource
# policy lets SNS deliver (``--iam enforce``, wiring/authorization.py).
EndpointPermits = Callable[[str, str, str, str], bool]


class Deliverer:
    """Owns the pending deliveries: a due-time heap and the notifications they need."""

    def __init__(
        self,
        registry: SnsRegistry,
        store: SnsStore,
        queues: QueueSink,
        functions: AsyncFunctionSink | None,
        urls: payloads.Urls,
    ) -> None:
        self._registry = registry
        self._store = store
        self._queues = queues
        self._functions = functions
        self._urls = urls
        self._heap: list[tuple[float, int]] = []
        self._deliveries: dict[int, Delivery] = {}
        self._notifications: dict[str, Notification] = {}
        self._references: dict[str, int] = {}
        self.pending_bytes = 0
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._confirm_slots = asyncio.Semaphore(MAX_CONFIRMATIONS_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._confirmations = 0
        self._runner: asyncio.Task[None] | None = None
        self._finished: list[tuple[int, str]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.delivered = 0
        # Under ``--iam enforce``: an endpoint's policy must let SNS deliver (AWS: a
        # client-side error, never retried).
        self.permits: EndpointPermits | None = None

    def bind_functions(self, functions: AsyncFunctionSink) -> None:
        """The function sink (wired once the regions exist)."""
        self._functions = functions

    # --- the queue ----------------------------------------------------------------------

    def add(self, notification: Notification, deliveries: list[Delivery], due: float) -> None:
        """Hold ``notification`` for its committed ``deliveries`` and wake the worker."""
        if not deliveries:
            return
        if notification.message_id not in self._notifications:
            self._notifications[notification.message_id] = notification
            self.pending_bytes += notification.size()
        self._references[notification.message_id] = self._references.get(
            notification.message_id, 0
        ) + len(deliveries)
        for delivery in deliveries:
            self._deliveries[delivery.delivery_id] = delivery
            heapq.heappush(self._heap, (due, delivery.delivery_id))
        self._wake.set()

    def pending(self) -> int:
        return len(self._deliveries)

    def full(self) -> bool:
        """Whether the backlog is at its bound (Publish is throttled until it drains)."""
        return (
            self.pending_bytes > MAX_PENDING_BYTES
            or len(self._deliveries) >= MAX_PENDING_DELIVERIES
        )

    def _release(self, delivery: Delivery) -> None:
        self._deliveries.pop(delivery.delivery_id, None)
        left = self._references.get(delivery.message_id, 1) - 1
        if left <= 0:
            self._references.pop(delivery.message_id, None)
            notification = self._notifications.pop(delivery.message_id, None)
            if notification is not None:
                self.pending_bytes -= notification.size()
        else:
            self._references[delivery.message_id] = left

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._runner = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self._flush_finished()

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        while True:
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                _, delivery_id = heapq.heappop(self._heap)
                delivery = self._deliveries.get(delivery_id)
                if delivery is None:
                    continue
                await self._slots.acquire()
                self._spawn(self._deliver(delivery))
            self._wake.clear()
            timeout = self._heap[0][0] - time.time() if self._heap else None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    # --- one delivery -------------------------------------------------------------------

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except Exception:  # noqa: BLE001 - one delivery's bug must not stop the worker
            log.exception("SNS delivery %s failed unexpectedly", delivery.delivery_id)
        finally:
            self._slots.release()

    async def _attempt(self, delivery: Delivery) -> None:
        subscription = self._registry.find_subscription(delivery.subscription_arn)
        notification = self._notifications.get(delivery.message_id)
        if subscription is None or notification is None:
            await self._finish(delivery)  # unsubscribed meanwhile: nothing is owed
            return
        try:
            await self._send(subscription, notification)
        except PermanentFailure as failure:
            log.info("SNS delivery to %s failed: %s", subscription.endpoint, failure)
            await self._give_up(delivery, subscription, notification)
            return
        except Exception as failure:  # noqa: BLE001 - any other failure is retried
            delay = self._retry_delay(subscription, delivery.attempts + 1)
            if delay is None:
                await self._give_up(delivery, subscription, notification)
                return
            log.info("SNS delivery to %s failed (%s), retrying", subscription.endpoint, failure)
            attempts = delivery.attempts + 1
            due = time.time() + delay
            await self._store.reschedule(delivery.delivery_id, attempts, due)
            retried = Delivery(
                delivery.delivery_id, delivery.message_id, delivery.subscription_arn, attempts
            )
            self._deliveries[delivery.delivery_id] = retried
            heapq.heappush(self._heap, (due, delivery.delivery_id))
            self._wake.set()
            return
        self.delivered += 1
        await self._finish(delivery)

    def _retry_delay(self, subscription: Subscription, retry: int) -> float | None:
        if subscription.protocol in ("http", "https"):
            topic = self._registry.topic_or_none(subscription.topic_arn)
            topic_policy = topic.attributes.get("DeliveryPolicy") if topic else None
            policy = retry_policy.http_policy(
                subscription.attributes.get("DeliveryPolicy"), topic_policy
            )
            return policy.delay(retry)
        return retry_policy.managed_delay(retry)

    async def _finish(self, delivery: Delivery) -> None:
        """Forget a finished delivery: at once in memory, in the store with the others that
        finish meanwhile (one write for many; until it commits, a restart delivers it
        again, which SNS's at-least-once allows)."""
        self._release(delivery)
        self._finished.append((delivery.delivery_id, delivery.message_id))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_finished())

    async def _flush_finished(self) -> None:
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                await self._store.finish_deliveries(batch)
            except Exception:  # noqa: BLE001 - the rows stay: delivered again after a restart
                log.exception("forgetting %d finished SNS deliveries failed", len(batch))

    async def _give_up(
        self, delivery: Delivery, subscription: Subscription, notification: Notification
    ) -> None:
        """Dead-letter the notification when the subscription has a RedrivePolicy."""
        dead_letter = subscription.dead_letter_arn
        if dead_letter is not None:
            body, attributes = self._sqs_body(subscription, notification)
            try:
                await self._queues.send(
                    dead_letter,
                    body,
                    attributes,
                    message_group_id=notification.group_id,
                    deduplication_id=notification.deduplication_id,
                    trace_header=notification.trace_header,
                )
            except Exception as exc:  # noqa: BLE001 - AWS drops it too when the DLQ fails
                log.info("SNS dead-letter queue %s refused a message: %s", dead_letter, exc)
        await self._finish(delivery)

    # --- protocols ----------------------------------------------------------------------

    def _sqs_body(
        self, subscription: Subscription, notification: Notification
    ) -> tuple[str, dict[str, MessageAttribute] | None]:
        if subscription.raw:
            return notification.message_for("sqs"), payloads.sqs_attributes(notification.attributes)
        envelope = payloads.envelope(notification, subscription.arn, "sqs", self._urls)
        return payloads.render_envelope(envelope), None

    async def _send(self, subscription: Subscription, notification: Notification) -> None:
        protocol = subscription.protocol
        action = ENDPOINT_ACTIONS.get(protocol)
        permits = self.permits
        if (
            permits is not None
            and action is not None
            and not permits(SNS_PRINCIPAL, subscription.topic_arn, action, subscription.endpoint)
        ):
            raise PermanentFailure(
                f"{SNS_PRINCIPAL} is not authorized to perform: {action} on resource: "
                f"{subscription.endpoint}: no resource-based policy allows it"
            )
        if protocol == "sqs":
            body, attributes = self._sqs_body(subscription, notification)
            try:
                await self._queues.send(
                    subscription.endpoint,
                    body,
                    attributes,
                    message_group_id=notification.group_id,
                    deduplication_id=notification.deduplication_id,
                    trace_header=notification.trace_header,
                )
            except QueueNotFound:
                raise PermanentFailure("the queue does not exist") from None
        elif protocol == "lambda":
            if self._functions is None:
                raise RuntimeError("no function sink is wired")
            event = payloads.lambda_event(notification, subscription.arn, self._urls)
            try:
                await self._functions.invoke_async(
                    subscription.endpoint,
                    json.dumps(event).encode(),
                    trace_header=notification.trace_header,
                )
            except (FunctionNotFound, FunctionRejected) as exc:
                raise PermanentFailure(str(exc) or type(exc).__name__) from None
        elif protocol in ("http", "https"):
            await self._post_notification(subscription, notification)

    async def _post_notification(
        self, subscription: Subscription, notification: Notification
    ) -> None:
        headers = {
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": notification.message_id,
            "x-amz-sns-topic-arn": notification.topic_arn,
            "x-amz-sns-subscription-arn": subscription.arn,
            "Content-Type": self._content_type(subscription),
        }
        if subscription.raw:
            headers["x-amz-sns-rawdelivery"] = "true"
            body = notification.message_for(subscription.protocol).encode()
        else:
            envelope = payloads.envelope(
                notification, subscription.arn, subscription.protocol, self._urls
            )
            body = payloads.render_envelope(envelope).encode()
        status = await http_delivery.post(subscription.endpoint, body, headers)
        if 200 <= status < 300:
            return
        if status >= 500 or status == 429:
            raise http_delivery.DeliveryFailed(f"HTTP {status}")
        raise PermanentFailure(f"HTTP {status}")

    def _content_type(self, subscription: Subscription) -> str:
        for text in (
            subscription.attributes.get("DeliveryPolicy"),
            (
                topic.attributes.get("DeliveryPolicy")
                if (topic := self._registry.topic_or_none(subscription.topic_arn))
                else None
            ),
        ):
            if not text:
                continue
            try:
                policy = json.loads(text)
            except ValueError:
                continue
            request = policy.get("requestPolicy") or (policy.get("http") or {}).get(
                "defaultRequestPolicy"
            )
            if isinstance(request, dict) and isinstance(request.get("headerContentType"), str):
                return str(request["headerContentType"])
        return "text/plain; charset=UTF-8"

    # --- HTTP/S subscription confirmations ---------------------------------------------

    def send_confirmation(self, subscription: Subscription) -> None:
        """POST the SubscriptionConfirmation (three tries, not durable: Subscribe again to
        get another). At most ``MAX_CONFIRMATIONS_QUEUED`` wait their turn; beyond, none is
        sent (the subscription stays pending)."""
        if self._confirmations >= MAX_CONFIRMATIONS_QUEUED:
            log.warning(
                "too many SNS confirmations waiting; none sent to %s", subscription.endpoint
            )
            return
        self._confirmations += 1
        self._spawn(self._confirm(subscription))

    async def _confirm(self, subscription: Subscription) -> None:
        message_id = str(uuid.uuid4())
        confirmation = payloads.confirmation(
            subscription.topic_arn, subscription.token, message_id, self._urls
        )
        body = payloads.render_envelope(confirmation).encode()
        headers = {
            "x-amz-sns-message-type": "SubscriptionConfirmation",
            "x-amz-sns-message-id": message_id,
            "x-amz-sns-topic-arn": subscription.topic_arn,
            "Content-Type": "text/plain; charset=UTF-8",
        }
        try:
            await self._post_confirmation(subscription, body, headers)
        finally:
            self._confirmations -= 1

    async def _post_confirmation(
        self, subscription: Subscription, body: bytes, headers: dict[str, str]
    ) -> None:
        async with self._confirm_slots:
            for attempt in range(3):
                try:
                    status = await http_delivery.post(subscription.endpoint, body, headers)
                except http_delivery.DeliveryFailed:
                    status = 0
                if 200 <= status < 300:
                    return
                await asyncio.sleep(1.0 + attempt)
