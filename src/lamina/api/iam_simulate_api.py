"""IAM's policy simulator on the edge: SimulatePrincipalPolicy (a user's or role's own
policies, plus any given) and SimulateCustomPolicy (the given policies only), evaluated by
``lamina.domain.iam_policy.simulate``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from lamina.domain.context import RequestContext
from lamina.domain.iam_policy import SourcePolicy, simulate
from lamina.services.iam import documents
from lamina.services.iam.errors import InvalidInput, no_such_role, no_such_user
from lamina.services.iam.identity_source import policy_sources, role_by_arn
from lamina.services.iam.model import Role, User
from lamina.services.iam.paging import listing, page
from lamina.services.iam.service import IamService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def _source(iam: IamService, arn: str) -> Role | User:
    resource = arn.split(":", 5)[-1]
    name = arn.rpartition("/")[2]
    if resource.startswith("role/"):
        role = role_by_arn(iam.state, arn)
        if role is None:
            raise no_such_role(name)
        return role
    if resource.startswith("user/"):
        user = iam.state.user(name)
        if user is None or user.arn != arn:
            raise no_such_user(name)
        return user
    raise InvalidInput(f"Invalid Entity Arn: {arn} does not clearly define entity type and name.")


def _context(entries: Sequence[Mapping[str, Any]] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in entries or ():
        key = str(entry.get("ContextKeyName", ""))
        out.setdefault(key, []).extend(str(v) for v in entry.get("ContextKeyValues") or ())
    return out


def _given(params: dict[str, Any]) -> list[SourcePolicy]:
    """``PolicyInputList``, each checked as IAM checks an identity policy."""
    out = []
    for index, text in enumerate(params.get("PolicyInputList") or (), start=1):
        documents.check(text)
        out.append(SourcePolicy(f"PolicyInputList.{index}", text))
    return out


async def _run(
    policies: list[SourcePolicy], params: dict[str, Any], caller_arn: str | None
) -> dict[str, Any]:
    resource_policy = params.get("ResourcePolicy")
    if resource_policy is not None:
        documents.check(resource_policy, "resource")
    results = await asyncio.to_thread(
        simulate,
        policies,
        list(params.get("ActionNames") or []),
        list(params.get("ResourceArns") or ["*"]),
        _context(params.get("ContextEntries")),
        caller_arn,
        resource_policy,
        params.get("ResourceOwner"),
    )
    numbered = list(enumerate(results))
    found, marker = page(
        numbered, lambda r: f"{r[0]:08d}", params.get("Marker"), params.get("MaxItems")
    )
    return listing({"EvaluationResults": [result for _, result in found]}, marker)


def simulate_handlers(iam: IamService) -> dict[str, Handler]:
    async def simulate_principal(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicySourceArn"]
        source = _source(iam, arn)
        own = [SourcePolicy(name, text) for name, text in policy_sources(iam.state, source)]
        caller = params.get("CallerArn") or (arn if isinstance(source, User) else None)
        return await _run(own + _given(params), params, caller)

    async def simulate_custom(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await _run(_given(params), params, params.get("CallerArn"))

    return {
        "SimulatePrincipalPolicy": simulate_principal,
        "SimulateCustomPolicy": simulate_custom,
    }
