"""What each operation of each service Lamina serves needs from IAM.

``required_access(service, operation, params, scope)`` answers the IAM actions and resource
ARNs a request is authorized on, with the condition keys the service sets, as AWS's Service
Authorization Reference lists them. ``service`` is the edge's name of the service (its
signing name; ``apigatewayv2`` for HTTP APIs). Pure: no I/O (the API Gateway, IAM and KMS
tables are read from botocore's models once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from lamina.domain.iam_actions.apigateway_actions import apigateway_table, apigatewayv2_table
from lamina.domain.iam_actions.events_actions import EVENTS, SCHEDULER
from lamina.domain.iam_actions.identity_actions import STS, iam_table, kms_table
from lamina.domain.iam_actions.lambda_actions import LAMBDA
from lamina.domain.iam_actions.logs_actions import LOGS
from lamina.domain.iam_actions.messaging_actions import SNS, SQS
from lamina.domain.iam_actions.rules import (
    Params,
    RequiredAccess,
    Rule,
    Scope,
    UnmappedOperation,
    arn_account,
)

__all__ = [
    "SERVICES",
    "RequiredAccess",
    "Scope",
    "UnmappedOperation",
    "arn_account",
    "operations",
    "required_access",
]

_TABLES: dict[str, Callable[[], Mapping[str, Rule]]] = {
    "lambda": lambda: LAMBDA,
    "sqs": lambda: SQS,
    "sns": lambda: SNS,
    "events": lambda: EVENTS,
    "scheduler": lambda: SCHEDULER,
    "logs": lambda: LOGS,
    "sts": lambda: STS,
    "iam": iam_table,
    "kms": kms_table,
    "apigateway": apigateway_table,
    "apigatewayv2": apigatewayv2_table,
}
# The services mapped, by the edge's name (botocore's model of the same name).
SERVICES = tuple(_TABLES)


@cache
def operations(service: str) -> Mapping[str, Rule]:
    """The table of ``service``: its operations' rules by name."""
    try:
        return _TABLES[service]()
    except KeyError:
        raise UnmappedOperation(f"no IAM table for service {service!r}") from None


def required_access(
    service: str, operation: str, params: Params, scope: Scope
) -> list[RequiredAccess]:
    """The permissions a request needs (empty: AWS checks none). Raises
    ``UnmappedOperation`` for an operation no table maps."""
    rule = operations(service).get(operation)
    if rule is None:
        raise UnmappedOperation(f"{service}:{operation} has no IAM mapping")
    return rule(operation, params, scope)
