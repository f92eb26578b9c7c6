"""SNS's errors, as its query protocol renders them (``<Code>`` is the class's ``code``).

Messages come from AWS recordings (``tests/fixtures/aws-recorded/sns``); ``invalid_parameter``
builds the common ``Invalid parameter: ...`` wording.
"""

from __future__ import annotations

from lamina.domain.errors import AwsError


class SnsError(AwsError):
    """Base of SNS's errors: client faults with a ``message`` member."""

    code = "InvalidParameter"
    status = 400
    message_key = "message"
    typed = False


class InvalidParameter(SnsError):
    code = "InvalidParameter"
    query_code = "InvalidParameter"


def invalid_parameter(detail: str) -> InvalidParameter:
    """``Invalid parameter: <detail>`` (AWS's usual wording)."""
    return InvalidParameter(f"Invalid parameter: {detail}")


def missing_value(member: str) -> InvalidParameter:
    """A required member that is absent or empty."""
    return invalid_parameter(f"{member} Reason: no value for required parameter")


class ParameterValueInvalid(SnsError):
    """A message attribute AWS refuses (its name, type or value)."""

    code = "ParameterValueInvalid"
    query_code = "ParameterValueInvalid"


class ValidationError(SnsError):
    code = "ValidationError"
    query_code = "ValidationError"


class NotFound(SnsError):
    code = "NotFound"
    query_code = "NotFound"
    status = 404


def topic_not_found() -> NotFound:
    return NotFound("Topic does not exist")


def subscription_not_found() -> NotFound:
    return NotFound("Subscription does not exist")


class ResourceNotFound(SnsError):
    """Tagging operations on a topic that does not exist."""

    code = "ResourceNotFound"
    query_code = "ResourceNotFound"
    status = 404


class TagPolicy(SnsError):
    code = "TagPolicy"
    query_code = "TagPolicy"


class TooManyEntriesInBatchRequest(SnsError):
    code = "TooManyEntriesInBatchRequest"
    query_code = "TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(SnsError):
    code = "BatchEntryIdsNotDistinct"
    query_code = "BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(SnsError):
    code = "InvalidBatchEntryId"
    query_code = "InvalidBatchEntryId"


class BatchRequestTooLong(SnsError):
    code = "BatchRequestTooLong"
    query_code = "BatchRequestTooLong"


class EmptyBatchRequest(SnsError):
    code = "EmptyBatchRequest"
    query_code = "EmptyBatchRequest"


class SubscriptionLimitExceeded(SnsError):
    code = "SubscriptionLimitExceeded"
    query_code = "SubscriptionLimitExceeded"
    status = 403


class TopicLimitExceeded(SnsError):
    code = "TopicLimitExceeded"
    query_code = "TopicLimitExceeded"
    status = 403


class Throttled(SnsError):
    """Lamina's backlog of undelivered messages is full (its bound on memory and disk)."""

    code = "Throttled"
    query_code = "Throttled"
    status = 429
