"""The SNS service's values: topics, subscriptions and published notifications."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lamina.services.topic_ports import TopicAttribute

# Protocols SNS confirms at once (AWS-managed endpoints and SMS) and those that wait for
# the endpoint's owner to confirm (held pending; Lamina sends no e-mail).
CONFIRMED_AT_ONCE = frozenset({"sqs", "lambda", "sms", "application", "firehose"})
NEEDS_CONFIRMATION = frozenset({"http", "https", "email", "email-json"})
PROTOCOLS = CONFIRMED_AT_ONCE | NEEDS_CONFIRMATION
# Protocols Lamina delivers to (the others are accepted and kept, never delivered).
DELIVERED = frozenset({"sqs", "lambda", "http", "https"})


@dataclass(slots=True)
class Topic:
    arn: str
    region: str
    account_id: str
    name: str
    fifo: bool
    # Settable attributes as given (DisplayName, Policy, DeliveryPolicy,
    # ContentBasedDeduplication, KmsMasterKeyId, ...); computed ones are rendered.
    attributes: dict[str, str]
    tags: dict[str, str]
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    deleted_subscriptions: int = 0

    @property
    def content_based_deduplication(self) -> bool:
        return self.attributes.get("ContentBasedDeduplication", "false") == "true"


@dataclass(slots=True)
class Subscription:
    arn: str
    topic_arn: str
    owner: str
    protocol: str
    endpoint: str
    # RawMessageDelivery, FilterPolicy, FilterPolicyScope, RedrivePolicy, DeliveryPolicy.
    attributes: dict[str, str]
    confirmed: bool
    token: str

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery", "false") == "true"

    @property
    def dead_letter_arn(self) -> str | None:
        return dead_letter_arn(self.attributes.get("RedrivePolicy"))


def dead_letter_arn(redrive_policy: str | None) -> str | None:
    """The SQS queue a RedrivePolicy names (None without one)."""
    if not redrive_policy:
        return None
    try:
        value = json.loads(redrive_policy).get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Notification:
    """One published message, as every subscription's delivery renders it."""

    message_id: str
    topic_arn: str
    message: str
    # Per-protocol messages when MessageStructure was ``json`` (``default`` always present).
    structured: dict[str, str] | None
    subject: str | None
    attributes: dict[str, TopicAttribute]
    timestamp: str
    group_id: str | None = None
    deduplication_id: str | None = None
    sequence_number: str | None = None
    # The publisher's trace header: functions it invokes continue its chain (recursion).
    trace_header: str | None = None

    def message_for(self, protocol: str) -> str:
        if self.structured is None:
            return self.message
        return self.structured.get(protocol, self.structured["default"])

    def size(self) -> int:
        """Bytes held in memory for it (approximately: the texts)."""
        total = len(self.message) + len(self.subject or "")
        for name, attribute in self.attributes.items():
            total += len(name) + len(attribute.data_type) + len(attribute.value)
        return total


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification owed to one subscription (a row of the durable delivery queue)."""

    delivery_id: int
    message_id: str
    subscription_arn: str
    attempts: int
