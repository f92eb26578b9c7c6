"""The REST API data path: the first path segment is the stage (unknown: 403
``Forbidden``); no resource or method: 403 ``Missing Authentication Token``. A method's
Lambda authorizer runs first; then the integration's function, whose answer must be a
valid proxy response. Lambda refusing the invocation or the grant missing: 500; a function
error or a malformed answer: 502 ``Internal server error``; the integration's timeout:
504."""

from __future__ import annotations

from lamina.services.apigateway.errors import BadRequestException
from lamina.services.apigateway.events import event_v1
from lamina.services.apigateway.gateway_common import (
    PRINCIPAL,
    IntegrationInvoker,
    InvocationTimedOut,
    StageRequest,
    build_gateway_request,
    log,
    message,
    rest_forbidden,
    rest_internal_error,
    rest_missing_token,
    source_arn,
)
from lamina.services.apigateway.ports import InvokeGrants
from lamina.services.apigateway.records import RestApi
from lamina.services.apigateway.responses import GatewayResponse, response_v1
from lamina.services.apigateway.rest_apis import lambda_function_arn
from lamina.services.apigateway.rest_authorize import RestAuthorizers
from lamina.services.apigateway.route_tables import RouteTables
from lamina.services.apigateway.routes import best_match, split_path
from lamina.services.apigateway.stage_variables import resolve


class RestGateway:
    def __init__(
        self,
        invoker: IntegrationInvoker,
        grants: InvokeGrants,
        tables: RouteTables,
        authorizers: RestAuthorizers,
    ) -> None:
        self._invoker = invoker
        self.grants = grants
        self._tables = tables
        self._authorizers = authorizers

    async def handle(self, api: RestApi, request: StageRequest) -> GatewayResponse:
        response = await self._rest_answer(api, request)
        response.headers.append(("x-amzn-RequestId", request.request_id))
        response.headers.append(("x-amz-apigw-id", request.request_id[:16]))
        return response

    async def _rest_answer(self, api: RestApi, request: StageRequest) -> GatewayResponse:
        if api.disable_execute_api_endpoint:
            return rest_forbidden()
        parts = split_path(request.path)
        stage = api.stages.get(parts[0]) if parts else None
        if stage is None:
            return rest_forbidden()
        # Leading slashes collapse (``//stage//x`` is ``/x`` in ``stage``), others stay.
        full_path = "/" + request.path.lstrip("/")
        path = "/" + full_path[len(stage.stage_name) + 1 :].lstrip("/")
        deployment = api.deployments.get(stage.deployment_id)
        if deployment is None:
            return rest_forbidden()
        table = self._tables.rest(api.api_id, deployment)
        matched = best_match(table.candidates, request.method, path, decode=False)
        if matched is None:
            return rest_missing_token()
        (resource, method), params = matched.value, matched.params
        if method.integration is None:
            return rest_internal_error(500)
        try:
            target = lambda_function_arn(resolve(method.integration.uri, stage.variables))
        except BadRequestException:
            log.warning("API %s: stage variables make no function ARN", api.api_id)
            return rest_internal_error(500)
        gateway_request = build_gateway_request(
            api.api_id, api.account_id, stage.stage_name, request, path, full_path
        )
        authorized = None
        if method.authorization_type == "CUSTOM":
            authorizer = table.authorizers.get(method.authorizer_id or "")
            if authorizer is None:
                return rest_internal_error(500)
            method_arn = source_arn(
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
                resource.path,
                resource.resource_id,
                method_arn,
                params,
                stage.variables,
            )
            if isinstance(verdict, GatewayResponse):
                return verdict
            authorized = verdict
        source = source_arn(
            api.region,
            api.account_id,
            api.api_id,
            stage.stage_name,
            request.method,
            resource.path,
            False,
        )
        if not await self.grants.allows(target, PRINCIPAL, source):
            log.warning("API %s: Invalid permissions on Lambda function %s", api.api_id, target)
            return rest_internal_error(500)
        event = event_v1(
            gateway_request,
            resource.path,
            params,
            stage.variables,
            resource_id=resource.resource_id,
            deployment_id=deployment.deployment_id,
        )
        if authorized is not None:
            event["requestContext"]["authorizer"] = authorized.for_event("1.0")
        try:
            answer = await self._invoker.invoke(
                target, event, request.request_id, method.integration.timeout_ms
            )
        except InvocationTimedOut:
            return message(504, "Endpoint request timed out")
        if answer is None:
            return rest_internal_error(500)
        if answer.function_error is not None:
            return rest_internal_error(502)
        mapped = response_v1(answer.payload, decode_base64=False)
        return mapped if mapped is not None else rest_internal_error(502)
