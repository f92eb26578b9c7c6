"""The data path: a request to a stage of an API becomes a Lambda proxy invocation, and the
function's answer the HTTP response, as API Gateway does it (``http_gateway`` for HTTP
APIs, ``rest_gateway`` for REST APIs)."""

from __future__ import annotations

from lamina.services.apigateway.gateway_common import IntegrationInvoker, StageRequest
from lamina.services.apigateway.http_gateway import HttpGateway
from lamina.services.apigateway.lambda_authorizers import LambdaAuthorizers
from lamina.services.apigateway.ports import FunctionInvoker, InvokeGrants
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.responses import GatewayResponse
from lamina.services.apigateway.rest_authorize import RestAuthorizers
from lamina.services.apigateway.rest_gateway import RestGateway
from lamina.services.apigateway.route_tables import RouteTables

__all__ = ["Gateway", "StageRequest"]


class Gateway:
    def __init__(
        self, registry: ApiRegistry, invoker: FunctionInvoker, grants: InvokeGrants
    ) -> None:
        self._apis = registry
        integrations = IntegrationInvoker(invoker)
        tables = RouteTables()
        self._http = HttpGateway(integrations, grants, tables, LambdaAuthorizers(invoker, grants))
        self._rest = RestGateway(integrations, grants, tables, RestAuthorizers(invoker, grants))

    async def handle(self, api_id: str, request: StageRequest) -> GatewayResponse | None:
        """The answer of API ``api_id``; None when there is no such API."""
        http = self._apis.http(api_id)
        if http is not None:
            return await self._http.handle(http, request)
        rest = self._apis.rest(api_id)
        if rest is not None:
            return await self._rest.handle(rest, request)
        return None
