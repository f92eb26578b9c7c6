"""EventBridge Scheduler's errors (rest-json; the body's message member is ``Message``).

Recorded (shared/aws-recorded/scheduler): the invalid-expression ValidationException. The
not-found wording ("Schedule <name> does not exist.") is what AWS answers in users' reports;
the other messages follow the same pattern and are unverified.
"""

from __future__ import annotations

from lamina.domain.errors import AwsError
from lamina.domain.schedules import SchedulerValidationException

__all__ = [
    "ConflictException",
    "ResourceNotFoundException",
    "SchedulerValidationException",
    "ServiceQuotaExceededException",
    "group_exists",
    "group_not_found",
    "schedule_exists",
    "schedule_not_found",
]


class _SchedulerError(AwsError):
    message_key = "Message"
    typed = False


class ResourceNotFoundException(_SchedulerError):
    code = "ResourceNotFoundException"
    status = 404


class ConflictException(_SchedulerError):
    code = "ConflictException"
    status = 409


class ServiceQuotaExceededException(_SchedulerError):
    code = "ServiceQuotaExceededException"
    status = 402


def schedule_not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Schedule {name} does not exist.")


def group_not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Schedule group {name} does not exist.")


def schedule_exists(name: str) -> ConflictException:
    return ConflictException(f"Schedule {name} already exists.")


def group_exists(name: str) -> ConflictException:
    return ConflictException(f"Schedule group {name} already exists.")
