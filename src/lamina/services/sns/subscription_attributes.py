"""Subscription attributes: what Subscribe and SetSubscriptionAttributes take (with AWS's
validation messages) and what GetSubscriptionAttributes renders."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from lamina.services.sns import filtering
from lamina.services.sns.arns import is_sqs_arn
from lamina.services.sns.errors import invalid_parameter
from lamina.services.sns.model import CONFIRMED_AT_ONCE, Subscription, dead_letter_arn
from lamina.services.sns.topic_attributes import effective_http_policy

SETTABLE = frozenset(
    {
        "RawMessageDelivery",
        "FilterPolicy",
        "FilterPolicyScope",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
        "ReplayPolicy",
    }
)
# At Subscribe, AWS prefixes the reason of an attribute's error with this.
SUBSCRIBE_PREFIX = "Attributes Reason: "


def checked(
    current: dict[str, str],
    changes: dict[str, str],
    *,
    prefix: str,
    fifo_topic_and_queue: bool = False,
) -> dict[str, str]:
    """``current`` with ``changes`` applied, after AWS's checks (``InvalidParameter``);
    an empty FilterPolicy, RedrivePolicy or DeliveryPolicy removes it."""
    for name in changes:
        if name not in SETTABLE:
            raise invalid_parameter("AttributeName")
    result = dict(current)
    for name, value in changes.items():
        if name == "RawMessageDelivery":
            if value.lower() not in ("true", "false"):
                raise invalid_parameter(
                    f"{prefix}RawMessageDelivery: Invalid value [{value}]. Must be true or false."
                )
            result[name] = value.lower()
        elif name == "FilterPolicyScope":
            if value not in filtering.SCOPES:
                raise invalid_parameter(
                    f"{prefix}FilterPolicyScope: Invalid value [{value}]. Please use either "
                    "MessageBody or MessageAttributes"
                )
            result[name] = value
        elif name == "RedrivePolicy":
            _check_redrive(value, prefix, fifo_topic_and_queue)
            result[name] = value
        elif name == "DeliveryPolicy" and value:
            parse_error = filtering.json_parse_error(value)
            if parse_error is not None:
                raise invalid_parameter(f"{prefix}DeliveryPolicy: {parse_error}")
            result[name] = normalised_delivery_policy(value)
        else:
            result[name] = value
    policy = result.get("FilterPolicy")
    if policy:
        scope = result.get("FilterPolicyScope", filtering.ATTRIBUTES_SCOPE)
        filtering.check_policy(policy, scope, prefix)
        result.setdefault("FilterPolicyScope", filtering.ATTRIBUTES_SCOPE)
    return {name: value for name, value in result.items() if value != ""}


# A subscription's healthyRetryPolicy as AWS stores it: every member, in this order, the ones
# not given at their defaults (the recorded GetSubscriptionAttributes).
_HEALTHY_DEFAULTS: dict[str, Any] = {
    "minDelayTarget": 20,
    "maxDelayTarget": 20,
    "numRetries": 3,
    "numMaxDelayRetries": 0,
    "numNoDelayRetries": 0,
    "numMinDelayRetries": 0,
    "backoffFunction": "linear",
}


def normalised_delivery_policy(value: str) -> str:
    """A subscription's DeliveryPolicy as AWS rewrites it when set: the members
    ``healthyRetryPolicy`` (completed with the defaults of the members not given),
    ``sicklyRetryPolicy``, ``throttlePolicy``, ``requestPolicy`` (null when not given) and
    ``guaranteed`` (false), in that order. A policy that is not a JSON object is kept as
    given."""
    try:
        policy = json.loads(value)
    except ValueError:
        return value
    if not isinstance(policy, dict):
        return value
    healthy = policy.get("healthyRetryPolicy")
    if isinstance(healthy, dict):
        healthy = {**_HEALTHY_DEFAULTS, **healthy}
    normalised = {
        "healthyRetryPolicy": healthy,
        "sicklyRetryPolicy": policy.get("sicklyRetryPolicy"),
        "throttlePolicy": policy.get("throttlePolicy"),
        "requestPolicy": policy.get("requestPolicy"),
        "guaranteed": policy.get("guaranteed", False),
    }
    return json.dumps(normalised, separators=(",", ":"))


def _check_redrive(value: str, prefix: str, fifo_topic_and_queue: bool) -> None:
    if not value:
        return
    parse_error = filtering.json_parse_error(value)
    if parse_error is not None:
        raise invalid_parameter(f"{prefix}RedrivePolicy: {parse_error}")
    arn = dead_letter_arn(value)
    if arn is None or not is_sqs_arn(arn):
        raise invalid_parameter(f"{prefix}RedrivePolicy: deadLetterTargetArn is an invalid arn")
    if fifo_topic_and_queue and not arn.endswith(".fifo"):
        raise invalid_parameter(
            f"{prefix}RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription "
            "to a FIFO Topic."
        )


def render(subscription: Subscription, topic_delivery_policy: str | None = None) -> dict[str, str]:
    """Every attribute GetSubscriptionAttributes returns (HTTP/S subscriptions add their
    EffectiveDeliveryPolicy: theirs over the topic's ``http`` defaults)."""
    out = {
        "ConfirmationWasAuthenticated": (
            "true" if subscription.protocol in CONFIRMED_AT_ONCE else "false"
        ),
        "Endpoint": subscription.endpoint,
        "Owner": subscription.owner,
        "PendingConfirmation": "false" if subscription.confirmed else "true",
        "Protocol": subscription.protocol,
        "RawMessageDelivery": "false",
        "SubscriptionArn": subscription.arn,
        "SubscriptionPrincipal": f"arn:aws:iam::{subscription.owner}:root",
        "TopicArn": subscription.topic_arn,
    }
    out.update(subscription.attributes)
    if subscription.protocol in ("http", "https"):
        out["EffectiveDeliveryPolicy"] = json.dumps(
            effective_subscription_policy(
                subscription.attributes.get("DeliveryPolicy"), topic_delivery_policy
            ),
            separators=(",", ":"),
        )
    return out


def effective_subscription_policy(
    subscription_policy: str | None, topic_policy: str | None
) -> dict[str, Any]:
    """An HTTP/S subscription's delivery policy as it applies: its own members over the
    topic's ``http`` defaults (``defaultHealthyRetryPolicy``, ``defaultRequestPolicy``)."""
    topic_http = effective_http_policy(topic_policy)
    own: dict[str, Any] = {}
    if subscription_policy:
        with contextlib.suppress(ValueError):
            parsed = json.loads(subscription_policy)
            own = parsed if isinstance(parsed, dict) else {}
    healthy = dict(topic_http["defaultHealthyRetryPolicy"])
    if isinstance(own.get("healthyRetryPolicy"), dict):
        healthy.update(own["healthyRetryPolicy"])
    return {
        "healthyRetryPolicy": healthy,
        "sicklyRetryPolicy": own.get("sicklyRetryPolicy"),
        "throttlePolicy": own.get("throttlePolicy"),
        "requestPolicy": own.get("requestPolicy") or topic_http["defaultRequestPolicy"],
        "guaranteed": own.get("guaranteed", False),
    }
