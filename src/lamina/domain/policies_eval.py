"""Evaluating a resource-based policy alone: does it let this principal do this action on
this resource, in this request context?

The names callers used before the one evaluator existed, kept; each delegates to
``lamina.domain.iam_policy`` (docs/iam-policies.md), which has AWS's rules. A principal is
written as a string here: ``"*"`` (anonymous), a service (``events.amazonaws.com``), an
account id, or an IAM/STS ARN (a user, a role, a role session, an account's root).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina.domain.iam_policy import AccessRequest, resource_policy_decision
from lamina.domain.iam_policy.conditions import compile_conditions
from lamina.domain.iam_policy.conditions import conditions_hold as _conditions_hold
from lamina.domain.iam_policy.document import VERSION_2012
from lamina.domain.iam_policy.patterns import Pattern
from lamina.domain.iam_policy.principals import PrincipalSet, caller_of

_ACCOUNT = re.compile(r"\d{12}", re.ASCII)
_PRINCIPAL_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)",
    re.ASCII,
)
_MAX_DOCUMENTS = 1024


@dataclass(frozen=True)
class PolicyRequest:
    """What is asked. ``principal``: ``"*"`` (anonymous), a service (``events.amazonaws.com``),
    an account id, or an IAM/STS ARN. ``context``: condition keys (any case) and their values."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def invocation_context(
    *,
    source_arn: str | None = None,
    source_account: str | None = None,
    function_url_auth_type: str | None = None,
    via_function_url: bool = False,
    event_source_token: str | None = None,
    principal_org_id: str | None = None,
) -> dict[str, str]:
    """The condition keys of an invocation (only those that are known)."""
    out: dict[str, str] = {}
    if source_arn is not None:
        out["aws:SourceArn"] = source_arn
    if source_account is not None:
        out["aws:SourceAccount"] = source_account
    if function_url_auth_type is not None:
        out["lambda:FunctionUrlAuthType"] = function_url_auth_type
    if via_function_url:
        out["lambda:InvokedViaFunctionUrl"] = "true"
    if event_source_token is not None:
        out["lambda:EventSourceToken"] = event_source_token
    if principal_org_id is not None:
        out["aws:PrincipalOrgID"] = principal_org_id
    return out


def access_request(request: PolicyRequest) -> AccessRequest:
    principal, service = caller_of(request.principal)
    return AccessRequest(
        principal, request.action, request.resource, None, request.context, service
    )


_documents: dict[int, tuple[Any, dict[str, Any]]] = {}


def _document(statements: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A policy document around ``statements`` (the same one for the same statements
    object, so its compiled form is reused)."""
    known = _documents.get(id(statements))
    if known is not None and known[0] is statements:
        return known[1]
    document = {"Version": VERSION_2012, "Statement": list(statements)}
    if isinstance(statements, tuple):
        if len(_documents) >= _MAX_DOCUMENTS:
            _documents.clear()
        _documents[id(statements)] = (statements, document)
    return document


def is_allowed(statements: Iterable[Mapping[str, Any]], request: PolicyRequest) -> bool:
    """Whether the statements allow the request: an Allow matches and no Deny does."""
    return resource_policy_decision(access_request(request), _document(statements)).allowed


def statement_matches(
    stmt: Mapping[str, Any], request: PolicyRequest, context: Mapping[str, str] | None = None
) -> bool:
    """Whether one statement applies to the request (whatever its Effect)."""
    if context is not None:
        request = PolicyRequest(request.principal, request.action, request.resource, context)
    allowing = {**stmt, "Effect": "Allow"}
    return is_allowed([allowing], request)


def principal_matches(element: Any, principal: str) -> bool:
    """Whether a statement's ``Principal`` element names ``principal``."""
    return PrincipalSet.parse(element).matches(*caller_of(principal))


def principal_account(principal: str) -> str | None:
    """The account a principal belongs to (None for services and anonymous callers)."""
    if _ACCOUNT.fullmatch(principal):
        return principal
    match = _PRINCIPAL_ARN.fullmatch(principal)
    return match["account"] if match else None


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` anywhere."""
    return Pattern(pattern, "action", variables=False).matches(action, {})


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching (``ArnLike`` and ``Resource``), segment by segment."""
    return Pattern(pattern, "arn", variables=False).matches(arn, {})


def glob_matches(pattern: str, value: str) -> bool:
    """``StringLike``: ``*`` is any run of characters, ``?`` any one; case-sensitive."""
    return Pattern(pattern, "text", variables=False).matches(value, {})


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Every block of a ``Condition`` holds; ``context``'s keys are lower-case."""
    compiled = compile_conditions(condition, variables=True)
    if compiled is None:
        return False
    values = {key.lower(): (value,) for key, value in context.items()}
    return _conditions_hold(compiled, values)
