"""The decision: may this principal do this action on this resource?

IAM User Guide, reference_policies_evaluation-logic and
reference_policies_evaluation-logic-cross-account (SCPs, permissions boundaries and session
policies aside, which Lamina does not have):

1. an explicit ``Deny`` in any applicable policy (identity or resource) decides: denied;
2. a service principal (``events.amazonaws.com``) or an anonymous caller has no identity
   policies: only the resource policy can allow it;
3. the account's root user is allowed everything in its own account;
4. within one account an ``Allow`` in the identity policies *or* in the resource policy
   (naming the principal, its role or its account) suffices;
5. across accounts both must allow: the identity policies of the caller's account and the
   resource policy of the resource's account;
6. otherwise: implicitly denied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from lamina.domain.iam_policy.document import Statement, compile_policy
from lamina.domain.iam_policy.principals import principal_role_arn
from lamina.domain.identity import Principal

DecisionKind = Literal["allow", "explicit-deny", "implicit-deny"]
Source = Literal["identity", "resource"]


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """What is asked. ``principal`` None: a service principal (``service_principal``) or,
    without one, an anonymous caller. ``context``: condition keys (any case) and their value
    or values; keys describing the principal (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:username``, ``aws:userid``, ``aws:PrincipalType``, ``aws:PrincipalServiceName``)
    are derived from it unless given."""

    principal: Principal | None
    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    service_principal: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer, and the statement that decided it (its Sid, else ``#<index>``)."""

    allowed: bool
    kind: DecisionKind
    statement: str | None = None
    source: Source | None = None


IMPLICIT_DENY = Decision(False, "implicit-deny")


