"""Lambda's configuration operations -> service calls: aliases, reserved and provisioned
concurrency, asynchronous-invocation configurations.

Each handler turns the operation's parameters into a typed request (``api.lambda_wire``),
calls its service, and renders the typed result as the operation's output shape. The
services' writes are small single-row SQLite transactions, done inline as before.
"""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.lambda_wire import aliases as alias_wire
from lamina.api.lambda_wire import concurrency as concurrency_wire
from lamina.api.lambda_wire import event_invoke_config as config_wire
from lamina.api.lambda_wire import provisioned as provisioned_wire
from lamina.domain.context import RequestContext
from lamina.services.aliases import AliasService
from lamina.services.concurrency import ConcurrencyService
from lamina.services.event_invoke_config import EventInvokeConfigService
from lamina.services.provisioned import ProvisionedConcurrencyService

Params = dict[str, Any]
Output = dict[str, Any]


def lambda_config_handlers(
    aliases: AliasService | None = None,
    concurrency: ConcurrencyService | None = None,
    provisioned: ProvisionedConcurrencyService | None = None,
    event_configs: EventInvokeConfigService | None = None,
) -> dict[str, Handler]:
    """The handlers of the services given (an absent service's operations are absent)."""
    handlers: dict[str, Handler] = {}
    if aliases is not None:
        handlers.update(alias_handlers(aliases))
    if concurrency is not None:
        handlers.update(concurrency_handlers(concurrency))
    if provisioned is not None:
        handlers.update(provisioned_handlers(provisioned))
    if event_configs is not None:
        handlers.update(event_invoke_config_handlers(event_configs))
    return handlers


def alias_handlers(service: AliasService) -> dict[str, Handler]:
    async def create(ctx: RequestContext, params: Params) -> Output:
        return alias_wire.alias_out(service.create(ctx, alias_wire.create_alias(ctx, params)))

    async def get(ctx: RequestContext, params: Params) -> Output:
        key = alias_wire.alias_key(ctx, params, "GetAlias")
        return alias_wire.alias_out(service.get(ctx, key))

    async def update(ctx: RequestContext, params: Params) -> Output:
        return alias_wire.alias_out(service.update(ctx, alias_wire.update_alias(ctx, params)))

    async def delete(ctx: RequestContext, params: Params) -> Output:
        service.delete(ctx, alias_wire.alias_key(ctx, params, "DeleteAlias"))
        return {}

    async def list_aliases(ctx: RequestContext, params: Params) -> Output:
        page = service.list_aliases(ctx, alias_wire.list_aliases(ctx, params))
        return alias_wire.alias_page_out(page)

    return {
        "CreateAlias": create,
        "GetAlias": get,
        "UpdateAlias": update,
        "DeleteAlias": delete,
        "ListAliases": list_aliases,
    }


def concurrency_handlers(service: ConcurrencyService) -> dict[str, Handler]:
    async def put(ctx: RequestContext, params: Params) -> Output:
        request = concurrency_wire.put_function_concurrency(ctx, params)
        return concurrency_wire.reserved_out(service.put(ctx, request))

    async def get(ctx: RequestContext, params: Params) -> Output:
        function = concurrency_wire.function_name(ctx, params, "GetFunctionConcurrency")
        return concurrency_wire.reserved_out(service.get(ctx, function))

    async def delete(ctx: RequestContext, params: Params) -> Output:
        function = concurrency_wire.function_name(ctx, params, "DeleteFunctionConcurrency")
        service.delete(ctx, function)
        return {}

    return {
        "PutFunctionConcurrency": put,
        "GetFunctionConcurrency": get,
        "DeleteFunctionConcurrency": delete,
    }


def provisioned_handlers(service: ProvisionedConcurrencyService) -> dict[str, Handler]:
    async def put(ctx: RequestContext, params: Params) -> Output:
        view = service.put(ctx, provisioned_wire.put_provisioned(ctx, params))
        return provisioned_wire.provisioned_out(view)

    async def get(ctx: RequestContext, params: Params) -> Output:
        target = provisioned_wire.target(ctx, params, "GetProvisionedConcurrencyConfig")
        return provisioned_wire.provisioned_out(service.get(ctx, target))

    async def delete(ctx: RequestContext, params: Params) -> Output:
        target = provisioned_wire.target(ctx, params, "DeleteProvisionedConcurrencyConfig")
        service.delete(ctx, target)
        return {}

    async def list_configs(ctx: RequestContext, params: Params) -> Output:
        page = service.list_configs(ctx, provisioned_wire.list_provisioned(ctx, params))
        return provisioned_wire.provisioned_page_out(ctx, page)

    return {
        "PutProvisionedConcurrencyConfig": put,
        "GetProvisionedConcurrencyConfig": get,
        "DeleteProvisionedConcurrencyConfig": delete,
        "ListProvisionedConcurrencyConfigs": list_configs,
    }


def event_invoke_config_handlers(service: EventInvokeConfigService) -> dict[str, Handler]:
    async def put(ctx: RequestContext, params: Params) -> Output:
        config = service.put(ctx, config_wire.put_config(ctx, params))
        return config_wire.config_out(ctx, config)

    async def update(ctx: RequestContext, params: Params) -> Output:
        config = service.update(ctx, config_wire.update_config(ctx, params))
        return config_wire.config_out(ctx, config)

    async def get(ctx: RequestContext, params: Params) -> Output:
        target = config_wire.target(ctx, params, "GetFunctionEventInvokeConfig")
        return config_wire.config_out(ctx, service.get(ctx, target))

    async def delete(ctx: RequestContext, params: Params) -> Output:
        target = config_wire.target(ctx, params, "DeleteFunctionEventInvokeConfig")
        service.delete(ctx, target)
        return {}

    async def list_configs(ctx: RequestContext, params: Params) -> Output:
        page = service.list_configs(ctx, config_wire.list_configs(ctx, params))
        return config_wire.config_page_out(ctx, page)

    return {
        "PutFunctionEventInvokeConfig": put,
        "GetFunctionEventInvokeConfig": get,
        "UpdateFunctionEventInvokeConfig": update,
        "DeleteFunctionEventInvokeConfig": delete,
        "ListFunctionEventInvokeConfigs": list_configs,
    }
