"""IAM's errors, as its query protocol renders them (``<Code>`` is the class's ``code``).

Messages are AWS's (``tests/fixtures/aws-recorded/iam`` where recorded, AWS's documented
wording otherwise).
"""

from __future__ import annotations

from lamina.domain.errors import AwsError


class IamError(AwsError):
    """Base of IAM's errors: client faults with a ``message`` member."""

    code = "InvalidInput"
    status = 400
    message_key = "message"
    typed = False


class InvalidInput(IamError):
    code = "InvalidInput"


class ValidationError(IamError):
    code = "ValidationError"


class MalformedPolicyDocument(IamError):
    code = "MalformedPolicyDocument"


class PolicyNotAttachable(IamError):
    code = "PolicyNotAttachable"


class NoSuchEntity(IamError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(IamError):
    code = "EntityAlreadyExists"
    status = 409


class DeleteConflict(IamError):
    code = "DeleteConflict"
    status = 409


class LimitExceeded(IamError):
    code = "LimitExceeded"
    status = 409


def invalid_arn() -> ValidationError:
    """A policy ARN that is not an ARN (recorded, with its two spaces)."""
    return ValidationError("Invalid ARN:  Could not be parsed!")


def no_such_role(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The role with name {name} cannot be found.")


def no_such_user(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The user with name {name} cannot be found.")


def no_such_policy(arn: str) -> NoSuchEntity:
    """GetPolicy, DeletePolicy and the version operations (recorded for DeletePolicy)."""
    return NoSuchEntity(f"Policy {arn} was not found.")


def not_attachable(arn: str) -> NoSuchEntity:
    """Attaching a policy that does not exist (recorded)."""
    return NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
