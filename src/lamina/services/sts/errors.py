"""STS's errors (query protocol: ``<Error><Type>Sender</Type><Code>…``), worded as the
recordings in ``tests/fixtures/aws-recorded/sts/`` show."""

from __future__ import annotations

from lamina.domain.errors import AwsError


class StsError(AwsError):
    status = 400
    message_key = "message"
    typed = False


class ValidationError(StsError):
    code = "ValidationError"

    def with_null(self) -> ValidationError:
        """The same error for a member that is absent (AWS says ``Value null``)."""
        self.message = self.message.replace("Value 'null'", "Value null")
        return self


class InvalidParameterValue(StsError):
    code = "InvalidParameterValue"


class AccessDenied(StsError):
    code = "AccessDenied"
    status = 403


def constraint(value: object, member: str, rule: str) -> ValidationError:
    """AWS's wording of a member that fails a model constraint."""
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {rule}"
    )
