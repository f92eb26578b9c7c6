"""Lambda operations -> typed service calls. Each handler converts the operation's input to a
typed request (``api.lambda_wire``), calls the service(s) and renders the typed result.
Where an answer merges two services' data (GetFunction's ``Concurrency``, GetAccountSettings),
the handler composes the calls. Aliases, concurrency, provisioned concurrency and event
invoke configs come from ``api.lambda_config_api``."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.api.lambda_wire import functions as function_wire
from lamina.api.lambda_wire import invoke as invoke_wire
from lamina.api.lambda_wire import layers as layer_wire
from lamina.api.lambda_wire import versions as version_wire
from lamina.api.lambda_wire.refs import function_ref
from lamina.domain.context import RequestContext
from lamina.domain.requests.invoke import DRY_RUN, EVENT
from lamina.services.async_invoke import AsyncInvoker
from lamina.services.concurrency import ConcurrencyService
from lamina.services.functions import FunctionService
from lamina.services.invoke import InvokeService
from lamina.services.layers import LayerService
from lamina.services.versions import VersionService

DEFAULT_CONCURRENCY_LIMIT = 1000
Params = dict[str, Any]
Output = dict[str, Any]


def function_handlers(
    functions: FunctionService, concurrency: ConcurrencyService | None
) -> dict[str, Handler]:
    """Create/Get/List/Update/DeleteFunction, tags, GetAccountSettings."""

    async def create(ctx: RequestContext, params: Params) -> Output:
        request = function_wire.create_request(ctx, params)
        return function_wire.created_to_wire(await functions.create(request))

    async def get_function(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "GetFunction")
        details = functions.get_function(ref.name, ref.qualifier)
        reserved = concurrency.reserved(ref.name) if concurrency is not None else None
        return function_wire.details_to_wire(details, reserved)

    async def get_configuration(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "GetFunctionConfiguration")
        config = functions.get_configuration(ref.name, ref.qualifier)
        return function_wire.as_named(config, ref.qualifier)

    async def list_functions(ctx: RequestContext, params: Params) -> Output:
        all_versions, marker, max_items = function_wire.list_functions_options(params)
        page = functions.list_functions(
            all_versions=all_versions, marker=marker, max_items=max_items
        )
        return function_wire.page_to_wire(page)

    async def update_code(ctx: RequestContext, params: Params) -> Output:
        request = function_wire.update_code_request(ctx, params)
        return (await functions.update_code(request)).to_wire()

    async def update_configuration(ctx: RequestContext, params: Params) -> Output:
        request = function_wire.update_configuration_request(ctx, params)
        return (await functions.update_configuration(request)).to_wire()

    async def delete(ctx: RequestContext, params: Params) -> Output:
        ref = function_ref(ctx, params, "DeleteFunction")
        await functions.delete(ref.name, ref.qualifier)
        return {"StatusCode": 204}

    async def tag(ctx: RequestContext, params: Params) -> Output:
        name = function_wire.tagged_function(ctx, params)
        functions.tag(name, params.get("Tags") or {})
        return {}

    async def untag(ctx: RequestContext, params: Params) -> Output:
        name = function_wire.tagged_function(ctx, params)
        functions.untag(name, function_wire.untag_keys(params))
        return {}

    async def list_tags(ctx: RequestContext, params: Params) -> Output:
        name = function_wire.tagged_function(ctx, params)
        return {"Tags": functions.list_tags(name)}

    async def account_settings(ctx: RequestContext, params: Params) -> Output:
        limit = unreserved = DEFAULT_CONCURRENCY_LIMIT
        if concurrency is not None:
            figures = concurrency.account_concurrency()
            limit, unreserved = figures.limit, figures.unreserved
        usage = functions.code_usage()
        return function_wire.account_settings_to_wire(usage, limit, unreserved)

    return {
        "CreateFunction": create,
        "GetFunction": get_function,
        "GetFunctionConfiguration": get_configuration,
        "ListFunctions": list_functions,
        "UpdateFunctionCode": update_code,
        "UpdateFunctionConfiguration": update_configuration,
        "DeleteFunction": delete,
        "TagResource": tag,
        "UntagResource": untag,
        "ListTags": list_tags,
        "GetAccountSettings": account_settings,
    }


def invoke_handlers(invoke: InvokeService, async_invoke: AsyncInvoker) -> dict[str, Handler]:
    """Invoke (RequestResponse runs; Event is queued durably; DryRun only validates) and the
    deprecated InvokeAsync."""

    async def invoke_function(ctx: RequestContext, params: Params) -> Output:
        prepared = await invoke.prepare(ctx, invoke_wire.invoke_request(ctx, params))
        if prepared.invocation_type == DRY_RUN:
            return {"StatusCode": 204}
        if prepared.invocation_type == EVENT:
            await async_invoke.enqueue(prepared.config, prepared.qualifier, prepared.invocation)
            return {"StatusCode": 202}
        return invoke_wire.result_to_wire(await invoke.call(prepared))

    async def invoke_async(ctx: RequestContext, params: Params) -> Output:
        prepared = await invoke.prepare(ctx, invoke_wire.invoke_async_request(ctx, params))
        await async_invoke.enqueue(prepared.config, prepared.qualifier, prepared.invocation)
        return {"Status": 202}

    return {"Invoke": invoke_function, "InvokeAsync": invoke_async}


def version_handlers(versions: VersionService) -> dict[str, Handler]:
    async def publish(ctx: RequestContext, params: Params) -> Output:
        return versions.publish(version_wire.publish_request(ctx, params)).to_wire()

    async def list_versions(ctx: RequestContext, params: Params) -> Output:
        name, marker, max_items = version_wire.list_versions_options(ctx, params)
        return version_wire.page_to_wire(versions.list_versions(name, marker, max_items))

    return {"PublishVersion": publish, "ListVersionsByFunction": list_versions}


def layer_handlers(layers: LayerService) -> dict[str, Handler]:
    """The nine layer operations."""

    async def publish(ctx: RequestContext, params: Params) -> Output:
        details = await layers.publish(layer_wire.publish_request(params))
        return layer_wire.details_to_wire(details)

    async def get_version(ctx: RequestContext, params: Params) -> Output:
        name, number = layer_wire.layer_version(params)
        return layer_wire.details_to_wire(layers.get_version(name, number))

    async def get_version_by_arn(ctx: RequestContext, params: Params) -> Output:
        details = layers.get_version_by_arn(layer_wire.version_arn(params))
        return layer_wire.details_to_wire(details)

    async def list_layers(ctx: RequestContext, params: Params) -> Output:
        page = layers.list_layers(layer_wire.list_filter(params))
        return layer_wire.layers_page_to_wire(page)

    async def list_versions(ctx: RequestContext, params: Params) -> Output:
        name, where = layer_wire.list_versions_options(params)
        return layer_wire.versions_page_to_wire(layers.list_versions(name, where))

    async def delete_version(ctx: RequestContext, params: Params) -> Output:
        name, number = layer_wire.layer_version(params)
        await layers.delete_version(name, number)
        return {}

    async def add_permission(ctx: RequestContext, params: Params) -> Output:
        permission = layers.add_permission(layer_wire.add_permission_request(params))
        return layer_wire.permission_to_wire(permission)

    async def remove_permission(ctx: RequestContext, params: Params) -> Output:
        name, number, sid, revision_id = layer_wire.remove_permission_options(params)
        layers.remove_permission(name, number, sid, revision_id)
        return {}

    async def get_policy(ctx: RequestContext, params: Params) -> Output:
        name, number = layer_wire.layer_version(params)
        return layer_wire.policy_to_wire(layers.get_policy(name, number))

    return {
        "PublishLayerVersion": publish,
        "GetLayerVersion": get_version,
        "GetLayerVersionByArn": get_version_by_arn,
        "ListLayers": list_layers,
        "ListLayerVersions": list_versions,
        "DeleteLayerVersion": delete_version,
        "AddLayerVersionPermission": add_permission,
        "RemoveLayerVersionPermission": remove_permission,
        "GetLayerVersionPolicy": get_policy,
    }


def lambda_handlers(
    functions: FunctionService,
    invoke: InvokeService,
    async_invoke: AsyncInvoker,
    layers: LayerService,
    versions: VersionService,
    concurrency: ConcurrencyService | None,
    config_handlers: dict[str, Handler],
) -> dict[str, Handler]:
    """Every Lambda operation of one region: these services' and ``config_handlers``
    (``api.lambda_config_api.lambda_config_handlers``: aliases, concurrency, provisioned
    concurrency, event invoke configs)."""
    handlers: dict[str, Handler] = {}
    handlers.update(function_handlers(functions, concurrency))
    handlers.update(invoke_handlers(invoke, async_invoke))
    handlers.update(version_handlers(versions))
    handlers.update(layer_handlers(layers))
    handlers.update(config_handlers)
    return handlers
