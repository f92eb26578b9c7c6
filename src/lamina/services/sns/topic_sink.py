"""``TopicSink`` (services/topic_ports.py) over the SNS service: how EventBridge targets and
asynchronous-invocation destinations publish to a topic."""

from __future__ import annotations

from lamina.services.sns.arns import parse_topic_arn
from lamina.services.sns.errors import SnsError, Throttled
from lamina.services.sns.message_rules import MessageRequest
from lamina.services.sns.publisher import Publisher
from lamina.services.sns.registry import SnsRegistry
from lamina.services.topic_ports import TopicAttribute, TopicNotFound, TopicRejected, TopicSink


class SnsTopicSink:
    """Publishes as Publish does (same checks, same durable fan-out). A malformed or unknown
    ARN is ``TopicNotFound``, a message the topic refuses ``TopicRejected``; ``Throttled``
    (Lamina's backlog bound) passes through as a retryable failure."""

    def __init__(self, registry: SnsRegistry, publisher: Publisher) -> None:
        self._registry = registry
        self._publisher = publisher

    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: dict[str, TopicAttribute] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        try:
            parsed = parse_topic_arn(topic_arn)
        except SnsError:
            raise TopicNotFound(topic_arn) from None
        topic = self._registry.topic_or_none(parsed.arn)
        if topic is None:
            raise TopicNotFound(topic_arn)
        request = MessageRequest(
            message,
            subject,
            None,
            dict(attributes or {}),
            group_id,
            deduplication_id if topic.fifo else None,
        )
        try:
            self._publisher.check(topic, request)
            published = await self._publisher.publish(topic, [request])
        except Throttled:
            raise  # the backlog is full: a later try can succeed
        except SnsError as exc:
            raise TopicRejected(exc.message) from None
        return published[0].message_id


_PORT: type[TopicSink] = SnsTopicSink
