"""Lambda operations → service calls. Parsing and rendering happen in ``api.model``."""

from __future__ import annotations

import inspect
from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.services.aliases import AliasService
from lamina.services.concurrency import ConcurrencyService
from lamina.services.event_invoke_config import EventInvokeConfigService
from lamina.services.functions import FunctionService
from lamina.services.invoke import InvokeService
from lamina.services.layers import LayerService
from lamina.services.provisioned import ProvisionedConcurrencyService
from lamina.services.versions import VersionService

DEFAULT_CONCURRENCY_LIMIT = 1000


def lambda_handlers(
    functions: FunctionService,
    invoke: InvokeService,
    layers: LayerService | None = None,
    concurrency: ConcurrencyService | None = None,
    versions: VersionService | None = None,
    aliases: AliasService | None = None,
    provisioned: ProvisionedConcurrencyService | None = None,
    *,
    event_configs: EventInvokeConfigService | None = None,
) -> dict[str, Handler]:
    def sync(fn: Any) -> Handler:
        async def handler(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
            result = fn(params)
            if inspect.isawaitable(result):  # operations that do blocking work in threads
                result = await result
            out: dict[str, Any] = result
            return out

        return handler

    async def account_settings(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        limit = DEFAULT_CONCURRENCY_LIMIT
        return functions.account_settings(limit, limit)

    async def invoke_function(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await invoke.invoke(params, request_id=ctx.request_id)

    async def invoke_async(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The deprecated InvokeAsync: an Event invocation of the function's $LATEST."""
        await invoke.invoke(
            {
                "FunctionName": params.get("FunctionName", ""),
                "InvocationType": "Event",
                "Payload": params.get("InvokeArgs") or b"",
            }
        )
        return {"Status": 202}

    handlers: dict[str, Handler] = {
        "CreateFunction": sync(functions.create),
        "GetFunction": sync(functions.get_function),
        "GetFunctionConfiguration": sync(functions.get_configuration),
        "ListFunctions": sync(functions.list_functions),
        "UpdateFunctionCode": sync(functions.update_code),
        "UpdateFunctionConfiguration": sync(functions.update_configuration),
        "DeleteFunction": sync(functions.delete),
        "TagResource": sync(functions.tag),
        "UntagResource": sync(functions.untag),
        "ListTags": sync(functions.list_tags),
        "GetAccountSettings": account_settings,
        "Invoke": invoke_function,
        "InvokeAsync": invoke_async,
    }
    if concurrency is not None:
        handlers.update(
            {
                "GetAccountSettings": sync(concurrency.account_settings),
                "PutFunctionConcurrency": sync(concurrency.put),
                "GetFunctionConcurrency": sync(concurrency.get),
                "DeleteFunctionConcurrency": sync(concurrency.delete),
            }
        )
    if versions is not None:
        handlers.update(
            {
                "PublishVersion": sync(versions.publish),
                "ListVersionsByFunction": sync(versions.list_versions),
            }
        )
    if aliases is not None:
        handlers.update(
            {
                "CreateAlias": sync(aliases.create),
                "GetAlias": sync(aliases.get),
                "UpdateAlias": sync(aliases.update),
                "DeleteAlias": sync(aliases.delete),
                "ListAliases": sync(aliases.list_aliases),
            }
        )
    if provisioned is not None:
        handlers.update(
            {
                "PutProvisionedConcurrencyConfig": sync(provisioned.put),
                "GetProvisionedConcurrencyConfig": sync(provisioned.get),
                "DeleteProvisionedConcurrencyConfig": sync(provisioned.delete),
                "ListProvisionedConcurrencyConfigs": sync(provisioned.list_configs),
            }
        )
    if event_configs is not None:
        handlers.update(
            {
                "PutFunctionEventInvokeConfig": sync(event_configs.put),
                "GetFunctionEventInvokeConfig": sync(event_configs.get),
                "UpdateFunctionEventInvokeConfig": sync(event_configs.update),
                "DeleteFunctionEventInvokeConfig": sync(event_configs.delete),
                "ListFunctionEventInvokeConfigs": sync(event_configs.list_configs),
            }
        )
    if layers is not None:
        handlers.update(
            {
                "PublishLayerVersion": sync(layers.publish),
                "GetLayerVersion": sync(layers.get_version),
                "GetLayerVersionByArn": sync(layers.get_version_by_arn),
                "ListLayers": sync(layers.list_layers),
                "ListLayerVersions": sync(layers.list_versions),
                "DeleteLayerVersion": sync(layers.delete_version),
                "AddLayerVersionPermission": sync(layers.add_permission),
                "RemoveLayerVersionPermission": sync(layers.remove_permission),
                "GetLayerVersionPolicy": sync(layers.get_policy),
            }
        )
    return handlers
