"""Checking a policy document as IAM does before it stores one, with IAM's messages.

IAM reports the first failing stage only, each with a fixed message (``MalformedPolicyDocument``
unless said otherwise): the size quota (``LimitExceeded``; white space does not count), JSON,
the grammar ("Syntax errors in policy."), the version of identity policies, the legacy
parser ("The policy failed legacy parsing": case of ``Effect``, date values, short ARNs),
unique Sids, actions present, resource formats, action vendors, then what each kind of policy
must or must not hold (principals, resources, trust policies' actions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from lamina.domain.iam_policy.conditions import parse_date, split_operator

PolicyKind = Literal["identity", "resource", "trust"]

SIZE_LIMITS: dict[str, int] = {"identity": 6144, "resource": 20480, "trust": 2048}
SIZE_MESSAGES: dict[str, str] = {
    "identity": "Cannot exceed quota for PolicySize: {limit}",
    "resource": "Cannot exceed quota for PolicySize: {limit}",
    "trust": "Cannot exceed quota for ACLSizePerRole: {limit}",
}
SYNTAX = "Syntax errors in policy."
INVALID_JSON = "This policy contains invalid Json"
OLD_VERSION = "Policy document must be version 2012-10-17 or greater."
LEGACY = "The policy failed legacy parsing"
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
NO_ACTIONS = "Policy statement must contain actions."
NO_RESOURCES = "Policy statement must contain resources."
NO_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
PRINCIPAL_FORBIDDEN = "Policy document should not specify a principal."
PRINCIPAL_MISSING = "Missing required field Principal"
RESOURCE_FORBIDDEN = "Has prohibited field Resource"
TRUST_ACTIONS = "AssumeRole policy may only specify STS AssumeRole actions."
VENDOR_UNQUALIFIED = "Resource vendor must be fully qualified and cannot contain regexes."

_TOP = {"Version", "Id", "Statement"}
_STATEMENT = {
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
    "Principal", "NotPrincipal", "Condition",
}  # fmt: skip
_VERSIONS = ("2008-10-17", "2012-10-17")
_PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f")
_VENDOR = re.compile(r"[A-Za-z0-9-]+|\*")
_PRINCIPAL_FORMS = {
    "AWS": re.compile(r"\*|\d{12}|arn:[a-z-]+:(iam|sts)::\d{12}:.+", re.ASCII | re.DOTALL),
    "Service": re.compile(
        r"\*|[a-z0-9-]+(\.[a-z0-9-]+)*\.(amazonaws\.com(\.cn)?|amazon\.com)", re.ASCII
    ),
    "Federated": re.compile(r".+", re.DOTALL),
    "CanonicalUser": re.compile(r"[0-9a-f]{64}", re.ASCII),
}
_TRUST_ACTIONS = re.compile(r"sts:(AssumeRole[A-Za-z]*|TagSession|SetSourceIdentity|\*)", re.I)


class PolicyGrammarError(Exception):
    """A document IAM refuses: ``code`` is ``MalformedPolicyDocument`` or ``LimitExceeded``."""

    def __init__(self, message: str, code: str = "MalformedPolicyDocument") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def validate_policy_document(
    text: str,
    kind: PolicyKind = "identity",
    *,
    max_size: int | None = None,
    size_message: str | None = None,
) -> dict[str, Any]:
    """The parsed document, or ``PolicyGrammarError``. ``max_size``: the quota in characters
    without white space (managed policy 6,144; a role's inline policies 10,240; trust policy
    2,048: the defaults per ``kind``); ``size_message``: IAM's message for it when the caller
    knows better (inline policies name the role)."""
    limit = max_size if max_size is not None else SIZE_LIMITS[kind]
    if sum(1 for char in text if not char.isspace()) > limit:
        message = size_message or SIZE_MESSAGES[kind].format(limit=limit)
        raise PolicyGrammarError(message, "LimitExceeded")
    try:
        document = json.loads(text)
    except ValueError:
        raise PolicyGrammarError(INVALID_JSON if kind == "trust" else SYNTAX) from None
    statements = _check_syntax(document)
    if kind == "identity" and document.get("Version") != "2012-10-17":
        raise PolicyGrammarError(OLD_VERSION)
    for stmt in statements:
        _check_legacy(stmt)
    _check_sids(statements)
    for stmt in statements:
        if not _values(stmt, "Action", "NotAction"):
            raise PolicyGrammarError(NO_ACTIONS)
    for stmt in statements:
        for resource in _values(stmt, "Resource", "NotResource"):
            _check_resource(resource)
    for stmt in statements:
        for action in _values(stmt, "Action", "NotAction"):
            _check_action(action)
    for stmt in statements:
        _check_kind(stmt, kind)
    return dict(document)


def _fail(condition: bool, message: str = SYNTAX) -> None:
    if condition:
        raise PolicyGrammarError(message)


def _is_strings(raw: Any) -> bool:
    return isinstance(raw, str) or (
        isinstance(raw, list) and all(isinstance(item, str) for item in raw)
    )


def _values(stmt: Mapping[str, Any], positive: str, negative: str) -> list[str]:
    raw = stmt.get(positive, stmt.get(negative, []))
    return [raw] if isinstance(raw, str) else list(raw)


def _check_syntax(document: Any) -> list[Mapping[str, Any]]:
    _fail(not isinstance(document, dict) or not set(document) <= _TOP)
    _fail("Version" in document and document["Version"] not in _VERSIONS)
    _fail("Id" in document and not isinstance(document["Id"], str))
    raw = document.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw
    _fail(not isinstance(statements, list) or not statements)
    for stmt in statements:
        _fail(not isinstance(stmt, dict) or not set(stmt) <= _STATEMENT)
        _fail("Sid" in stmt and not isinstance(stmt["Sid"], str))
        effect = stmt.get("Effect")
        _fail(not isinstance(effect, str) or effect.lower() not in ("allow", "deny"))
        for positive, negative in (
            ("Action", "NotAction"),
            ("Resource", "NotResource"),
            ("Principal", "NotPrincipal"),
        ):
            _fail(positive in stmt and negative in stmt)
        for name in ("Action", "NotAction", "Resource", "NotResource"):
            _fail(name in stmt and not _is_strings(stmt[name]))
        for name in ("Principal", "NotPrincipal"):
            _fail(name in stmt and not _principal_syntax(stmt[name]))
        if "Condition" in stmt:
            _check_condition_syntax(stmt["Condition"])
    return statements


def _principal_syntax(element: Any) -> bool:
    if element == "*":
        return True
    return isinstance(element, dict) and all(_is_strings(values) for values in element.values())


def _check_condition_syntax(condition: Any) -> None:
    _fail(not isinstance(condition, dict))
    for operator, block in condition.items():
        _fail(split_operator(operator) is None or not isinstance(block, dict))
        for values in block.values():
            items = values if isinstance(values, list) else [values]
            _fail(not all(isinstance(item, str | bool | int | float) for item in items))


def _check_legacy(stmt: Mapping[str, Any]) -> None:
    _fail(stmt["Effect"] not in ("Allow", "Deny"), LEGACY)
    for operator, block in (stmt.get("Condition") or {}).items():
        parts = split_operator(operator)
        if parts is None or not parts[1].startswith("Date"):
            continue
        for values in block.values():
            for value in values if isinstance(values, list) else [values]:
                _fail(parse_date(str(value)) is None, LEGACY)
    for resource in _values(stmt, "Resource", "NotResource"):
        segments = resource.split(":")
        short = resource.startswith("arn:") and 3 <= resource.count(":") < 5
        _fail(short and segments[1] in _PARTITIONS, LEGACY)


def _check_sids(statements: list[Mapping[str, Any]]) -> None:
    sids = [stmt["Sid"] for stmt in statements if stmt.get("Sid")]
    _fail(len(sids) != len(set(sids)), DUPLICATE_SID)


def _check_resource(resource: str) -> None:
    if resource == "*" or "${" in resource.split(":", 1)[0]:
        return
    _fail(":" not in resource, f'Resource {resource} must be in ARN format or "*".')
    _fail(resource.startswith("arn:") and resource.count(":") == 1, VENDOR_UNQUALIFIED)
    parts = resource.split(":", 5)
    if parts[0] != "arn":
        padded = (parts[1:] + ["*"] * 5)[:5]
        partition = padded[0]
        shown = "arn:" + ":".join(padded) if len(parts) < 6 else "arn:" + ":".join(parts[1:])
        _fail(True, f'Partition "{partition}" is not valid for resource "{shown}".')
    partition = parts[1]
    _fail(
        partition not in _PARTITIONS and "*" not in partition,
        f'Partition "{partition}" is not valid for resource "{resource}".',
    )


def _check_action(action: str) -> None:
    if action == "*":
        return
    _fail(":" not in action, NO_VENDOR)
    _fail(action.count(":") > 1, ONE_COLON)
    vendor = action.split(":", 1)[0]
    _fail(_VENDOR.fullmatch(vendor) is None, f"Vendor {vendor} is not valid")


def _check_kind(stmt: Mapping[str, Any], kind: PolicyKind) -> None:
    has_principal = "Principal" in stmt or "NotPrincipal" in stmt
    if kind == "identity":
        _fail(has_principal, PRINCIPAL_FORBIDDEN)
        _fail(not _values(stmt, "Resource", "NotResource"), NO_RESOURCES)
        return
    _fail(not has_principal, PRINCIPAL_MISSING)
    _check_principal(stmt.get("Principal", stmt.get("NotPrincipal")))
    if kind == "trust":
        _fail("Resource" in stmt or "NotResource" in stmt, RESOURCE_FORBIDDEN)
        for action in _values(stmt, "Action", "NotAction"):
            _fail(_TRUST_ACTIONS.fullmatch(action) is None, TRUST_ACTIONS)


def _check_principal(element: Any) -> None:
    if element == "*":
        return
    for principal_kind, raw in element.items():
        for value in [raw] if isinstance(raw, str) else raw:
            form = _PRINCIPAL_FORMS.get(principal_kind)
            valid = form is not None and form.fullmatch(value) is not None
            shown = principal_kind.upper()
            _fail(not valid, f'Invalid principal in policy: "{shown}":"{value}"')
