"""The HTTP API data path: the first path segment selects a named stage, else the
``$default`` stage serves the whole path; no stage, deployment, route or integration: 404
``Not Found``. A route's Lambda authorizer runs first; then the integration's function,
whose answer is mapped per payload format. Lambda refusing the invocation, the grant
missing from the function's policy, a function error or a malformed answer: 500
``Internal Server Error``; the integration's timeout: 503."""

from __future__ import annotations

from lamina.services.apigateway import cors
from lamina.services.apigateway.events import event_v1, event_v2
from lamina.services.apigateway.gateway_common import (
    PRINCIPAL,
    IntegrationInvoker,
    InvocationTimedOut,
    StageRequest,
    build_gateway_request,
    http_internal_error,
    http_not_found,
    log,
    message,
    source_arn,
)
from lamina.services.apigateway.http_rules import FUNCTION_ARN, function_arn
from lamina.services.apigateway.lambda_authorizers import LambdaAuthorizers
from lamina.services.apigateway.ports import InvokeGrants
from lamina.services.apigateway.records import HttpApi
from lamina.services.apigateway.responses import GatewayResponse, response_v1, response_v2
from lamina.services.apigateway.route_tables import RouteTables
from lamina.services.apigateway.routes import DEFAULT_ROUTE, best_match, split_path
from lamina.services.apigateway.stage_variables import has_references, resolve


class HttpGateway:
    def __init__(
        self,
        invoker: IntegrationInvoker,
        grants: InvokeGrants,
        tables: RouteTables,
        authorizers: LambdaAuthorizers,
    ) -> None:
        self._invoker = invoker
        self.grants = grants
        self._tables = tables
        self._authorizers = authorizers

    async def handle(self, api: HttpApi, request: StageRequest) -> GatewayResponse:
        response = await self._http_answer(api, request)
        if api.cors is not None and not cors.is_preflight(request.method, request.headers):
            cors.decorate(api.cors, request.headers, response)
        response.headers.append(("apigw-requestid", request.request_id[:16]))
        return response

    async def _http_answer(self, api: HttpApi, request: StageRequest) -> GatewayResponse:
        if api.disable_execute_api_endpoint:
            return message(403, "Forbidden")
        parts = split_path(request.path)
        stage = None
        path = request.path
        if parts and parts[0] != DEFAULT_ROUTE and parts[0] in api.stages:
            stage = api.stages[parts[0]]
            path = "/" + request.path.lstrip("/")[len(parts[0]) :].lstrip("/")
        elif DEFAULT_ROUTE in api.stages:
            stage = api.stages[DEFAULT_ROUTE]
        if stage is None:
            return http_not_found()
        if api.cors is not None and cors.is_preflight(request.method, request.headers):
            return cors.preflight(api.cors, request.headers)
        deployment = api.deployments.get(stage.deployment_id or "")
        if deployment is None:
            return http_not_found()
        table = self._tables.http(api.api_id, deployment)
        matched = best_match(table.candidates, request.method, path)
        if matched is not None:
            route, params = matched.value, matched.params
        elif table.default is not None:
            route, params = table.default, {}
        else:
            return http_not_found()
        integration = table.integrations.get(route.integration_id or "")
        if integration is None or integration.integration_uri is None:
            return http_not_found()
        target = function_arn(resolve(integration.integration_uri, stage.stage_variables))
        if has_references(integration.integration_uri) and not FUNCTION_ARN.fullmatch(target):
            log.warning("API %s: stage variables make no function ARN: %s", api.api_id, target)
            return http_internal_error()
        source = source_arn(
            api.region,
            api.account_id,
            api.api_id,
            stage.stage_name,
            request.method,
            path,
            route.route_key == DEFAULT_ROUTE,
        )
        gateway_request = build_gateway_request(
            api.api_id, api.account_id, stage.stage_name, request, path
        )
        authorized = None
        if route.authorization_type == "CUSTOM":
            authorizer = table.authorizers.get(route.authorizer_id or "")
            if authorizer is None:
                return http_internal_error()
            route_arn = source_arn(
                api.region,
                api.account_id,
                api.api_id,
                stage.stage_name,
                request.method,
                path,
                False,
            )
            verdict = await self._authorizers.authorize(
                api.region,
                authorizer,
                gateway_request,
                route.route_key,
                route_arn,
                params,
                stage.stage_variables,
            )
            if isinstance(verdict, GatewayResponse):
                return verdict
            authorized = verdict
        if not api.quick_created and not await self.grants.allows(target, PRINCIPAL, source):
            log.warning("API %s: Invalid permissions on Lambda function %s", api.api_id, target)
            return http_internal_error()
        if integration.payload_format_version == "1.0":
            template = route.route_key.partition(" ")[2] or DEFAULT_ROUTE
            event = event_v1(
                gateway_request,
                template,
                params,
                stage.stage_variables,
                resource_id=route.route_id,
                http_api=True,
            )
        else:
            event = event_v2(gateway_request, route.route_key, params, stage.stage_variables)
        if authorized is not None:
            context = event["requestContext"]
            context["authorizer"] = authorized.for_event(integration.payload_format_version)
        try:
            answer = await self._invoker.invoke(
                target, event, request.request_id, integration.timeout_ms
            )
        except InvocationTimedOut:
            return message(503, "Service Unavailable")
        if answer is None or answer.function_error is not None:
            return http_internal_error()
        if integration.payload_format_version == "1.0":
            mapped = response_v1(answer.payload, decode_base64=True)
        else:
            mapped = response_v2(answer.payload)
        return mapped if mapped is not None else http_internal_error()
