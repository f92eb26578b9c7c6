"""AddPermission/RemovePermission: statements of a queue's ``Policy`` attribute by label."""

from __future__ import annotations

import json
from typing import Any

from lamina.domain.sqs.errors import (
    InvalidAttributeValue,
    InvalidParameterValue,
    MissingParameter,
    OverLimit,
)

# The actions a permission may grant (SQS's shared-queue actions; ``*`` is all of them).
PERMISSION_ACTIONS = frozenset(
    {
        "*",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
    }
)
POLICY_VERSION = "2008-10-17"
# SQS's policy quotas: actions per statement, statements per policy.
MAX_ACTIONS = 7
MAX_STATEMENTS = 20
MAX_POLICY_BYTES = 8192
_POLICY_MEMBERS = frozenset({"Version", "Id", "Statement"})
_POLICY_VERSIONS = ("2008-10-17", "2012-10-17")
_STATEMENT_MEMBERS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)


def _too_many_statements(count: int) -> str:
    return f"{count} statements were found in the submitted policy, max allowed is {MAX_STATEMENTS}"


def check_policy_document(raw: str) -> None:
    """AWS's checks of a ``Policy`` attribute (stored as sent): a JSON map of ``Version``
    (2008-10-17 or 2012-10-17), ``Id`` and one or more statements (at most 20) of the access
    policy language's members, at most 8,192 bytes."""
    invalid = InvalidAttributeValue("Invalid value for the parameter Policy.")
    if len(raw.encode()) > MAX_POLICY_BYTES:
        raise invalid
    try:
        document = json.loads(raw)
    except ValueError:
        raise invalid from None
    if not isinstance(document, dict) or set(document) - _POLICY_MEMBERS:
        raise invalid
    if "Version" in document and document["Version"] not in _POLICY_VERSIONS:
        raise invalid
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise invalid
    if any(not isinstance(st, dict) or set(st) - _STATEMENT_MEMBERS for st in statements):
        raise invalid
    if len(statements) > MAX_STATEMENTS:
        raise InvalidAttributeValue(_too_many_statements(len(statements)))


def _label_error(label: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value {label} for parameter Label is invalid. Reason: {reason}")


def add_permission(
    policy_text: str | None,
    queue_arn: str,
    label: str,
    account_ids: list[str],
    actions: list[str],
) -> str:
    """The ``Policy`` text with a statement ``label`` granting ``actions`` to the accounts.

    Refused as AWS does: no action or account, more than 7 actions (``OverLimit``), an
    action only the owner may call, a label already used ("Already exists."); more than 20
    statements (SQS's quota) is ``OverLimit`` too.
    """
    if not actions:
        raise MissingParameter("The request must contain the parameter Actions.")
    if not account_ids:
        raise InvalidParameterValue(
            "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify."
        )
    if len(actions) > MAX_ACTIONS:
        raise OverLimit(f"{len(actions)} Actions were found, maximum allowed is {MAX_ACTIONS}.")
    for action in actions:
        if action not in PERMISSION_ACTIONS:
            raise InvalidParameterValue(
                f"Value SQS:{action} for parameter ActionName is invalid. Reason: Only the queue "
                "owner is allowed to invoke this action."
            )
    policy = _load(policy_text, queue_arn)
    statements: list[dict[str, Any]] = policy["Statement"]
    if any(statement.get("Sid") == label for statement in statements):
        raise _label_error(label, "Already exists.")
    if len(statements) >= MAX_STATEMENTS:
        raise OverLimit(_too_many_statements(len(statements) + 1))
    principals = [f"arn:aws:iam::{account}:root" for account in account_ids]
    granted = [f"SQS:{action}" for action in actions]
    statements.append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": granted[0] if len(granted) == 1 else granted,
            "Resource": queue_arn,
        }
    )
    return json.dumps(policy, separators=(",", ":"))


def remove_permission(policy_text: str | None, queue_arn: str, label: str) -> str | None:
    """The ``Policy`` text without statement ``label`` (None once no statement is left);
    an unknown label is refused ("can't find label.")."""
    policy = _load(policy_text, queue_arn)
    statements: list[dict[str, Any]] = policy["Statement"]
    kept = [statement for statement in statements if statement.get("Sid") != label]
    if len(kept) == len(statements):
        raise _label_error(label, "can't find label.")
    if not kept:
        return None
    policy["Statement"] = kept
    return json.dumps(policy, separators=(",", ":"))


def _load(policy_text: str | None, queue_arn: str) -> dict[str, Any]:
    if policy_text:
        loaded = json.loads(policy_text)
        if isinstance(loaded, dict):
            statements = loaded.get("Statement")
            if isinstance(statements, dict):
                statements = [statements]
            loaded["Statement"] = statements if isinstance(statements, list) else []
            return loaded
    return {"Version": POLICY_VERSION, "Id": f"{queue_arn}/SQSDefaultPolicy", "Statement": []}
