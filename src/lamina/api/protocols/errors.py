"""The errors a protocol codec raises itself, before any service runs.

They are ``AwsError`` values like every service's errors and are rendered by the same
codecs. ``json_namespace`` (read by the JSON codec when present) is the ``__type`` namespace
AWS's request framework uses for them (``com.amazon.coral.service``), not the service's own.
Messages not taken from an AWS recording are Lamina's wording; the codes are AWS's.
"""

from __future__ import annotations

from typing import ClassVar

from lamina.domain.errors import AwsError

CORAL_NAMESPACE = "com.amazon.coral.service"


class SerializationException(AwsError):
    """A JSON body that is not JSON, not an object, or has a member of the wrong type."""

    code = "SerializationException"
    status = 400
    message_key = "Message"
    typed = False
    json_namespace: ClassVar[str | None] = CORAL_NAMESPACE


class MissingParameter(AwsError):
    """A member the model marks required is absent. The JSON error shape is
    ``MissingRequiredParameterException``; query clients read ``MissingParameter``
    (recorded for SQS: "The request must contain the parameter MessageBody.")."""

    code = "MissingRequiredParameterException"
    query_code = "MissingParameter"
    status = 400
    message_key = "message"
    typed = False

    def __init__(self, parameter: str) -> None:
        super().__init__(f"The request must contain the parameter {parameter}.")
        self.parameter = parameter


def missing_parameter(operation: str, member: str) -> AwsError:
    """The default ``missing_parameter`` factory of the codecs (SQS's wording)."""
    del operation
    return MissingParameter(member)


class InvalidQueryParameter(AwsError):
    """A query-protocol value that is not of its member's type (``MaxNumberOfMessages=x``)."""

    code = "InvalidParameterValue"
    query_code = "InvalidParameterValue"
    status = 400
    message_key = "message"
    typed = False


class InvalidAction(AwsError):
    """A query request whose ``Action`` the service does not have."""

    code = "InvalidAction"
    query_code = "InvalidAction"
    status = 400
    message_key = "message"
    typed = False

    def __init__(self, action: str) -> None:
        super().__init__(f"The action {action} is not valid for this web service.")


class MissingAction(AwsError):
    """A query request without ``Action``."""

    code = "MissingAction"
    query_code = "MissingAction"
    status = 400
    message_key = "message"
    typed = False

    def __init__(self) -> None:
        super().__init__("The request must contain the parameter Action.")
