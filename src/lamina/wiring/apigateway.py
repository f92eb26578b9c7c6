"""API Gateway on the edge: HTTP APIs (``apigatewayv2``) and REST APIs (``apigateway``),
both rest-json signed as ``apigateway`` (the directory tells them apart by path: v2's all
start with ``/v2/``), one database for every region (``apigateway.sqlite3``), and the
trigger serving their stages on the API port."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from lamina.api.access import EdgeAccess
from lamina.api.apigateway_api import http_api_handlers
from lamina.api.apigateway_authorizers_api import authorizer_handlers
from lamina.api.apigateway_model import LocatedServiceModel
from lamina.api.apigateway_rest_api import rest_api_handlers
from lamina.api.apigateway_rest_authorizers_api import rest_authorizer_handlers
from lamina.api.apigw_trigger import ApiGatewayTrigger, endpoint_url
from lamina.api.endpoints import RestJsonService, ServiceDirectory
from lamina.api.model import load_model
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.ids import new_uuid
from lamina.domain.requests.invoke import InvokeRequest
from lamina.services.apigateway.gateway import Gateway
from lamina.services.apigateway.http_apis import HttpApiService
from lamina.services.apigateway.http_authorizers import HttpAuthorizerService
from lamina.services.apigateway.http_stages import HttpStageService
from lamina.services.apigateway.ports import (
    FunctionAnswer,
    FunctionInvokeFailed,
    InvokeGrants,
)
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.rest_apis import RestApiService
from lamina.services.apigateway.rest_authorizers import RestAuthorizerService
from lamina.services.apigateway.rest_stages import RestStageService
from lamina.store.apigateway_store import SqliteApiStore
from lamina.wiring.function_sink import split_function_arn
from lamina.wiring.host import HostParts, served_regions
from lamina.wiring.regions import Regions

# The directory's key of the v2 service (both sign as ``apigateway``).
V2_KEY = "apigatewayv2"


class RegionsFunctionInvoker:
    """``FunctionInvoker`` over the regions' Lambda: the function's region is the one its
    ARN names; the invocation is an ``Invoke`` (RequestResponse) in every respect."""

    def __init__(self, regions: Regions, account_id: str) -> None:
        self._regions = regions
        self._account = account_id
        self._served = served_regions() | {regions.default.region}

    async def invoke(self, function_arn: str, payload: bytes, request_id: str) -> FunctionAnswer:
        try:
            region, account, name, qualifier = split_function_arn(function_arn)
        except ValueError as exc:
            raise FunctionInvokeFailed(str(exc)) from None
        if account != self._account or region not in self._served:
            raise FunctionInvokeFailed(f"Function not found: {function_arn}")
        regional = await self._regions.get(region)
        ctx = RequestContext(new_uuid(), account, region)
        try:
            # The payload is the event Lamina encoded: not parsed again.
            request = InvokeRequest(name, qualifier, payload=payload, payload_is_json=True)
            prepared = await regional.invoke.prepare(ctx, request)
            result = await regional.invoke.call(prepared)
        except AwsError as error:
            raise FunctionInvokeFailed(f"{error.code}: {error.message}") from None
        return FunctionAnswer(result.payload, result.function_error)


class RegionsInvokeGrants:
    """``InvokeGrants`` over the functions' resource policies (``FunctionPolicies`` of the
    function's region)."""

    def __init__(self, regions: Regions, account_id: str) -> None:
        self._regions = regions
        self._account = account_id
        self._served = served_regions() | {regions.default.region}

    async def allows(self, function_arn: str, principal: str, source_arn: str) -> bool:
        try:
            region, account, name, qualifier = split_function_arn(function_arn)
        except ValueError:
            return False
        if account != self._account or region not in self._served:
            return False
        regional = await self._regions.get(region)
        return regional.policies.allows(
            name,
            qualifier,
            principal=principal,
            action="lambda:InvokeFunction",
            source_arn=source_arn,
            source_account=account,
        )


@dataclass
class ApiGateway:
    store: SqliteApiStore
    registry: ApiRegistry
    http: HttpApiService
    http_stages: HttpStageService
    http_authorizers: HttpAuthorizerService
    rest: RestApiService
    rest_stages: RestStageService
    rest_authorizers: RestAuthorizerService
    gateway: Gateway
    trigger: ApiGatewayTrigger

    def stop(self) -> None:
        self.store.close()


def build_apigateway(
    host: HostParts, regions: Regions, grants: InvokeGrants | None = None
) -> ApiGateway:
    """The services with their stored APIs loaded. ``grants``: who may invoke which
    function (default: the functions' resource policies)."""
    store = SqliteApiStore(host.data / "apigateway.sqlite3")
    registry = ApiRegistry(store.load())
    invoker = RegionsFunctionInvoker(regions, host.settings.account_id)
    gateway = Gateway(
        registry, invoker, grants or RegionsInvokeGrants(regions, host.settings.account_id)
    )
    http = HttpApiService(store, registry)
    rest = RestApiService(store, registry)
    return ApiGateway(
        store,
        registry,
        http,
        HttpStageService(store, http),
        HttpAuthorizerService(store, http),
        rest,
        RestStageService(store, rest),
        RestAuthorizerService(store, rest),
        gateway,
        ApiGatewayTrigger(gateway, registry),
    )


def add_apigateway_services(
    services: ServiceDirectory, apigateway: ApiGateway, access: EdgeAccess, base_url: str
) -> None:
    check = access.checker("apigateway")
    services.add_rest_json(
        RestJsonService(
            "apigateway",
            "apigateway",
            LocatedServiceModel(load_model("apigateway")),
            {
                **rest_api_handlers(apigateway.rest, apigateway.rest_stages),
                **rest_authorizer_handlers(apigateway.rest_authorizers),
            },
            check=check,
        )
    )
    services.add_rest_json(
        RestJsonService(
            V2_KEY,
            "apigateway",
            LocatedServiceModel(load_model("apigatewayv2")),
            {
                **http_api_handlers(
                    apigateway.http, apigateway.http_stages, partial(endpoint_url, base_url)
                ),
                **authorizer_handlers(apigateway.http_authorizers),
            },
            check=access.checker(V2_KEY),  # IAM: HTTP APIs' own table
        ),
        key=V2_KEY,
    )
