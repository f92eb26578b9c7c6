"""AddPermission, GetPolicy and RemovePermission -> ``FunctionPolicies``."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.lambda_wire import policies as wire
from lamina.domain.context import RequestContext
from lamina.services.function_policies import FunctionPolicies

Params = dict[str, Any]
Output = dict[str, Any]


def policy_handlers(policies: FunctionPolicies) -> dict[str, Handler]:
    async def add_permission(ctx: RequestContext, params: Params) -> Output:
        added = await policies.add_permission(wire.add_permission_request(ctx, params))
        return wire.statement_to_wire(added)

    async def get_policy(ctx: RequestContext, params: Params) -> Output:
        ref = wire.get_policy_ref(ctx, params)
        return wire.policy_to_wire(policies.get_policy(ref.name, ref.qualifier))

    async def remove_permission(ctx: RequestContext, params: Params) -> Output:
        ref, sid, revision_id = wire.remove_permission_options(ctx, params)
        await policies.remove_permission(ref.name, ref.qualifier, sid, revision_id)
        return {}

    return {
        "AddPermission": add_permission,
        "GetPolicy": get_policy,
        "RemovePermission": remove_permission,
    }
