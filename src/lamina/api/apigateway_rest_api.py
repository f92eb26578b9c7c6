"""API Gateway v1 (REST APIs, the Lambda proxy subset) on the edge: the wire dicts of
botocore's ``apigateway`` model to and from ``RestApiService``'s typed calls."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.services.apigateway.records import (
    RestApi,
    RestDeployment,
    RestIntegration,
    RestMethod,
    RestResource,
    RestStage,
)
from lamina.services.apigateway.rest_apis import Patch, RestApiService
from lamina.services.apigateway.rest_stages import RestStageService

Params = dict[str, Any]


def rest_api_out(api: RestApi) -> Params:
    out: Params = {
        "id": api.api_id,
        "name": api.name,
        "createdDate": int(api.created),
        "apiKeySource": api.api_key_source,
        "endpointConfiguration": {"types": api.endpoint_types, "ipAddressType": "ipv4"},
        "disableExecuteApiEndpoint": api.disable_execute_api_endpoint,
        "rootResourceId": api.root_resource_id,
    }
    if api.description is not None:
        out["description"] = api.description
    if api.version is not None:
        out["version"] = api.version
    out["tags"] = api.tags
    return out


def integration_out(integration: RestIntegration, resource_id: str) -> Params:
    return {
        "type": integration.type,
        "httpMethod": integration.http_method,
        "uri": integration.uri,
        "passthroughBehavior": integration.passthrough_behavior,
        "timeoutInMillis": integration.timeout_ms,
        "cacheNamespace": resource_id,
        "cacheKeyParameters": [],
    }


def method_out(method: RestMethod, resource_id: str) -> Params:
    out: Params = {
        "httpMethod": method.http_method,
        "authorizationType": method.authorization_type,
        "apiKeyRequired": method.api_key_required,
    }
    if method.operation_name is not None:
        out["operationName"] = method.operation_name
    if method.request_parameters:
        out["requestParameters"] = method.request_parameters
    if method.integration is not None:
        out["methodIntegration"] = integration_out(method.integration, resource_id)
    if method.authorizer_id is not None:
        out["authorizerId"] = method.authorizer_id
    return out


def resource_out(resource: RestResource) -> Params:
    out: Params = {"id": resource.resource_id, "path": resource.path}
    if resource.parent_id is not None:
        out["parentId"] = resource.parent_id
    if resource.path_part is not None:
        out["pathPart"] = resource.path_part
    if resource.methods:
        out["resourceMethods"] = {
            verb: method_out(m, resource.resource_id) for verb, m in resource.methods.items()
        }
    return out


def deployment_out(deployment: RestDeployment) -> Params:
    out: Params = {"id": deployment.deployment_id, "createdDate": int(deployment.created)}
    if deployment.description is not None:
        out["description"] = deployment.description
    return out


def stage_out(stage: RestStage) -> Params:
    out: Params = {
        "deploymentId": stage.deployment_id,
        "stageName": stage.stage_name,
        "cacheClusterEnabled": False,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "methodSettings": {},
        "tracingEnabled": stage.tracing_enabled,
        "createdDate": int(stage.created),
        "lastUpdatedDate": int(stage.updated),
    }
    if stage.description is not None:
        out["description"] = stage.description
    if stage.variables:
        out["variables"] = stage.variables
    return out


def _patches(p: Params) -> list[Patch]:
    return [
        Patch(str(item.get("op", "")), str(item.get("path", "")), item.get("value"))
        for item in p.get("patchOperations", [])
    ]


def rest_api_handlers(service: RestApiService, stages: RestStageService) -> dict[str, Handler]:
    async def create_rest_api(ctx: RequestContext, p: Params) -> Params:
        endpoint = p.get("endpointConfiguration") or {}
        api = await service.create_api(
            ctx.region,
            ctx.account_id,
            p.get("name"),
            p.get("description"),
            p.get("version"),
            endpoint.get("types"),
            p.get("tags"),
            bool(p.get("disableExecuteApiEndpoint", False)),
        )
        return rest_api_out(api)

    async def get_rest_api(ctx: RequestContext, p: Params) -> Params:
        return rest_api_out(service.get_api(ctx.region, ctx.account_id, p["restApiId"]))

    async def get_rest_apis(ctx: RequestContext, p: Params) -> Params:
        return {"items": [rest_api_out(a) for a in service.list_apis(ctx.region, ctx.account_id)]}

    async def update_rest_api(ctx: RequestContext, p: Params) -> Params:
        api = await service.update_api(ctx.region, ctx.account_id, p["restApiId"], _patches(p))
        return rest_api_out(api)

    async def update_stage(ctx: RequestContext, p: Params) -> Params:
        stage = await stages.update_stage(
            ctx.region, ctx.account_id, p["restApiId"], p["stageName"], _patches(p)
        )
        return stage_out(stage)

    async def delete_deployment(ctx: RequestContext, p: Params) -> Params:
        await stages.delete_deployment(
            ctx.region, ctx.account_id, p["restApiId"], p["deploymentId"]
        )
        return {}

    async def delete_rest_api(ctx: RequestContext, p: Params) -> Params:
        await service.delete_api(ctx.region, ctx.account_id, p["restApiId"])
        return {}

    async def get_resources(ctx: RequestContext, p: Params) -> Params:
        items = service.list_resources(ctx.region, ctx.account_id, p["restApiId"])
        return {"items": [resource_out(r) for r in items]}

    async def get_resource(ctx: RequestContext, p: Params) -> Params:
        return resource_out(
            service.get_resource(ctx.region, ctx.account_id, p["restApiId"], p["resourceId"])
        )

    async def create_resource(ctx: RequestContext, p: Params) -> Params:
        resource = await service.create_resource(
            ctx.region, ctx.account_id, p["restApiId"], p["parentId"], p.get("pathPart")
        )
        return resource_out(resource)

    async def delete_resource(ctx: RequestContext, p: Params) -> Params:
        await service.delete_resource(ctx.region, ctx.account_id, p["restApiId"], p["resourceId"])
        return {}

    async def put_method(ctx: RequestContext, p: Params) -> Params:
        method = await service.put_method(
            ctx.region,
            ctx.account_id,
            p["restApiId"],
            p["resourceId"],
            p["httpMethod"],
            p.get("authorizationType"),
            bool(p.get("apiKeyRequired", False)),
            p.get("operationName"),
            p.get("requestParameters"),
            p.get("authorizerId"),
        )
        return method_out(method, p["resourceId"])

    async def get_method(ctx: RequestContext, p: Params) -> Params:
        method = service.get_method(
            ctx.region, ctx.account_id, p["restApiId"], p["resourceId"], p["httpMethod"]
        )
        return method_out(method, p["resourceId"])

    async def delete_method(ctx: RequestContext, p: Params) -> Params:
        await service.delete_method(
            ctx.region, ctx.account_id, p["restApiId"], p["resourceId"], p["httpMethod"]
        )
        return {}

    async def put_integration(ctx: RequestContext, p: Params) -> Params:
        integration = await service.put_integration(
            ctx.region,
            ctx.account_id,
            p["restApiId"],
            p["resourceId"],
            p["httpMethod"],
            p.get("type"),
            p.get("uri"),
            p.get("integrationHttpMethod"),
            p.get("timeoutInMillis"),
        )
        return integration_out(integration, p["resourceId"])

    async def get_integration(ctx: RequestContext, p: Params) -> Params:
        integration = service.get_integration(
            ctx.region, ctx.account_id, p["restApiId"], p["resourceId"], p["httpMethod"]
        )
        return integration_out(integration, p["resourceId"])

    async def update_integration(ctx: RequestContext, p: Params) -> Params:
        integration = await service.update_integration(
            ctx.region,
            ctx.account_id,
            p["restApiId"],
            p["resourceId"],
            p["httpMethod"],
            _patches(p),
        )
        return integration_out(integration, p["resourceId"])

    async def delete_integration(ctx: RequestContext, p: Params) -> Params:
        await service.delete_integration(
            ctx.region, ctx.account_id, p["restApiId"], p["resourceId"], p["httpMethod"]
        )
        return {}

    async def create_deployment(ctx: RequestContext, p: Params) -> Params:
        deployment = await stages.create_deployment(
            ctx.region,
            ctx.account_id,
            p["restApiId"],
            p.get("stageName"),
            p.get("description"),
            p.get("variables"),
        )
        return deployment_out(deployment)

    async def get_deployments(ctx: RequestContext, p: Params) -> Params:
        items = stages.list_deployments(ctx.region, ctx.account_id, p["restApiId"])
        return {"items": [deployment_out(d) for d in items]}

    async def get_deployment(ctx: RequestContext, p: Params) -> Params:
        return deployment_out(
            stages.get_deployment(ctx.region, ctx.account_id, p["restApiId"], p["deploymentId"])
        )

    async def create_stage(ctx: RequestContext, p: Params) -> Params:
        stage = await stages.create_stage(
            ctx.region,
            ctx.account_id,
            p["restApiId"],
            p.get("stageName"),
            p.get("deploymentId"),
            p.get("description"),
            p.get("variables"),
        )
        return stage_out(stage)

    async def get_stages(ctx: RequestContext, p: Params) -> Params:
        items = stages.list_stages(
            ctx.region, ctx.account_id, p["restApiId"], p.get("deploymentId")
        )
        return {"item": [stage_out(s) for s in items]}

    async def get_stage(ctx: RequestContext, p: Params) -> Params:
        return stage_out(
            stages.get_stage(ctx.region, ctx.account_id, p["restApiId"], p["stageName"])
        )

    async def delete_stage(ctx: RequestContext, p: Params) -> Params:
        await stages.delete_stage(ctx.region, ctx.account_id, p["restApiId"], p["stageName"])
        return {}

    return {
        "CreateRestApi": create_rest_api,
        "GetRestApi": get_rest_api,
        "GetRestApis": get_rest_apis,
        "UpdateRestApi": update_rest_api,
        "DeleteRestApi": delete_rest_api,
        "UpdateStage": update_stage,
        "DeleteDeployment": delete_deployment,
        "GetResources": get_resources,
        "GetResource": get_resource,
        "CreateResource": create_resource,
        "DeleteResource": delete_resource,
        "PutMethod": put_method,
        "GetMethod": get_method,
        "DeleteMethod": delete_method,
        "PutIntegration": put_integration,
        "GetIntegration": get_integration,
        "UpdateIntegration": update_integration,
        "DeleteIntegration": delete_integration,
        "CreateDeployment": create_deployment,
        "GetDeployments": get_deployments,
        "GetDeployment": get_deployment,
        "CreateStage": create_stage,
        "GetStages": get_stages,
        "GetStage": get_stage,
        "DeleteStage": delete_stage,
    }
