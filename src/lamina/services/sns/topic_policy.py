"""AddPermission and RemovePermission: statements of a topic's access policy (kept and
rendered as AWS does; Lamina does not enforce topic policies)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from lamina.services.sns.errors import invalid_parameter
from lamina.services.sns.topic_attributes import default_policy

# The actions a topic policy statement may name (SNS's topic actions).
TOPIC_ACTIONS = frozenset(
    {
        "AddPermission",
        "DeleteTopic",
        "GetDataProtectionPolicy",
        "GetTopicAttributes",
        "ListSubscriptionsByTopic",
        "ListTagsForResource",
        "Publish",
        "PutDataProtectionPolicy",
        "RemovePermission",
        "SetTopicAttributes",
        "Subscribe",
    }
)


def _policy(current: str | None, arn: str, account_id: str) -> dict[str, Any]:
    parsed: Any = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(current or default_policy(arn, account_id))
    policy: dict[str, Any] = (
        parsed if isinstance(parsed, dict) else json.loads(default_policy(arn, account_id))
    )
    if not isinstance(policy.get("Statement"), list):
        policy["Statement"] = []
    return policy


def _one_or_many(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def add_permission(
    current: str | None,
    arn: str,
    account_id: str,
    label: str,
    accounts: list[str],
    actions: list[str],
) -> str:
    """The policy with a statement ``label`` allowing ``actions`` to ``accounts``."""
    if not label:
        raise invalid_parameter("Label")
    if not accounts:
        raise invalid_parameter("AWSAccountId")
    if not actions:
        raise invalid_parameter("ActionName")
    if any(action not in TOPIC_ACTIONS for action in actions):
        raise invalid_parameter("Policy statement action out of service scope!")
    policy = _policy(current, arn, account_id)
    if any(statement.get("Sid") == label for statement in policy["Statement"]):
        raise invalid_parameter("Statement already exists")
    policy["Statement"].append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many([f"arn:aws:iam::{a}:root" for a in accounts])},
            "Action": _one_or_many([f"SNS:{action}" for action in actions]),
            "Resource": arn,
        }
    )
    return json.dumps(policy, separators=(",", ":"))


def remove_permission(current: str | None, arn: str, account_id: str, label: str) -> str:
    """The policy without the statement ``label`` (unchanged when there is none)."""
    if not label:
        raise invalid_parameter("Label")
    policy = _policy(current, arn, account_id)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != label]
    return json.dumps(policy, separators=(",", ":"))
