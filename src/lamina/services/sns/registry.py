"""Topics and subscriptions: kept in memory for lookups, written through the store before
any answer (each change is one committed transaction).

Bounds: AWS's quotas of 100,000 standard and 1,000 FIFO topics per account and region;
Lamina keeps at most ``MAX_SUBSCRIPTIONS_PER_TOPIC`` subscriptions per topic (AWS allows
12,500,000) and, as AWS, at most 5,000 pending confirmations per topic.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterable

from lamina.domain.context import RequestContext
from lamina.services.sns import subscription_attributes as sub_attrs
from lamina.services.sns import topic_attributes as topic_attrs
from lamina.services.sns.arns import (
    check_topic_name,
    parse_subscription_arn,
    parse_topic_arn,
    topic_arn,
)
from lamina.services.sns.endpoints import checked_endpoint
from lamina.services.sns.errors import (
    InvalidParameter,
    SubscriptionLimitExceeded,
    TopicLimitExceeded,
    invalid_parameter,
    subscription_not_found,
    topic_not_found,
)
from lamina.services.sns.filtering import json_parse_error
from lamina.services.sns.model import CONFIRMED_AT_ONCE, PROTOCOLS, Subscription, Topic
from lamina.store.sns_records import SnsStore, StoredSubscription, StoredTopic

MAX_STANDARD_TOPICS = 100_000
MAX_FIFO_TOPICS = 1_000
MAX_SUBSCRIPTIONS_PER_TOPIC = 10_000
MAX_PENDING_PER_TOPIC = 5_000
PAGE_SIZE = 100
MAX_TAGS = 50
_TOKEN = re.compile(r"[0-9a-f]{64,512}")


def _stored_topic(topic: Topic) -> StoredTopic:
    return StoredTopic(
        topic.arn,
        topic.region,
        topic.account_id,
        topic.name,
        topic.fifo,
        dict(topic.attributes),
        dict(topic.tags),
    )


def _stored_subscription(subscription: Subscription) -> StoredSubscription:
    return StoredSubscription(
        subscription.arn,
        subscription.topic_arn,
        subscription.owner,
        subscription.protocol,
        subscription.endpoint,
        dict(subscription.attributes),
        subscription.confirmed,
        subscription.token,
    )


def _page(items: list[str], next_token: str | None) -> tuple[list[str], str | None]:
    start = 0
    if next_token:
        if not next_token.isdigit():
            raise invalid_parameter("NextToken")
        start = int(next_token)
    end = start + PAGE_SIZE
    return items[start:end], (str(end) if end < len(items) else None)


class SnsRegistry:
    """Every topic and subscription of every region and account."""

    def __init__(self, store: SnsStore) -> None:
        self._store = store
        self._topics: dict[str, Topic] = {}
        self._subscriptions: dict[str, Subscription] = {}
        # Called with each new subscription that waits for its endpoint's confirmation.
        self.on_pending: Callable[[Subscription], None] = lambda subscription: None

    def load(self) -> None:
        """Rebuild the memory from the store (blocking: call it off the loop)."""
        for stored in self._store.load_topics():
            self._topics[stored.arn] = Topic(
                stored.arn,
                stored.region,
                stored.account_id,
                stored.name,
                stored.fifo,
                dict(stored.attributes),
                dict(stored.tags),
            )
        for row in self._store.load_subscriptions():
            topic = self._topics.get(row.topic_arn)
            if topic is None:
                continue
            subscription = Subscription(
                row.arn,
                row.topic_arn,
                row.owner,
                row.protocol,
                row.endpoint,
                dict(row.attributes),
                row.confirmed,
                row.token,
            )
            topic.subscriptions[row.arn] = subscription
            self._subscriptions[row.arn] = subscription

    # --- topics -----------------------------------------------------------------------

    def topics_of(self, region: str, account_id: str) -> Iterable[Topic]:
        return (
            t for t in self._topics.values() if t.region == region and t.account_id == account_id
        )

    async def create_topic(
        self,
        ctx: RequestContext,
        name: str,
        attributes: dict[str, str],
        tags: dict[str, str],
    ) -> Topic:
        """A new topic, or the existing one of that name when the request asks for the
        same attributes and tags (CreateTopic is idempotent)."""
        topic_attrs.check_values(attributes, creating=True)
        attributes = topic_attrs.normalise(attributes)
        fifo = attributes.get("FifoTopic") == "true"
        check_topic_name(name, fifo)
        if not fifo and attributes.get("ContentBasedDeduplication") == "true":
            raise invalid_parameter(
                "Attributes Reason: ContentBasedDeduplication is only available for FIFO topics"
            )
        arn = topic_arn(ctx.region, ctx.account_id, name)
        existing = self._topics.get(arn)
        if existing is not None:
            rendered = topic_attrs.render(existing)
            if any(rendered.get(k) != v for k, v in attributes.items() if k != "FifoTopic"):
                raise invalid_parameter(
                    "Attributes Reason: Topic already exists with different attributes"
                )
            if tags and any(existing.tags.get(k) != v for k, v in tags.items()):
                raise invalid_parameter("Tags Reason: Topic already exists with different tags")
            return existing
        mine = [t for t in self.topics_of(ctx.region, ctx.account_id) if t.fifo == fifo]
        if len(mine) >= (MAX_FIFO_TOPICS if fifo else MAX_STANDARD_TOPICS):
            raise TopicLimitExceeded("Topic limit exceeded")
        if len(tags) > MAX_TAGS:
            raise _too_many_tags()
        kept = {k: v for k, v in attributes.items() if k != "FifoTopic"}
        if fifo:
            kept["FifoTopic"] = "true"
        topic = Topic(arn, ctx.region, ctx.account_id, name, fifo, kept, dict(tags))
        await self._store.put_topic(_stored_topic(topic))
        self._topics[arn] = topic
        return topic

    def topic(self, arn: str | None, member: str = "TopicArn") -> Topic:
        """The topic of an ARN (``InvalidParameter`` when malformed, else ``NotFound``)."""
        parsed = parse_topic_arn(arn, member)
        topic = self._topics.get(parsed.arn)
        if topic is None:
            raise topic_not_found()
        return topic

    def topic_or_none(self, arn: str) -> Topic | None:
        return self._topics.get(arn)

    def list_topics(
        self, ctx: RequestContext, next_token: str | None
    ) -> tuple[list[str], str | None]:
        return _page([t.arn for t in self.topics_of(ctx.region, ctx.account_id)], next_token)

    async def set_topic_attribute(self, topic: Topic, name: str, value: str) -> None:
        topic_attrs.check_values({name: value}, creating=False)
        if name == "ContentBasedDeduplication" and not topic.fifo:
            raise invalid_parameter(
                "Attributes Reason: ContentBasedDeduplication is only available for FIFO topics"
            )
        attributes = dict(topic.attributes)
        attributes[name] = topic_attrs.normalise({name: value})[name]
        if value == "" and name != "DisplayName":
            attributes.pop(name)
        topic.attributes = attributes
        await self._store.put_topic(_stored_topic(topic))

    async def set_data_protection_policy(self, topic: Topic, policy: str) -> None:
        """PutDataProtectionPolicy: kept as given (JSON), not applied; empty removes it."""
        if policy:
            parse_error = json_parse_error(policy)
            if parse_error is not None:
                raise invalid_parameter(f"DataProtectionPolicy: {parse_error}")
        attributes = dict(topic.attributes)
        attributes[topic_attrs.DATA_PROTECTION_POLICY] = policy
        if not policy:
            attributes.pop(topic_attrs.DATA_PROTECTION_POLICY)
        topic.attributes = attributes
        await self._store.put_topic(_stored_topic(topic))

    async def delete_topic(self, arn: str | None) -> None:
        """Delete a topic and its subscriptions (a topic that does not exist: nothing)."""
        parsed = parse_topic_arn(arn)
        topic = self._topics.get(parsed.arn)
        if topic is None:
            return
        await self._store.delete_topic(topic.arn)
        self._topics.pop(topic.arn, None)
        for subscription_arn in topic.subscriptions:
            self._subscriptions.pop(subscription_arn, None)

    async def replace_tags(self, topic: Topic, tags: dict[str, str]) -> None:
        if len(tags) > MAX_TAGS:
            raise _too_many_tags()
        topic.tags = tags
        await self._store.put_topic(_stored_topic(topic))

    # --- subscriptions ----------------------------------------------------------------

    async def subscribe(
        self,
        ctx: RequestContext,
        topic_arn_value: str | None,
        protocol: str | None,
        endpoint: str | None,
        attributes: dict[str, str],
    ) -> Subscription:
        """A subscription (the existing one for the same protocol and endpoint when the
        attributes asked for agree with it). HTTP/S ones start pending and get a
        SubscriptionConfirmation; email ones stay pending."""
        topic = self.topic(topic_arn_value)
        if not protocol:
            raise invalid_parameter("Protocol Reason: no value for required parameter")
        if protocol not in PROTOCOLS:
            raise invalid_parameter(f"Amazon SNS does not support this protocol string: {protocol}")
        endpoint = checked_endpoint(topic, protocol, endpoint)
        for existing in topic.subscriptions.values():
            if existing.protocol == protocol and existing.endpoint == endpoint:
                rendered = sub_attrs.render(existing)
                if any(rendered.get(k) != v for k, v in attributes.items()):
                    raise invalid_parameter(
                        "Attributes Reason: Subscription already exists with different attributes"
                    )
                if not existing.confirmed and protocol in ("http", "https"):
                    self.on_pending(existing)  # as AWS: a new confirmation message
                return existing
        fifo_pair = topic.fifo and protocol == "sqs" and endpoint.endswith(".fifo")
        checked = sub_attrs.checked(
            {}, attributes, prefix=sub_attrs.SUBSCRIBE_PREFIX, fifo_topic_and_queue=fifo_pair
        )
        if len(topic.subscriptions) >= MAX_SUBSCRIPTIONS_PER_TOPIC:
            raise SubscriptionLimitExceeded("Subscription limit exceeded")
        confirmed = protocol in CONFIRMED_AT_ONCE
        if not confirmed:
            pending = sum(1 for s in topic.subscriptions.values() if not s.confirmed)
            if pending >= MAX_PENDING_PER_TOPIC:
                raise SubscriptionLimitExceeded("Pending subscription limit exceeded")
        subscription = Subscription(
            f"{topic.arn}:{uuid.uuid4()}",
            topic.arn,
            ctx.account_id,
            protocol,
            endpoint,
            checked,
            confirmed,
            secrets.token_hex(64),
        )
        await self._store.put_subscription(_stored_subscription(subscription))
        topic.subscriptions[subscription.arn] = subscription
        self._subscriptions[subscription.arn] = subscription
        if protocol in ("http", "https"):
            self.on_pending(subscription)
        return subscription

    async def confirm(self, ctx: RequestContext, topic_arn_value: str | None, token: str) -> str:
        """Confirm the subscription a token was sent for; returns its ARN."""
        try:
            parsed = parse_topic_arn(topic_arn_value)
        except InvalidParameter:
            raise invalid_parameter("Topic") from None
        if parsed.region != ctx.region:
            raise invalid_parameter("Topic")
        if not _TOKEN.fullmatch(token):
            raise InvalidParameter("Invalid token")
        topic = self._topics.get(parsed.arn)
        if topic is None:
            raise invalid_parameter("Token")
        for subscription in topic.subscriptions.values():
            if secrets.compare_digest(subscription.token, token):
                if not subscription.confirmed:
                    subscription.confirmed = True
                    await self._store.put_subscription(_stored_subscription(subscription))
                return subscription.arn
        raise invalid_parameter("Token")

    def subscription(self, arn: str | None) -> Subscription:
        parse_subscription_arn(arn)
        assert arn is not None
        subscription = self._subscriptions.get(arn)
        if subscription is None:
            raise subscription_not_found()
        return subscription

    def find_subscription(self, arn: str) -> Subscription | None:
        return self._subscriptions.get(arn)

    async def unsubscribe(self, arn: str | None) -> None:
        """Remove a subscription (one that does not exist: nothing, as AWS)."""
        parse_subscription_arn(arn)
        assert arn is not None
        subscription = self._subscriptions.get(arn)
        if subscription is None:
            return
        await self._store.delete_subscription(arn)
        self._subscriptions.pop(arn, None)
        topic = self._topics.get(subscription.topic_arn)
        if topic is not None and topic.subscriptions.pop(arn, None) is not None:
            topic.deleted_subscriptions += 1

    async def set_subscription_attribute(
        self, subscription: Subscription, name: str, value: str
    ) -> None:
        topic = self._topics.get(subscription.topic_arn)
        fifo_pair = (
            topic is not None
            and topic.fifo
            and subscription.protocol == "sqs"
            and subscription.endpoint.endswith(".fifo")
        )
        subscription.attributes = sub_attrs.checked(
            subscription.attributes, {name: value}, prefix="", fifo_topic_and_queue=fifo_pair
        )
        await self._store.put_subscription(_stored_subscription(subscription))

    def list_subscriptions(
        self, ctx: RequestContext, next_token: str | None
    ) -> tuple[list[Subscription], str | None]:
        mine = [
            s for t in self.topics_of(ctx.region, ctx.account_id) for s in t.subscriptions.values()
        ]
        return self._page_subscriptions(mine, next_token)

    def list_by_topic(
        self, topic: Topic, next_token: str | None
    ) -> tuple[list[Subscription], str | None]:
        return self._page_subscriptions(list(topic.subscriptions.values()), next_token)

    @staticmethod
    def _page_subscriptions(
        subscriptions: list[Subscription], next_token: str | None
    ) -> tuple[list[Subscription], str | None]:
        by_arn = {s.arn: s for s in subscriptions}
        arns, token = _page(list(by_arn), next_token)
        return [by_arn[arn] for arn in arns], token


def _too_many_tags() -> InvalidParameter:
    return invalid_parameter(
        "Tags Reason: Could not complete request: tag quota of per resource exceeded"
    )
