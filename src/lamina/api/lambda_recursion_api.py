"""Get/PutFunctionRecursionConfig -> ``RecursionGuard``; Get/PutRuntimeManagementConfig ->
``RuntimeManagementService``."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.lambda_wire.refs import function_ref
from lamina.domain.context import RequestContext
from lamina.services.recursion import RecursionGuard
from lamina.services.runtime_management import RuntimeManagementService

Params = dict[str, Any]
Output = dict[str, Any]


def recursion_handlers(
    guard: RecursionGuard, runtimes: RuntimeManagementService
) -> dict[str, Handler]:
    async def get_recursion(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "GetFunctionRecursionConfig")
        return {"RecursiveLoop": guard.get(ref.name)}

    async def put_recursion(ctx: RequestContext, params: Params) -> Output:
        mode = str(params.get("RecursiveLoop", ""))
        ref = function_ref(ctx, params, "PutFunctionRecursionConfig")
        return {"RecursiveLoop": guard.put(ref.name, mode)}

    async def get_runtime(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "GetRuntimeManagementConfig")
        return runtimes.get(ref.name, ref.qualifier).to_wire()

    async def put_runtime(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "PutRuntimeManagementConfig")
        config = runtimes.put(
            ref.name,
            ref.qualifier,
            str(params.get("UpdateRuntimeOn", "")),
            params.get("RuntimeVersionArn"),
        )
        return config.to_wire()

    return {
        "GetFunctionRecursionConfig": get_recursion,
        "PutFunctionRecursionConfig": put_recursion,
        "GetRuntimeManagementConfig": get_runtime,
        "PutRuntimeManagementConfig": put_runtime,
    }
