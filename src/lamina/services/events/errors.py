"""EventBridge's errors (JSON 1.1: ``{"__type": code, "message": ...}``), with AWS's wording.

Messages are the recorded ones (``tests/fixtures/aws-recorded/events``) wherever a
recording exists; the helpers build them from their parameters so callers cannot drift.
"""

from __future__ import annotations

from lamina.domain.errors import AwsError


class EventsError(AwsError):
    status = 400
    message_key = "message"
    typed = False


class ResourceNotFoundException(EventsError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(EventsError):
    code = "ResourceAlreadyExistsException"


class EventsValidationException(EventsError):
    code = "ValidationException"


class InvalidEventPatternException(EventsError):
    code = "InvalidEventPatternException"


class LimitExceededException(EventsError):
    code = "LimitExceededException"


class ThrottlingException(EventsError):
    code = "ThrottlingException"


def bus_not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Event bus {name} does not exist.")


def rule_not_found(name: str, bus: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Rule {name} does not exist on EventBus {bus}.")


def limit_exceeded() -> LimitExceededException:
    return LimitExceededException("The requested resource exceeds the maximum number allowed.")


def constraint(value: object, member: str, rule: str) -> EventsValidationException:
    """AWS's request-validator wording for one failed member constraint."""
    return EventsValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {rule}"
    )


NAME_PATTERN_RULE = r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
BUS_NAME_PATTERN_RULE = (
    r"Member must satisfy regular expression pattern: (arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-"
    r"[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+"
)


def missing_member(operation: str, member: str) -> EventsValidationException:
    """A required member absent (the codec's ``missing_parameter``), in AWS's wording."""
    del operation
    name = member[:1].lower() + member[1:]
    return EventsValidationException(
        f"1 validation error detected: Value null at '{name}' failed to satisfy constraint: "
        "Member must not be null"
    )


def max_length_rule(limit: int) -> str:
    return f"Member must have length less than or equal to {limit}"
