"""Lambda's function URL operations -> ``FunctionUrlService`` calls (the wire is
``api.url_wire``'s)."""

from __future__ import annotations

from typing import Any

from lamina.api import url_wire
from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.services.function_urls import FunctionUrlService

Params = dict[str, Any]
Output = dict[str, Any]

CREATE = "CreateFunctionUrlConfig"
GET = "GetFunctionUrlConfig"
UPDATE = "UpdateFunctionUrlConfig"
DELETE = "DeleteFunctionUrlConfig"


def function_url_handlers(service: FunctionUrlService) -> dict[str, Handler]:
    async def create(ctx: RequestContext, params: Params) -> Output:
        target, change = url_wire.change(ctx, params, CREATE, create=True)
        config = await service.create(ctx, target, change)
        return url_wire.config_out(
            ctx,
            service,
            config,
            created_only=True,
            invoke_mode_given=change.invoke_mode is not None,
        )

    async def get(ctx: RequestContext, params: Params) -> Output:
        config = service.get(ctx, url_wire.target(ctx, params, GET))
        return url_wire.config_out(ctx, service, config)

    async def update(ctx: RequestContext, params: Params) -> Output:
        target, change = url_wire.change(ctx, params, UPDATE, create=False)
        config = await service.update(ctx, target, change)
        return url_wire.config_out(ctx, service, config)

    async def delete(ctx: RequestContext, params: Params) -> Output:
        await service.delete(ctx, url_wire.target(ctx, params, DELETE))
        return {}

    async def list_configs(ctx: RequestContext, params: Params) -> Output:
        name, marker, max_items = url_wire.list_request(params)
        page = service.list_configs(ctx, name, marker, max_items)
        return url_wire.page_out(ctx, service, page)

    return {
        CREATE: create,
        GET: get,
        UPDATE: update,
        DELETE: delete,
        url_wire.LIST: list_configs,
    }
