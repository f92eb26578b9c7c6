"""Evaluating a resource-based policy: does it let this principal do this action on this
resource, in this request context?

IAM's rules for one resource policy (IAM User Guide, reference_policies_evaluation-logic and
reference_policies_elements_*; summarised in shared/docs/events-http-iam.md section 7.3):

- a request is allowed when some ``Allow`` statement matches and no ``Deny`` statement matches
  (Lambda's AddPermission only writes ``Allow`` statements, but a stored ``Deny`` still wins);
- a statement matches when its principal, action, resource and every condition match;
- ``Principal``: ``"*"`` or ``{"AWS": "*"}`` is anyone; ``{"AWS": "arn:aws:iam::<acct>:root"}``
  (what an account id becomes) is every principal of that account; a role ARN also matches the
  role's sessions (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``); ``{"Service": s}``
  is that service;
- ``Action``: case-insensitive, ``*`` and ``?`` anywhere (``lambda:*``, ``lambda:Invoke*``);
- ``Resource``: ARNs compared segment by segment, case-sensitively, with ``*``/``?`` inside a
  segment (``*`` in the last segment also crosses ``:`` and ``/``);
- ``Condition``: every operator block and every key in it must hold; several values for one key
  are alternatives (for negated operators: none may match). Key names are case-insensitive. A key
  missing from the request fails the condition, except for negated operators, ``...IfExists``
  and ``Null``.

Pure: no I/O. Unknown operators never match (an Allow they guard does not apply).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_ACCOUNT = re.compile(r"\d{12}", re.ASCII)
_PRINCIPAL_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)",
    re.ASCII,
)


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


def is_allowed(statements: Iterable[Mapping[str, Any]], request: PolicyRequest) -> bool:
    """Whether the statements allow the request: an Allow matches and no Deny does."""
    context = {key.lower(): value for key, value in request.context.items()}
    allowed = False
    for stmt in statements:
        if not statement_matches(stmt, request, context):
            continue
        if stmt.get("Effect") == "Deny":
            return False
        if stmt.get("Effect") == "Allow":
            allowed = True
    return allowed


def statement_matches(
    stmt: Mapping[str, Any], request: PolicyRequest, context: Mapping[str, str] | None = None
) -> bool:
    """Whether one statement applies to the request (whatever its Effect)."""
    if context is None:
        context = {key.lower(): value for key, value in request.context.items()}
    return (
        _principal_part(stmt, request.principal)
        and _element(stmt, "Action", "NotAction", request.action, action_matches)
        and _element(stmt, "Resource", "NotResource", request.resource, arn_matches)
        and conditions_hold(stmt.get("Condition") or {}, context)
    )


# --- principal ------------------------------------------------------------------------------


def _principal_part(stmt: Mapping[str, Any], principal: str) -> bool:
    if "Principal" in stmt:
        return principal_matches(stmt["Principal"], principal)
    if "NotPrincipal" in stmt:
        return not principal_matches(stmt["NotPrincipal"], principal)
    return False  # a resource policy statement names its principal


def principal_matches(element: Any, principal: str) -> bool:
    """Whether a statement's ``Principal`` element names ``principal``."""
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return False
    for kind, values in element.items():
        for value in _values(values):
            if kind == "AWS" and _aws_principal_matches(value, principal):
                return True
            if kind == "Service" and value.lower() == principal.lower():
                return True
    return False


def principal_account(principal: str) -> str | None:
    """The account a principal belongs to (None for services and anonymous callers)."""
    if _ACCOUNT.fullmatch(principal):
        return principal
    match = _PRINCIPAL_ARN.fullmatch(principal)
    return match["account"] if match else None


def _aws_principal_matches(value: str, principal: str) -> bool:
    if value == "*":
        return True
    named = _PRINCIPAL_ARN.fullmatch(value)
    if named is None:
        # A bare account id (never stored by AddPermission, but valid IAM).
        return bool(_ACCOUNT.fullmatch(value)) and principal_account(principal) == value
    if named["service"] == "iam" and named["resource"] == "root":
        return principal_account(principal) == named["account"]
    if value == principal:
        return True
    # A role names every session of it: arn:aws:sts::<acct>:assumed-role/<role>/<session>.
    caller = _PRINCIPAL_ARN.fullmatch(principal)
    if caller is None or named["service"] != "iam" or caller["service"] != "sts":
        return False
    role_name = named["resource"].rsplit("/", 1)[-1]
    return (
        named["resource"].startswith("role/")
        and caller["account"] == named["account"]
        and caller["resource"].startswith(f"assumed-role/{role_name}/")
    )


# --- action and resource ----------------------------------------------------------------------


def _element(
    stmt: Mapping[str, Any],
    positive: str,
    negative: str,
    value: str,
    matches: Callable[[str, str], bool],
) -> bool:
    if positive in stmt:
        return any(matches(pattern, value) for pattern in _values(stmt[positive]))
    if negative in stmt:
        return not any(matches(pattern, value) for pattern in _values(stmt[negative]))
    return False


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` anywhere."""
    return _glob(pattern.lower()).fullmatch(action.lower()) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM ARN matching (``ArnLike`` and ``Resource``): six ``:``-separated segments compared
    one by one with ``*``/``?`` (a wildcard never spans segments, so a pattern of fewer segments
    matches nothing); the last segment (the resource) may hold ``:`` itself."""
    if pattern == "*":
        return True
    wanted = pattern.split(":", 5)
    given = arn.split(":", 5)
    if len(wanted) != 6 and len(given) != 6:
        return glob_matches(pattern, arn)  # neither is an ARN: plain text
    if len(wanted) != len(given):
        return False
    return all(glob_matches(w, g) for w, g in zip(wanted, given, strict=True))


def glob_matches(pattern: str, value: str) -> bool:
    """``StringLike``: ``*`` is any run of characters, ``?`` any one; case-sensitive."""
    return _glob(pattern).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


# --- conditions -------------------------------------------------------------------------------


def _string_equals(pattern: str, value: str) -> bool:
    return pattern == value


def _string_equals_ignore_case(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


def _bool_equals(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


# Operator (without IfExists / Not) -> how one policy value matches the request's value.
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": glob_matches,
    "ArnEquals": arn_matches,
    "ArnLike": arn_matches,
    "Bool": _bool_equals,
}
_NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Every block of a ``Condition`` holds; ``context``'s keys are lower-case."""
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            return False
        for key, values in block.items():
            if not _condition_holds(operator, key.lower(), _values(values), context):
                return False
    return True


def _condition_holds(
    operator: str, key: str, values: list[str], context: Mapping[str, str]
) -> bool:
    present = key in context
    if operator == "Null":
        return all((v.lower() == "true") != present for v in values)
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return False
    if not present:
        return if_exists or base in _NEGATED or qualifier == "ForAllValues"
    value = context[key]
    if base in _NEGATED:
        matcher = _MATCHERS[_NEGATED[base]]
        return not any(matcher(v, value) for v in values)
    found = _MATCHERS.get(base)
    return found is not None and any(found(v, value) for v in values)


def _values(raw: Any) -> list[str]:
    """A policy element's value(s) as strings (booleans as ``true``/``false``)."""
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif item is not None:
            out.append(str(item))
    return out
