"""SQS's errors, as AWS reports them on both of SQS's protocols.

``code`` is the error shape of the JSON protocol (``__type``; botocore shows it as
``Error.QueryErrorCode``), ``query_code`` the legacy code of the query protocol, which AWS
also sends on the JSON protocol in ``x-amzn-query-error`` (botocore shows it as
``Error.Code``). Codes and statuses are those recorded against AWS
(tests/fixtures/aws-recorded/sqs/) and SQS's Smithy model (``awsQueryError``).
"""

from __future__ import annotations

from typing import ClassVar

from lamina.domain.errors import AwsError


class SqsError(AwsError):
    """Base of SQS's errors: body member ``message``, no ``Type`` member, 400 by default."""

    code = "SqsError"
    status = 400
    message_key = "message"
    typed = False
    # The message on the query protocol, when AWS words it differently there.
    query_message: ClassVar[str | None] = None


# --- queues ---------------------------------------------------------------------------


class QueueDoesNotExist(SqsError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"
    # Recorded: the query protocol answers with the old wording.
    query_message = "The specified queue does not exist for this wsdl version."

    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message)


class QueueNameExists(SqsError):
    code = "QueueNameExists"
    query_code = "QueueAlreadyExists"


class QueueDeletedRecently(SqsError):
    code = "QueueDeletedRecently"
    query_code = "AWS.SimpleQueueService.QueueDeletedRecently"


class InvalidAttributeName(SqsError):
    code = "InvalidAttributeName"
    query_code = "InvalidAttributeName"


class InvalidAttributeValue(SqsError):
    code = "InvalidAttributeValue"
    query_code = "InvalidAttributeValue"


class PurgeQueueInProgress(SqsError):
    code = "PurgeQueueInProgress"
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"
    status = 403


class OverLimit(SqsError):
    code = "OverLimit"
    query_code = "OverLimit"
    status = 403


class ResourceNotFoundException(SqsError):
    code = "ResourceNotFoundException"
    query_code = "ResourceNotFoundException"
    status = 404


class UnsupportedOperation(SqsError):
    code = "UnsupportedOperation"
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"


# --- parameters (not modelled shapes: AWS's generic validators) -------------------------


class InvalidParameterValue(SqsError):
    """A parameter's value is out of range or malformed (recorded: ``__type``
    ``InvalidParameterValueException``, legacy code ``InvalidParameterValue``)."""

    code = "InvalidParameterValueException"
    query_code = "InvalidParameterValue"


class MissingParameter(SqsError):
    """A required parameter is missing (recorded: ``__type``
    ``MissingRequiredParameterException``, legacy code ``MissingParameter``)."""

    code = "MissingRequiredParameterException"
    query_code = "MissingParameter"


# --- batches ---------------------------------------------------------------------------


class TooManyEntriesInBatchRequest(SqsError):
    code = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(SqsError):
    code = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class EmptyBatchRequest(SqsError):
    code = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class InvalidBatchEntryId(SqsError):
    code = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class BatchRequestTooLong(SqsError):
    code = "BatchRequestTooLong"
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


# --- messages --------------------------------------------------------------------------


class ReceiptHandleIsInvalid(SqsError):
    code = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"
    status = 404


class MessageNotInflight(SqsError):
    code = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"


class InvalidIdFormat(SqsError):
    code = "InvalidIdFormat"
    query_code = "InvalidIdFormat"


class InvalidMessageContents(SqsError):
    code = "InvalidMessageContents"
    query_code = "InvalidMessageContents"


# --- requests --------------------------------------------------------------------------


class InvalidAddress(SqsError):
    code = "InvalidAddress"
    query_code = "InvalidAddress"
    status = 404


class InvalidSecurity(SqsError):
    code = "InvalidSecurity"
    query_code = "InvalidSecurity"
    status = 403


class RequestThrottled(SqsError):
    code = "RequestThrottled"
    query_code = "RequestThrottled"
    status = 403
