"""Subscription endpoints as SNS checks them, per protocol (at Subscribe)."""

from __future__ import annotations

import re

from lamina.services.sns.arns import is_lambda_arn, is_sqs_arn
from lamina.services.sns.errors import InvalidParameter, invalid_parameter
from lamina.services.sns.model import Topic

PHONE_NUMBER = re.compile(r"\+?[0-9]{1,15}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def checked_endpoint(topic: Topic, protocol: str, endpoint: str | None) -> str:
    """The endpoint as AWS checks it per protocol."""
    if not endpoint:
        raise invalid_parameter("Endpoint Reason: no value for required parameter")
    if protocol == "sqs":
        if not is_sqs_arn(endpoint):
            raise invalid_parameter("SQS endpoint ARN")
        if endpoint.endswith(".fifo") and not topic.fifo:
            raise invalid_parameter(
                "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to "
                "standard SNS topics"
            )
    elif protocol == "lambda":
        if not is_lambda_arn(endpoint):
            raise invalid_parameter("Lambda endpoint ARN")
    elif protocol in ("http", "https"):
        if not endpoint.lower().startswith(f"{protocol}://"):
            raise invalid_parameter("Endpoint Reason: Endpoint must match the specified protocol")
    elif protocol == "sms":
        if not PHONE_NUMBER.fullmatch(endpoint):
            raise InvalidParameter(f"Invalid SMS endpoint: {endpoint}")
    elif protocol in ("email", "email-json") and not _EMAIL.fullmatch(endpoint):
        raise invalid_parameter("Email address")
    if topic.fifo and protocol != "sqs":
        # FIFO topics deliver to SQS queues only (Lamina's wording; not recorded from AWS).
        raise invalid_parameter(
            "Invalid parameter: Endpoint Reason: FIFO topics deliver to Amazon SQS queues only"
        )
    return endpoint
