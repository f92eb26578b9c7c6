"""Publish and PublishBatch: validation, FIFO deduplication, filter policies and the
durable fan-out.

A message is accepted once its notification and one delivery row per matching, confirmed
subscription are committed in one transaction (with the FIFO deduplication id it claims);
only then does Publish answer, and the deliverer takes over. Filter policies are applied
here, so only subscriptions that want the message get a row.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from lamina.domain.context import RequestContext
from lamina.services.sns import filtering, notification_codec
from lamina.services.sns.arns import parse_topic_arn
from lamina.services.sns.deliverer import Deliverer
from lamina.services.sns.errors import Throttled, invalid_parameter, topic_not_found
from lamina.services.sns.message_rules import MessageRequest, check_message, structured_messages
from lamina.services.sns.model import DELIVERED, Delivery, Notification, Topic
from lamina.services.sns.payloads import timestamp
from lamina.services.sns.registry import SnsRegistry
from lamina.store.sns_records import DedupEntry, NewDelivery, SnsStore, StoredMessage

# AWS's FIFO deduplication interval.
DEDUP_SECONDS = 300.0
# Bound on remembered deduplication ids (expired ones are dropped first).
MAX_DEDUP_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class Published:
    message_id: str
    sequence_number: str | None


class Publisher:
    def __init__(self, registry: SnsRegistry, store: SnsStore, deliverer: Deliverer) -> None:
        self._registry = registry
        self._store = store
        self._deliverer = deliverer
        # (topic ARN, deduplication id) -> (message id, sequence number, expiry)
        self._dedup: dict[tuple[str, str], tuple[str, str | None, float]] = {}
        self._last_sequence = 0

    def restore_dedup(self, entries: list[DedupEntry]) -> None:
        for entry in entries:
            self._dedup[(entry.topic_arn, entry.deduplication_id)] = (
                entry.message_id,
                None,
                entry.expires,
            )

    def publish_topic(self, ctx: RequestContext, arn: str | None, member: str) -> Topic:
        """The topic a Publish names: in the request's region (else ``Invalid parameter:
        TopicArn``), existing (else ``NotFound``)."""
        parsed = parse_topic_arn(arn, member)
        if parsed.region != ctx.region:
            raise invalid_parameter("TopicArn")
        topic = self._registry.topic_or_none(parsed.arn)
        if topic is None:
            raise topic_not_found()
        return topic

    def check(self, topic: Topic, request: MessageRequest) -> None:
        check_message(request, fifo=topic.fifo, content_dedup=topic.content_based_deduplication)

    async def publish(self, topic: Topic, requests: list[MessageRequest]) -> list[Published]:
        """Accept checked messages for ``topic``: durable before this returns."""
        if self._deliverer.full():
            raise Throttled("Rate exceeded")
        now = time.time()
        self._expire(now)
        results: list[Published] = []
        stored: list[StoredMessage] = []
        fan_out: list[tuple[Notification, list[str]]] = []
        new_deliveries: list[NewDelivery] = []
        dedup: list[DedupEntry] = []
        stamp = timestamp(now)
        for request in requests:
            dedup_id = self._dedup_id(topic, request)
            if dedup_id is not None:
                known = self._dedup.get((topic.arn, dedup_id))
                if known is not None and known[2] > now:
                    results.append(Published(known[0], known[1] or self._sequence()))
                    continue
            message_id = str(uuid.uuid4())
            sequence = self._sequence() if topic.fifo else None
            notification = Notification(
                message_id,
                topic.arn,
                request.message,
                structured_messages(request.message, request.structure),
                request.subject,
                request.attributes,
                stamp,
                request.group_id if topic.fifo else None,
                dedup_id,
                sequence,
                request.trace_header,
            )
            targets = self._targets(topic, notification)
            if dedup_id is not None:
                entry = DedupEntry(topic.arn, dedup_id, message_id, now + DEDUP_SECONDS)
                dedup.append(entry)
                self._dedup[(topic.arn, dedup_id)] = (message_id, sequence, entry.expires)
            if targets:
                stored.append(
                    StoredMessage(message_id, topic.arn, notification_codec.dumps(notification))
                )
                new_deliveries.extend(NewDelivery(message_id, arn, now) for arn in targets)
                fan_out.append((notification, targets))
            results.append(Published(message_id, sequence))
        if stored or dedup:
            try:
                ids = await self._store.publish(stored, new_deliveries, dedup)
            except BaseException:
                for entry in dedup:
                    self._dedup.pop((entry.topic_arn, entry.deduplication_id), None)
                raise
            position = 0
            for notification, targets in fan_out:
                deliveries = [
                    Delivery(ids[position + i], notification.message_id, arn, 0)
                    for i, arn in enumerate(targets)
                ]
                position += len(targets)
                self._deliverer.add(notification, deliveries, now)
        return results

    def _targets(self, topic: Topic, notification: Notification) -> list[str]:
        """The subscriptions a notification goes to: confirmed, of a protocol Lamina
        delivers, whose filter policy lets it through."""
        targets: list[str] = []
        for subscription in topic.subscriptions.values():
            if not subscription.confirmed or subscription.protocol not in DELIVERED:
                continue
            attributes = subscription.attributes
            if filtering.matches(
                attributes.get("FilterPolicy"),
                attributes.get("FilterPolicyScope"),
                notification.message_for(subscription.protocol),
                notification.attributes,
            ):
                targets.append(subscription.arn)
        return targets

    @staticmethod
    def _dedup_id(topic: Topic, request: MessageRequest) -> str | None:
        if not topic.fifo:
            return None
        if request.deduplication_id is not None:
            return request.deduplication_id
        return hashlib.sha256(request.message.encode()).hexdigest()

    def _sequence(self) -> str:
        """A FIFO sequence number: increasing, also across restarts (time-based)."""
        self._last_sequence = max(self._last_sequence + 1, time.time_ns() // 1000)
        return f"{self._last_sequence:020d}"

    def _expire(self, now: float) -> None:
        if len(self._dedup) < MAX_DEDUP_ENTRIES:
            return
        for key in [k for k, v in self._dedup.items() if v[2] <= now]:
            del self._dedup[key]
        if len(self._dedup) >= MAX_DEDUP_ENTRIES:
            raise Throttled("Rate exceeded")
