"""Where Lambda checks permissions beyond the caller's (``--iam enforce``): the execution role.

- CreateFunction and UpdateFunctionConfiguration: the role must exist and trust
  ``lambda.amazonaws.com`` (AWS: ``InvalidParameterValueException`` "The role defined for the
  function cannot be assumed by Lambda.").
- CreateEventSourceMapping on an SQS queue: the function's role must allow
  ``sqs:ReceiveMessage``, ``sqs:DeleteMessage`` and ``sqs:GetQueueAttributes`` on the queue
  (AWS: "The provided execution role does not have permissions to call ReceiveMessage on
  SQS").

A role's permissions are its identity policies weighed with the resource's own policy, as
for a session of the role (``domain.iam_policy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from lamina.domain.errors import InvalidParameterValueException
from lamina.domain.iam_actions import arn_account
from lamina.domain.iam_policy import AccessRequest, evaluate
from lamina.domain.identity import IdentityPolicies, Principal

LAMBDA_SERVICE = "lambda.amazonaws.com"
# Lambda's model's pattern of ``Role``.
ROLE_ARN = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
ROLE_NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
# What an SQS mapping's role must be allowed, in the order AWS checks it.
SQS_POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


class RoleDirectory(Protocol):
    """IAM's roles (``services.iam.service.IamService``)."""

    def role(self, arn: str) -> Any | None: ...

    def trusts(self, role: Any, service_principal: str) -> bool: ...


class PolicyLookup(Protocol):
    def policy_of(self, resource: str) -> Mapping[str, Any] | None: ...


# (region, FunctionName as given) -> the function's execution role ARN, None if no function.
FunctionRoles = Callable[[str, str], str | None]


def role_session(role_arn: str, session: str = "lamina") -> Principal:
    """A session of ``role_arn`` named ``session``, as a service acting with the role (a
    function's own sessions are named after the function, as on AWS)."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    name = role_arn.rsplit("/", 1)[-1]
    return Principal(
        f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
        account,
        "assumed-role",
        f"{name}:{session}",
        role_arn=role_arn,
        session_name=session,
    )


class ExecutionRoles:
    def __init__(
        self,
        roles: RoleDirectory,
        identities: IdentityPolicies,
        resources: PolicyLookup,
        function_role: FunctionRoles,
    ) -> None:
        self.roles = roles
        self.identities = identities
        self.resources = resources
        self.function_role = function_role

    def check(self, region: str, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """Raise AWS's InvalidParameterValueException when the role a Lambda request relies
        on cannot do what Lambda needs of it."""
        if service != "lambda":
            return
        if operation in ("CreateFunction", "UpdateFunctionConfiguration"):
            role = params.get("Role")
            # A malformed ARN is the handler's ValidationException, as AWS answers first.
            if isinstance(role, str) and ROLE_ARN.fullmatch(role) and not self.assumable(role):
                raise InvalidParameterValueException(ROLE_NOT_ASSUMABLE)
        elif operation == "CreateEventSourceMapping":
            self._check_poller(region, params)

    def assumable(self, role_arn: str) -> bool:
        """Whether the role exists and trusts Lambda."""
        role = self.roles.role(role_arn)
        return role is not None and self.roles.trusts(role, LAMBDA_SERVICE)

    def missing_poller_permission(self, role_arn: str, queue_arn: str) -> str | None:
        """The first SQS action an SQS mapping's role may not do on its queue, or None."""
        for action in SQS_POLLER_ACTIONS:
            if not self.role_allows(role_arn, action, queue_arn):
                return action
        return None

    def poller_blocked(self, region: str, function: str, queue_arn: str) -> str | None:
        """Why an SQS mapping of ``function`` may not poll ``queue_arn`` now, or None."""
        if not queue_arn.startswith("arn:aws:sqs:"):
            return None
        role_arn = self.function_role(region, function)
        if role_arn is None:
            return None
        missing = self.missing_poller_permission(role_arn, queue_arn)
        return poller_denied(missing) if missing is not None else None

    def service_role_denial(
        self, service_principal: str, role_arn: str, action: str, resource: str
    ) -> str | None:
        """Why a service (``scheduler.amazonaws.com``) acting with ``role_arn`` may not do
        ``action`` on ``resource``, in AWS's words, or None when it may."""
        role = self.roles.role(role_arn)
        if role is None or not self.roles.trusts(role, service_principal):
            return (
                f"{service_principal} is not authorized to perform: sts:AssumeRole on "
                f"resource: {role_arn}"
            )
        if self.role_allows(role_arn, action, resource):
            return None
        return implicit_denial(role_session(role_arn).arn, action, resource)

    def function_role_denial(
        self, region: str, function: str, action: str, resource: str
    ) -> str | None:
        """Why ``function``'s execution role may not do ``action`` on ``resource`` (its
        destinations), in AWS's words, or None when it may (or the function is gone)."""
        role_arn = self.function_role(region, function)
        if role_arn is None or self.role_allows(role_arn, action, resource):
            return None
        return implicit_denial(role_session(role_arn, function).arn, action, resource)

    def role_allows(self, role_arn: str, action: str, resource: str) -> bool:
        session = role_session(role_arn)
        request = AccessRequest(
            session, action, resource, arn_account(resource) or session.account_id
        )
        policies = self.identities.policies_of(session)
        return evaluate(request, policies, self.resources.policy_of(resource)).allowed

    def _check_poller(self, region: str, params: Mapping[str, Any]) -> None:
        source = params.get("EventSourceArn")
        function = params.get("FunctionName")
        if not isinstance(source, str) or not isinstance(function, str) or not function:
            return
        blocked = self.poller_blocked(region, function, source)
        if blocked is not None:
            raise InvalidParameterValueException(blocked)


def implicit_denial(principal_arn: str, action: str, resource: str) -> str:
    """AWS's words when no policy allows ``action``."""
    return (
        f"User: {principal_arn} is not authorized to perform: {action} on resource: "
        f"{resource} because no identity-based policy allows the {action} action"
    )


def poller_denied(action: str) -> str:
    """AWS's words for an SQS mapping whose role lacks ``action``."""
    return (
        f"The provided execution role does not have permissions to call "
        f"{action.split(':', 1)[1]} on SQS"
    )
