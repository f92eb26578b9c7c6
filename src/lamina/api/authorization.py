"""The edge's authorizer: IAM policies weighed for every signed request (``--iam``).

- ``off`` (the default): no authorizer is built; the edge pays nothing.
- ``audit``: each request is evaluated; a decision that would deny is logged (the action,
  resource, principal and the deciding statement) and the request is answered as usual.
- ``enforce``: a request some needed permission denies gets AWS's error of its service:
  ``AccessDeniedException`` (Lambda: 403 with ``Message``; JSON services), ``AccessDenied``
  (query services), SNS's ``AuthorizationError``, with AWS's text: "User: <arn> is not
  authorized to perform: <action> on resource: <arn> because no identity-based policy allows
  the <action> action" (or "with an explicit deny in an identity-based policy").

Who is asking is ``RequestContext.principal`` (the edge verified the signature). Root is
allowed everything in its account; requests without a principal are Lamina's own. What a
request needs comes from ``domain.iam_actions``; the principal's identity policies from IAM
(``IdentityPolicies``); the resource's own policy (function, queue, topic, bus) from
``ResourcePolicies``; the decision from ``domain.iam_policy.evaluate``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lamina.api.execution_role_checks import ExecutionRoles, implicit_denial
from lamina.domain.context import RequestContext
from lamina.domain.errors import AccessDeniedException, AwsError
from lamina.domain.iam_actions import (
    RequiredAccess,
    Scope,
    UnmappedOperation,
    arn_account,
    required_access,
)
from lamina.domain.iam_policy import AccessRequest, Decision, evaluate
from lamina.domain.identity import IdentityPolicies, Principal

log = logging.getLogger("lamina.iam")


class ResourcePolicies(Protocol):
    """The resource-based policy of an ARN (a function, queue, topic or bus), parsed; None
    when it has none or is not a resource with a policy. Reads memory only."""

    def policy_of(self, resource: str) -> Mapping[str, Any] | None: ...


class NoResourcePolicies:
    def policy_of(self, resource: str) -> Mapping[str, Any] | None:
        return None


class ServiceAccessDenied(AwsError):
    """An authorization failure of a JSON service (EventBridge, Logs, KMS): 400."""

    code = "AccessDeniedException"
    status = 400
    message_key = "message"
    typed = False


class ForbiddenAccessDenied(ServiceAccessDenied):
    """Services that answer authorization failures with 403 (SQS, whose query clients read
    ``AccessDenied``; API Gateway, Scheduler)."""

    status = 403
    query_code = "AccessDenied"


class QueryAccessDenied(ServiceAccessDenied):
    """IAM and STS: ``AccessDenied``, 403."""

    code = "AccessDenied"
    status = 403


class SnsAuthorizationError(AwsError):
    """SNS's authorization failure (its model's ``AuthorizationErrorException``)."""

    code = "AuthorizationError"
    status = 403
    message_key = "message"
    typed = False
    query_code = "AuthorizationError"


_ERRORS: dict[str, type[AwsError]] = {
    "lambda": AccessDeniedException,
    "sns": SnsAuthorizationError,
    "sqs": ForbiddenAccessDenied,
    "scheduler": ForbiddenAccessDenied,
    "apigateway": ForbiddenAccessDenied,
    "apigatewayv2": ForbiddenAccessDenied,
    "iam": QueryAccessDenied,
    "sts": QueryAccessDenied,
}


def denied_error(service: str, message: str) -> AwsError:
    """The error ``service`` answers an authorization failure with."""
    return _ERRORS.get(service, ServiceAccessDenied)(message)


def denial_message(
    principal_arn: str, need: RequiredAccess, decision: Decision, service: str = ""
) -> str:
    """AWS's words for a denied request (STS gives no reason)."""
    head = (
        f"User: {principal_arn} is not authorized to perform: {need.action} "
        f"on resource: {need.resource}"
    )
    if service == "sts":
        return head
    if decision.kind == "explicit-deny":
        where = "a resource-based" if decision.source == "resource" else "an identity-based"
        return f"{head} with an explicit deny in {where} policy"
    return implicit_denial(principal_arn, need.action, need.resource)


