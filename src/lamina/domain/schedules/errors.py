"""The errors schedule expressions raise, as each AWS service words them.

EventBridge's PutRule answers any invalid ``ScheduleExpression`` with one message (recorded:
``ValidationException`` "Parameter ScheduleExpression is not valid."); EventBridge Scheduler
names the expression (recorded: ``ValidationException`` "Invalid Schedule Expression <expr>.").
"""

from __future__ import annotations

from lamina.domain.errors import AwsError, ValidationException

RULE_SCHEDULE_INVALID = "Parameter ScheduleExpression is not valid."


class InvalidRuleSchedule(ValidationException):
    """PutRule's error for an invalid ``ScheduleExpression`` (JSON 1.1: ``message``)."""

    def __init__(self) -> None:
        super().__init__(RULE_SCHEDULE_INVALID)


class SchedulerValidationException(AwsError):
    """EventBridge Scheduler's ``ValidationException`` (rest-json, body ``{"Message": ...}``)."""

    code = "ValidationException"
    status = 400
    message_key = "Message"
    typed = False


class InvalidSchedulerExpression(SchedulerValidationException):
    def __init__(self, expression: str) -> None:
        super().__init__(f"Invalid Schedule Expression {expression}.")


class ExpressionSyntaxError(ValueError):
    """Internal: the expression is malformed (each service turns it into its own error)."""