@lru_cache(maxsize=1024)
def principal_keys(
    principal: Principal | None, service: str | None
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The condition keys a caller brings (reference_policies_condition-keys)."""
    if principal is None:
        if service is None:
            return ()
        return (
            ("aws:principalservicename", (service,)),
            ("aws:principalisawsservice", ("true",)),
        )
    keys: dict[str, str] = {
        "aws:principalaccount": principal.account_id,
        "aws:userid": principal.unique_id,
        "aws:principalisawsservice": "false",
    }
    if principal.kind == "root":
        keys.update({"aws:principalarn": principal.arn, "aws:principaltype": "Account"})
    elif principal.kind == "user":
        name = principal.user_name or principal.arn.rsplit("/", 1)[-1]
        keys.update(
            {"aws:principalarn": principal.arn, "aws:principaltype": "User", "aws:username": name}
        )
    else:
        keys.update(
            {
                "aws:principalarn": principal_role_arn(principal) or principal.arn,
                "aws:principaltype": "AssumedRole",
            }
        )
    return tuple((key, (value,)) for key, value in keys.items())


class RequestContext(Mapping[str, tuple[str, ...]]):
    """The request's condition keys, lower-cased, each with its values; gathered on first
    use (most statements never look at them)."""

    __slots__ = ("_request", "_keys")

    def __init__(self, request: AccessRequest) -> None:
        self._request = request
        self._keys: dict[str, tuple[str, ...]] | None = None

    def _gathered(self) -> dict[str, tuple[str, ...]]:
        if self._keys is None:
            request = self._request
            keys = dict(principal_keys(request.principal, request.service_principal))
            for key, value in request.context.items():
                keys[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
            self._keys = keys
        return self._keys

    def get(self, key: str, default: Any = None) -> Any:
        return self._gathered().get(key, default)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._gathered()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._gathered()

    def __iter__(self) -> Iterator[str]:
        return iter(self._gathered())

    def __len__(self) -> int:
        return len(self._gathered())


def request_context(request: AccessRequest) -> RequestContext:
    """The request's condition keys (lower-cased names)."""
    return RequestContext(request)


def _first_match(
    statements: Sequence[Statement],
    request: AccessRequest,
    context: Mapping[str, tuple[str, ...]],
    *,
    resource_policy: bool,
) -> tuple[Statement | None, Statement | None]:
    """(first matching Deny, first matching Allow) among statements naming the action."""
    allow: Statement | None = None
    for stmt in statements:
        if allow is not None and stmt.allow:
            continue  # an Allow is already known; only a Deny can change the answer
        if resource_policy and not stmt.matches_principal(
            request.principal, request.service_principal
        ):
            continue
        if not stmt.matches_resource(request.resource, context, required=not resource_policy):
            continue
        if not stmt.conditions_hold(context):
            continue
        if not stmt.allow:
            return stmt, allow
        allow = stmt
    return None, allow


def evaluate(
    request: AccessRequest,
    identity_policies: Sequence[Mapping[str, Any]],
    resource_policy: Mapping[str, Any] | None = None,
) -> Decision:
    """AWS's decision for ``request`` given the caller's identity-based policies and the
    resource's resource-based policy (None: the resource has none)."""
    context = request_context(request)
    identity_allow: Statement | None = None
    if request.principal is not None:
        for document in identity_policies:
            statements = compile_policy(document).for_action(request.action)
            deny, allow = _first_match(statements, request, context, resource_policy=False)
            if deny is not None:
                return Decision(False, "explicit-deny", deny.label, "identity")
            identity_allow = identity_allow or allow
    resource_allow: Statement | None = None
    if resource_policy is not None:
        statements = compile_policy(resource_policy).for_action(request.action)
        deny, resource_allow = _first_match(statements, request, context, resource_policy=True)
        if deny is not None:
            return Decision(False, "explicit-deny", deny.label, "resource")
    return _combine(request, identity_allow, resource_allow)


def _combine(
    request: AccessRequest, identity_allow: Statement | None, resource_allow: Statement | None
) -> Decision:
    principal = request.principal
    resource_grant = (
        Decision(True, "allow", resource_allow.label, "resource") if resource_allow else None
    )
    if principal is None:
        return resource_grant or IMPLICIT_DENY
    same_account = request.resource_account in (None, principal.account_id)
    if same_account:
        if principal.kind == "root":
            return Decision(True, "allow")
        if identity_allow is not None:
            return Decision(True, "allow", identity_allow.label, "identity")
        return resource_grant or IMPLICIT_DENY
    identity_side = principal.kind == "root" or identity_allow is not None
    return resource_grant if identity_side and resource_grant else IMPLICIT_DENY


def resource_policy_decision(request: AccessRequest, policy: Mapping[str, Any]) -> Decision:
    """The resource policy's own answer, alone: whether it allows the request (no identity
    policy, no root rule). This is what a service checks for service principals, and what
    ``policies_eval`` answers."""
    context = request_context(request)
    statements = compile_policy(policy).for_action(request.action)
    deny, allow = _first_match(statements, request, context, resource_policy=True)
    if deny is not None:
        return Decision(False, "explicit-deny", deny.label, "resource")
    if allow is not None:
        return Decision(True, "allow", allow.label, "resource")
    return IMPLICIT_DENY


def matching_statements(
    request: AccessRequest, document: Mapping[str, Any], *, resource_policy: bool
) -> list[Statement]:
    """Every statement of ``document`` that applies to the request, Allow and Deny alike
    (the simulator reports them)."""
    context = request_context(request)
    return [
        stmt
        for stmt in compile_policy(document).for_action(request.action)
        if (
            not resource_policy
            or stmt.matches_principal(request.principal, request.service_principal)
        )
        and stmt.matches_resource(request.resource, context, required=not resource_policy)
        and stmt.conditions_hold(context)
    ]


def missing_context_keys(
    request: AccessRequest, document: Mapping[str, Any], *, resource_policy: bool
) -> list[str]:
    """Condition keys of statements about this action and resource that the request does
    not give (the simulator's ``MissingContextValues``), as the policy writes them."""
    context = request_context(request)
    missing: list[str] = []
    for stmt in compile_policy(document).for_action(request.action):
        if not stmt.matches_resource(request.resource, context, required=not resource_policy):
            continue
        for condition in stmt.conditions:
            if condition.key not in context and condition.name not in missing:
                missing.append(condition.name)
    return missing