def request_keys(region: str) -> dict[str, str | Sequence[str]]:
    """The request's own condition keys (the evaluator derives the principal's)."""
    return {"aws:RequestedRegion": region, "aws:SecureTransport": "false"}


class Authorizer:
    """Authorizes each request of a principal (``audit`` or ``enforce``)."""

    def __init__(
        self,
        mode: str,
        identities: IdentityPolicies,
        resources: ResourcePolicies | None = None,
        roles: ExecutionRoles | None = None,
    ) -> None:
        if mode not in ("audit", "enforce"):
            raise ValueError(f"an authorizer runs in audit or enforce mode, not {mode!r}")
        self.enforcing = mode == "enforce"
        self.identities = identities
        self.resources = resources or NoResourcePolicies()
        # Lambda's checks of execution roles (``audit``: logged).
        self.roles = roles

    def authorize(
        self, ctx: RequestContext, service: str, operation: str, params: Mapping[str, Any]
    ) -> None:
        """Raise the service's AccessDenied error (``enforce``) or log (``audit``) when a
        permission the request needs is denied; then, under ``enforce``, Lambda's checks of
        the execution role a request relies on. Return otherwise."""
        principal = ctx.principal
        if principal is not None and principal.kind != "root":
            self.authorize_principal(ctx, principal, service, operation, params)
        if self.roles is not None:
            try:
                self.roles.check(ctx.region, service, operation, params)
            except AwsError as refused:
                if self.enforcing:
                    raise
                log.warning("IAM audit: would refuse %s: %s", operation, refused.message)

    def authorize_principal(
        self,
        ctx: RequestContext,
        principal: Principal,
        service: str,
        operation: str,
        params: Mapping[str, Any],
    ) -> None:
        try:
            needs = required_access(
                service, operation, params, Scope(ctx.region, ctx.account_id, principal.arn)
            )
        except UnmappedOperation:
            log.error("IAM: %s:%s has no mapping; denied", service, operation)
            needs = [RequiredAccess(f"{service}:{operation}", "*")]
        if not needs:
            return
        policies = self.identities.policies_of(principal)
        keys = request_keys(ctx.region)
        for need in needs:
            decision = self.decide(principal, need, policies, keys, ctx.account_id)
            if decision.allowed:
                continue
            message = denial_message(principal.arn, need, decision, service)
            if self.enforcing:
                raise denied_error(service, message)
            log.warning("IAM audit: would deny: %s (%s)", message, _deciding(decision))

    def permits(self, principal: Principal, need: RequiredAccess, region: str) -> bool:
        """Whether ``principal`` may do what ``need`` names (root: always); under ``audit``
        a denial is logged and True returned. For checks outside an API operation (a
        function URL's ``AWS_IAM`` caller)."""
        if principal.kind == "root":
            return True
        policies = self.identities.policies_of(principal)
        keys = request_keys(region)
        decision = self.decide(principal, need, policies, keys, principal.account_id)
        if decision.allowed:
            return True
        if self.enforcing:
            return False
        message = denial_message(principal.arn, need, decision, "lambda")
        log.warning("IAM audit: would deny: %s (%s)", message, _deciding(decision))
        return True

    def decide(
        self,
        principal: Principal,
        need: RequiredAccess,
        policies: Sequence[Mapping[str, Any]],
        keys: Mapping[str, str | Sequence[str]],
        default_account: str,
    ) -> Decision:
        """One permission's decision: the principal's policies and the resource's own."""
        context = {**keys, **need.context} if need.context else keys
        request = AccessRequest(
            principal,
            need.action,
            need.resource,
            arn_account(need.resource) or default_account,
            context,
        )
        resource_policy = self.resources.policy_of(need.resource) if need.resource != "*" else None
        return evaluate(request, policies, resource_policy)


def _deciding(decision: Decision) -> str:
    """Which statement decided a denial, for the audit log."""
    if decision.kind == "explicit-deny":
        return f"explicit deny by statement {decision.statement} of the {decision.source} policy"
    return "implicit deny: no statement allows it"
