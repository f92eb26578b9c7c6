"""Topic attributes: which ones CreateTopic and SetTopicAttributes take, and how
GetTopicAttributes renders them with the ones AWS computes (Owner, TopicArn, the
subscription counts, the default Policy and the EffectiveDeliveryPolicy)."""

from __future__ import annotations

import copy
import json
from typing import Any

from lamina.services.sns.errors import invalid_parameter
from lamina.services.sns.model import Topic

# Attributes a caller may set (CreateTopic and SetTopicAttributes); FifoTopic only at
# creation. Values are kept as given.
SETTABLE = frozenset(
    {
        "DisplayName",
        "Policy",
        "DeliveryPolicy",
        "KmsMasterKeyId",
        "ContentBasedDeduplication",
        "SignatureVersion",
        "TracingConfig",
        "ArchivePolicy",
        "FifoThroughputScope",
        "ApplicationSuccessFeedbackRoleArn",
        "ApplicationSuccessFeedbackSampleRate",
        "ApplicationFailureFeedbackRoleArn",
        "HTTPSuccessFeedbackRoleArn",
        "HTTPSuccessFeedbackSampleRate",
        "HTTPFailureFeedbackRoleArn",
        "LambdaSuccessFeedbackRoleArn",
        "LambdaSuccessFeedbackSampleRate",
        "LambdaFailureFeedbackRoleArn",
        "SQSSuccessFeedbackRoleArn",
        "SQSSuccessFeedbackSampleRate",
        "SQSFailureFeedbackRoleArn",
        "FirehoseSuccessFeedbackRoleArn",
        "FirehoseSuccessFeedbackSampleRate",
        "FirehoseFailureFeedbackRoleArn",
    }
)
CREATE_ONLY = frozenset({"FifoTopic"})
# Kept with the attributes but not rendered by GetTopicAttributes (its own operations).
DATA_PROTECTION_POLICY = "DataProtectionPolicy"
# Attributes whose value must be "true" or "false".
BOOLEANS = frozenset({"FifoTopic", "ContentBasedDeduplication"})

# What AWS applies to HTTP/S deliveries when the topic's DeliveryPolicy says nothing.
DEFAULT_HTTP_POLICY: dict[str, Any] = {
    "defaultHealthyRetryPolicy": {
        "minDelayTarget": 20,
        "maxDelayTarget": 20,
        "numRetries": 3,
        "numMaxDelayRetries": 0,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 0,
        "backoffFunction": "linear",
    },
    "disableSubscriptionOverrides": False,
    "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
}

_DEFAULT_ACTIONS = [
    "SNS:GetTopicAttributes",
    "SNS:SetTopicAttributes",
    "SNS:AddPermission",
    "SNS:RemovePermission",
    "SNS:DeleteTopic",
    "SNS:Subscribe",
    "SNS:ListSubscriptionsByTopic",
    "SNS:Publish",
]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def default_policy(arn: str, account_id: str) -> str:
    """The access policy AWS gives a new topic (its owner's account may do everything)."""
    return _compact(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": _DEFAULT_ACTIONS,
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
                }
            ],
        }
    )


def effective_http_policy(delivery_policy: str | None) -> dict[str, Any]:
    """The topic's DeliveryPolicy's ``http`` section laid over AWS's defaults."""
    effective = copy.deepcopy(DEFAULT_HTTP_POLICY)
    if not delivery_policy:
        return effective
    try:
        http = json.loads(delivery_policy).get("http") or {}
    except (ValueError, AttributeError):
        return effective
    for key, value in http.items():
        if isinstance(value, dict) and isinstance(effective.get(key), dict):
            effective[key] = {
                **value,
                **{k: v for k, v in effective[key].items() if k not in value},
            }
        else:
            effective[key] = value
    return effective


def check_values(attributes: dict[str, str], *, creating: bool) -> None:
    """Refuse unknown attribute names and bad values (``Invalid parameter: ...``)."""
    allowed = SETTABLE | CREATE_ONLY if creating else SETTABLE
    for name, value in attributes.items():
        if name not in allowed:
            raise invalid_parameter("AttributeName")
        if name in BOOLEANS and value.lower() not in ("true", "false"):
            raise invalid_parameter(f"{name}")
        if name in ("Policy", "DeliveryPolicy") and value:
            try:
                json.loads(value)
            except ValueError:
                raise invalid_parameter(f"{name}: failed to parse JSON.") from None


def normalise(attributes: dict[str, str]) -> dict[str, str]:
    """Booleans as AWS stores them (lower case)."""
    return {
        name: value.lower() if name in BOOLEANS else value for name, value in attributes.items()
    }


def render(topic: Topic) -> dict[str, str]:
    """Every attribute GetTopicAttributes returns for ``topic``."""
    confirmed = pending = 0
    for subscription in topic.subscriptions.values():
        if subscription.confirmed:
            confirmed += 1
        else:
            pending += 1
    out = {
        name: value
        for name, value in topic.attributes.items()
        if value != "" and name != DATA_PROTECTION_POLICY
    }
    out.setdefault("DisplayName", "")
    out["Owner"] = topic.account_id
    out["TopicArn"] = topic.arn
    out.setdefault("Policy", default_policy(topic.arn, topic.account_id))
    out["EffectiveDeliveryPolicy"] = _compact(
        {"http": effective_http_policy(topic.attributes.get("DeliveryPolicy"))}
    )
    out["SubscriptionsConfirmed"] = str(confirmed)
    out["SubscriptionsPending"] = str(pending)
    out["SubscriptionsDeleted"] = str(topic.deleted_subscriptions)
    if topic.fifo:
        out["FifoTopic"] = "true"
        out.setdefault("ContentBasedDeduplication", "false")
    else:
        out.pop("FifoTopic", None)
    return out
