"""API Gateway v2 (HTTP APIs) on the edge: the wire dicts of botocore's ``apigatewayv2``
model to and from ``HttpApiService``'s typed calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.services.apigateway.http_apis import ApiSpec, HttpApiService, IntegrationSpec
from lamina.services.apigateway.http_stages import HttpStageService, StageSpec
from lamina.services.apigateway.records import (
    Cors,
    HttpApi,
    HttpDeployment,
    HttpStage,
    Integration,
    Route,
)

Params = dict[str, Any]


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _cors_in(value: Params | None) -> Cors | None:
    if value is None:
        return None
    return Cors(
        value.get("AllowCredentials"),
        list(value.get("AllowHeaders", [])),
        list(value.get("AllowMethods", [])),
        list(value.get("AllowOrigins", [])),
        list(value.get("ExposeHeaders", [])),
        value.get("MaxAge"),
    )


def _cors_out(cors: Cors) -> Params:
    out: Params = {}
    if cors.allow_credentials is not None:
        out["AllowCredentials"] = cors.allow_credentials
    if cors.allow_headers:
        out["AllowHeaders"] = cors.allow_headers
    if cors.allow_methods:
        out["AllowMethods"] = cors.allow_methods
    if cors.allow_origins:
        out["AllowOrigins"] = cors.allow_origins
    if cors.expose_headers:
        out["ExposeHeaders"] = cors.expose_headers
    if cors.max_age is not None:
        out["MaxAge"] = cors.max_age
    return out


def api_out(api: HttpApi, endpoint: str) -> Params:
    out: Params = {
        "ApiEndpoint": endpoint,
        "ApiId": api.api_id,
        "ApiKeySelectionExpression": api.api_key_selection_expression,
        "CreatedDate": iso(api.created),
        "DisableExecuteApiEndpoint": api.disable_execute_api_endpoint,
        "IpAddressType": "ipv4",
        "Name": api.name,
        "ProtocolType": api.protocol_type,
        "RouteSelectionExpression": api.route_selection_expression,
        "Tags": api.tags,
    }
    if api.cors is not None:
        out["CorsConfiguration"] = _cors_out(api.cors)
    if api.description is not None:
        out["Description"] = api.description
    if api.version is not None:
        out["Version"] = api.version
    return out


def route_out(route: Route) -> Params:
    out: Params = {
        "ApiKeyRequired": route.api_key_required,
        "AuthorizationType": route.authorization_type,
        "RouteId": route.route_id,
        "RouteKey": route.route_key,
    }
    if route.target is not None:
        out["Target"] = route.target
    if route.operation_name is not None:
        out["OperationName"] = route.operation_name
    if route.managed:
        out["ApiGatewayManaged"] = True
    if route.authorizer_id is not None:
        out["AuthorizerId"] = route.authorizer_id
    return out


def integration_out(integration: Integration) -> Params:
    out: Params = {
        "ConnectionType": integration.connection_type,
        "IntegrationId": integration.integration_id,
        "IntegrationMethod": integration.integration_method,
        "IntegrationType": integration.integration_type,
        "IntegrationUri": integration.integration_uri,
        "PayloadFormatVersion": integration.payload_format_version,
        "TimeoutInMillis": integration.timeout_ms,
    }
    if integration.description is not None:
        out["Description"] = integration.description
    if integration.managed:
        out["ApiGatewayManaged"] = True
    return out


def stage_out(stage: HttpStage) -> Params:
    out: Params = {
        "AutoDeploy": stage.auto_deploy,
        "CreatedDate": iso(stage.created),
        "DefaultRouteSettings": {
            "DetailedMetricsEnabled": False,
        },
        "LastUpdatedDate": iso(stage.updated),
        "RouteSettings": {},
        "StageName": stage.stage_name,
        "StageVariables": stage.stage_variables,
        "Tags": {},
    }
    if stage.deployment_id is not None:
        out["DeploymentId"] = stage.deployment_id
        if stage.auto_deploy:
            out["LastDeploymentStatusMessage"] = (
                f"Successfully deployed stage with deployment ID '{stage.deployment_id}'"
            )
    if stage.managed:
        out["ApiGatewayManaged"] = True
    if stage.description is not None:
        out["Description"] = stage.description
    return out


def deployment_out(deployment: HttpDeployment) -> Params:
    out: Params = {
        "AutoDeployed": deployment.auto_deployed,
        "CreatedDate": iso(deployment.created),
        "DeploymentId": deployment.deployment_id,
        "DeploymentStatus": "DEPLOYED",
    }
    if deployment.description is not None:
        out["Description"] = deployment.description
    return out


def _api_spec(p: Params) -> ApiSpec:
    return ApiSpec(
        name=p.get("Name"),
        description=p.get("Description"),
        version=p.get("Version"),
        cors=_cors_in(p.get("CorsConfiguration")),
        disable_execute_api_endpoint=p.get("DisableExecuteApiEndpoint"),
        route_selection_expression=p.get("RouteSelectionExpression"),
        tags=dict(p.get("Tags", {})),
    )


def _integration_spec(p: Params) -> IntegrationSpec:
    return IntegrationSpec(
        integration_type=p.get("IntegrationType"),
        integration_uri=p.get("IntegrationUri"),
        payload_format_version=p.get("PayloadFormatVersion"),
        integration_method=p.get("IntegrationMethod"),
        timeout_ms=p.get("TimeoutInMillis"),
        description=p.get("Description"),
    )


def _stage_spec(p: Params) -> StageSpec:
    variables = p.get("StageVariables")
    return StageSpec(
        auto_deploy=p.get("AutoDeploy"),
        deployment_id=p.get("DeploymentId"),
        description=p.get("Description"),
        stage_variables=dict(variables) if variables is not None else None,
    )


def http_api_handlers(
    service: HttpApiService, stages: HttpStageService, endpoint: Callable[[str, str], str]
) -> dict[str, Handler]:
    """``endpoint(api_id, region)``: the API's invoke URL on this server."""

    def out(api: HttpApi) -> Params:
        return api_out(api, endpoint(api.api_id, api.region))

    async def create_api(ctx: RequestContext, p: Params) -> Params:
        api = await service.create_api(
            ctx.region,
            ctx.account_id,
            _api_spec(p),
            p.get("ProtocolType"),
            p.get("Target"),
            p.get("RouteKey"),
        )
        return out(api)

    async def get_api(ctx: RequestContext, p: Params) -> Params:
        return out(service.get_api(ctx.region, ctx.account_id, p["ApiId"]))

    async def get_apis(ctx: RequestContext, p: Params) -> Params:
        return {"Items": [out(a) for a in service.list_apis(ctx.region, ctx.account_id)]}

    async def update_api(ctx: RequestContext, p: Params) -> Params:
        spec = _api_spec(p)
        return out(await service.update_api(ctx.region, ctx.account_id, p["ApiId"], spec))

    async def delete_api(ctx: RequestContext, p: Params) -> Params:
        await service.delete_api(ctx.region, ctx.account_id, p["ApiId"])
        return {}

    async def delete_cors(ctx: RequestContext, p: Params) -> Params:
        await service.delete_cors(ctx.region, ctx.account_id, p["ApiId"])
        return {}

    async def create_route(ctx: RequestContext, p: Params) -> Params:
        route = await service.create_route(
            ctx.region,
            ctx.account_id,
            p["ApiId"],
            p.get("RouteKey"),
            p.get("Target"),
            p.get("AuthorizationType"),
            p.get("AuthorizerId"),
        )
        return route_out(route)

    async def get_route(ctx: RequestContext, p: Params) -> Params:
        return route_out(service.get_route(ctx.region, ctx.account_id, p["ApiId"], p["RouteId"]))

    async def get_routes(ctx: RequestContext, p: Params) -> Params:
        api = service.get_api(ctx.region, ctx.account_id, p["ApiId"])
        return {"Items": [route_out(r) for r in api.routes.values()]}

    async def update_route(ctx: RequestContext, p: Params) -> Params:
        route = await service.update_route(
            ctx.region,
            ctx.account_id,
            p["ApiId"],
            p["RouteId"],
            p.get("RouteKey"),
            p.get("Target"),
            p.get("AuthorizationType"),
            p.get("AuthorizerId"),
        )
        return route_out(route)

    async def delete_route(ctx: RequestContext, p: Params) -> Params:
        await service.delete_route(ctx.region, ctx.account_id, p["ApiId"], p["RouteId"])
        return {}

    async def create_integration(ctx: RequestContext, p: Params) -> Params:
        integration = await service.create_integration(
            ctx.region, ctx.account_id, p["ApiId"], _integration_spec(p)
        )
        return integration_out(integration)

    async def get_integration(ctx: RequestContext, p: Params) -> Params:
        return integration_out(
            service.get_integration(ctx.region, ctx.account_id, p["ApiId"], p["IntegrationId"])
        )

    async def get_integrations(ctx: RequestContext, p: Params) -> Params:
        api = service.get_api(ctx.region, ctx.account_id, p["ApiId"])
        return {"Items": [integration_out(i) for i in api.integrations.values()]}

    async def update_integration(ctx: RequestContext, p: Params) -> Params:
        integration = await service.update_integration(
            ctx.region, ctx.account_id, p["ApiId"], p["IntegrationId"], _integration_spec(p)
        )
        return integration_out(integration)

    async def delete_integration(ctx: RequestContext, p: Params) -> Params:
        await service.delete_integration(ctx.region, ctx.account_id, p["ApiId"], p["IntegrationId"])
        return {}

    async def create_stage(ctx: RequestContext, p: Params) -> Params:
        stage = await stages.create_stage(
            ctx.region, ctx.account_id, p["ApiId"], p.get("StageName"), _stage_spec(p)
        )
        return stage_out(stage)

    async def get_stage(ctx: RequestContext, p: Params) -> Params:
        return stage_out(stages.get_stage(ctx.region, ctx.account_id, p["ApiId"], p["StageName"]))

    async def get_stages(ctx: RequestContext, p: Params) -> Params:
        api = service.get_api(ctx.region, ctx.account_id, p["ApiId"])
        return {"Items": [stage_out(s) for s in api.stages.values()]}

    async def update_stage(ctx: RequestContext, p: Params) -> Params:
        stage = await stages.update_stage(
            ctx.region, ctx.account_id, p["ApiId"], p["StageName"], _stage_spec(p)
        )
        return stage_out(stage)

    async def delete_stage(ctx: RequestContext, p: Params) -> Params:
        await stages.delete_stage(ctx.region, ctx.account_id, p["ApiId"], p["StageName"])
        return {}

    async def create_deployment(ctx: RequestContext, p: Params) -> Params:
        deployment = await stages.create_deployment(
            ctx.region, ctx.account_id, p["ApiId"], p.get("StageName"), p.get("Description")
        )
        return deployment_out(deployment)

    async def get_deployments(ctx: RequestContext, p: Params) -> Params:
        items = stages.list_deployments(ctx.region, ctx.account_id, p["ApiId"])
        return {"Items": [deployment_out(d) for d in items]}

    async def get_deployment(ctx: RequestContext, p: Params) -> Params:
        return deployment_out(
            stages.get_deployment(ctx.region, ctx.account_id, p["ApiId"], p["DeploymentId"])
        )

    return {
        "CreateApi": create_api,
        "GetApi": get_api,
        "GetApis": get_apis,
        "UpdateApi": update_api,
        "DeleteApi": delete_api,
        "DeleteCorsConfiguration": delete_cors,
        "CreateRoute": create_route,
        "GetRoute": get_route,
        "GetRoutes": get_routes,
        "UpdateRoute": update_route,
        "DeleteRoute": delete_route,
        "CreateIntegration": create_integration,
        "GetIntegration": get_integration,
        "GetIntegrations": get_integrations,
        "UpdateIntegration": update_integration,
        "DeleteIntegration": delete_integration,
        "CreateStage": create_stage,
        "GetStage": get_stage,
        "GetStages": get_stages,
        "UpdateStage": update_stage,
        "DeleteStage": delete_stage,
        "CreateDeployment": create_deployment,
        "GetDeployments": get_deployments,
        "GetDeployment": get_deployment,
    }
