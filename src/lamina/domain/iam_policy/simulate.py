"""IAM's policy simulator: SimulatePrincipalPolicy / SimulateCustomPolicy ``EvaluationResults``.

One result per action and resource (``*`` when none is given), each with the decision
(``allowed``, ``explicitDeny``, ``implicitDeny``), the statements that decided it (only the
denying ones when a Deny decides), the condition keys the policies use that the simulation
did not give, and the per-resource detail (shapes: shared aws-recorded iam
``test_simulate_principle_policy``; botocore's ``EvaluationResult``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lamina.domain.iam_policy.evaluate import (
    AccessRequest,
    Decision,
    evaluate,
    matching_statements,
    missing_context_keys,
)
from lamina.domain.iam_policy.positions import Span, statement_spans
from lamina.domain.iam_policy.principals import caller_of
from lamina.domain.identity import Principal

IDENTITY_POLICY_TYPE = "IAM Policy"
RESOURCE_POLICY_TYPE = "Resource Policy"
RESOURCE_POLICY_ID = "ResourcePolicy"
_DECISIONS = {"allow": "allowed", "explicit-deny": "explicitDeny", "implicit-deny": "implicitDeny"}
_SIMULATED_ACCOUNT = "000000000000"


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """A policy given to the simulator: its id (``SourcePolicyId``: the policy's name, or
    ``PolicyInputList.1``), its text, and its ``SourcePolicyType``."""

    policy_id: str
    text: str
    policy_type: str = IDENTITY_POLICY_TYPE


@dataclass(frozen=True, slots=True)
class _Loaded:
    source: SourcePolicy
    document: dict[str, Any]
    spans: list[Span]


def _load(source: SourcePolicy) -> _Loaded:
    try:
        document = json.loads(source.text)
    except ValueError:
        document = {}
    return _Loaded(
        source, document if isinstance(document, dict) else {}, statement_spans(source.text)
    )


def _account_of(owner: str | None) -> str | None:
    if owner is None:
        return None
    principal, _ = caller_of(owner)
    return principal.account_id if principal is not None else owner


def _caller(caller_arn: str | None, resource_account: str | None) -> Principal:
    if caller_arn is not None:
        principal, _ = caller_of(caller_arn)
        if principal is not None:
            return principal
    account = resource_account or _SIMULATED_ACCOUNT
    return Principal(f"arn:aws:iam::{account}:user/simulated", account, "user", "")


def simulate(
    policies: Sequence[SourcePolicy | tuple[str, str]],
    actions: Sequence[str],
    resources: Sequence[str],
    context: Mapping[str, list[str]],
    caller_arn: str | None = None,
    resource_policy: str | None = None,
    resource_owner: str | None = None,
) -> list[dict[str, Any]]:
    """``EvaluationResults`` of the simulation (IAM's shapes and names)."""
    identity = [_load(p if isinstance(p, SourcePolicy) else SourcePolicy(*p)) for p in policies]
    resource = (
        _load(SourcePolicy(RESOURCE_POLICY_ID, resource_policy, RESOURCE_POLICY_TYPE))
        if resource_policy is not None
        else None
    )
    resource_account = _account_of(resource_owner)
    principal = _caller(caller_arn, resource_account)
    results: list[dict[str, Any]] = []
    for action in actions:
        for resource_name in resources or ["*"]:
            request = AccessRequest(
                principal, action, resource_name, resource_account, dict(context)
            )
            results.append(_result(request, identity, resource))
    return results


def _result(
    request: AccessRequest, identity: list[_Loaded], resource: _Loaded | None
) -> dict[str, Any]:
    decision = evaluate(
        request, [p.document for p in identity], resource.document if resource else None
    )
    matched = _matched(request, decision, identity, resource)
    missing = _missing(request, identity, resource)
    eval_decision = _DECISIONS[decision.kind]
    details: dict[str, str] = {}
    if resource is not None and request.resource_account not in (
        None,
        request.principal.account_id if request.principal else None,
    ):
        details = _cross_account_details(request, identity, resource)
    return {
        "EvalActionName": request.action,
        "EvalResourceName": request.resource,
        "EvalDecision": eval_decision,
        "MatchedStatements": matched,
        "MissingContextValues": missing,
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": True},
        "EvalDecisionDetails": details,
        "ResourceSpecificResults": [
            {
                "EvalResourceName": request.resource,
                "EvalResourceDecision": eval_decision,
                "MatchedStatements": matched,
                "MissingContextValues": missing,
            }
        ],
    }


def _matched(
    request: AccessRequest, decision: Decision, identity: list[_Loaded], resource: _Loaded | None
) -> list[dict[str, Any]]:
    if decision.kind == "implicit-deny":
        return []
    wanted_allow = decision.allowed
    out: list[dict[str, Any]] = []
    sources = [(p, False) for p in identity] + ([(resource, True)] if resource else [])
    for loaded, is_resource in sources:
        for stmt in matching_statements(request, loaded.document, resource_policy=is_resource):
            if stmt.allow == wanted_allow:
                out.append(_statement_ref(loaded, stmt.index))
    return out


def _statement_ref(loaded: _Loaded, index: int) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "SourcePolicyId": loaded.source.policy_id,
        "SourcePolicyType": loaded.source.policy_type,
    }
    if index < len(loaded.spans):
        span = loaded.spans[index]
        ref["StartPosition"] = {"Line": span.start_line, "Column": span.start_column}
        ref["EndPosition"] = {"Line": span.end_line, "Column": span.end_column}
    return ref


def _missing(
    request: AccessRequest, identity: list[_Loaded], resource: _Loaded | None
) -> list[str]:
    out: list[str] = []
    sources = [(p, False) for p in identity] + ([(resource, True)] if resource else [])
    for loaded, is_resource in sources:
        for key in missing_context_keys(request, loaded.document, resource_policy=is_resource):
            if key not in out:
                out.append(key)
    return out


def _cross_account_details(
    request: AccessRequest, identity: list[_Loaded], resource: _Loaded
) -> dict[str, str]:
    """How each side decided a cross-account request (``EvalDecisionDetails``)."""
    own = AccessRequest(request.principal, request.action, request.resource, None, request.context)
    identity_side = evaluate(own, [p.document for p in identity])
    resource_side = evaluate(own, [], resource.document)
    return {
        IDENTITY_POLICY_TYPE: _DECISIONS[identity_side.kind],
        RESOURCE_POLICY_TYPE: _DECISIONS[resource_side.kind],
    }
