"""Topic and subscription ARNs and names, checked as SNS checks them.

A topic ARN is ``arn:aws:sns:<region>:<account>:<name>``; a subscription's adds
``:<uuid>``. Malformed ARNs get AWS's ``An ARN must have at least 6 elements, not N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lamina.services.sns.errors import invalid_parameter, missing_value

# 1-256 letters, digits, hyphens and underscores; FIFO names add ".fifo" within the 256.
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
_SUBSCRIPTION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class TopicArn:
    arn: str
    region: str
    account_id: str
    name: str


def topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{name}"


def check_topic_name(name: str, fifo: bool) -> None:
    """``Invalid parameter: Topic Name`` unless ``name`` fits the topic's type."""
    pattern = _FIFO_TOPIC_NAME if fifo else _TOPIC_NAME
    if not pattern.fullmatch(name):
        raise invalid_parameter("Topic Name")


def _elements(arn: str | None, member: str) -> list[str]:
    parts = [""] if arn is None or arn == "" else arn.split(":", 5)
    if len(parts) < 6:
        raise invalid_parameter(
            f"{member} Reason: An ARN must have at least 6 elements, not {len(parts)}"
        )
    return parts


def parse_topic_arn(arn: str | None, member: str = "TopicArn") -> TopicArn:
    """The parts of a topic ARN (raises ``InvalidParameter`` for a malformed one)."""
    parts = _elements(arn, member)
    if parts[0] != "arn" or parts[2] != "sns" or ":" in parts[5] or not parts[5]:
        raise invalid_parameter(member)
    assert arn is not None
    return TopicArn(arn, parts[3], parts[4], parts[5])


def parse_subscription_arn(arn: str | None) -> tuple[TopicArn, str]:
    """The topic of a subscription ARN and its id (``InvalidParameter`` when malformed)."""
    if not arn:
        raise missing_value("SubscriptionArn")
    parts = _elements(arn, "SubscriptionArn")
    topic_name, _, subscription_id = parts[5].partition(":")
    if not _SUBSCRIPTION_ID.fullmatch(subscription_id):
        raise invalid_parameter("SubscriptionId")
    topic = TopicArn(":".join([*parts[:5], topic_name]), parts[3], parts[4], topic_name)
    return topic, subscription_id


def is_sqs_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "sqs" and bool(parts[5])


def is_lambda_arn(arn: str) -> bool:
    parts = arn.split(":")
    return (
        len(parts) in (7, 8)
        and parts[0] == "arn"
        and parts[2] == "lambda"
        and parts[5] == "function"
        and bool(parts[6])
    )
