"""HTTP APIs (``apigatewayv2``): APIs, routes and integrations (stages and deployments:
``http_stages``).

Every change is validated first, then applied to the API in memory and stored (one record
per API) before the answer. A stage serves a deployment's snapshot of the routes and
integrations; ``AutoDeploy`` stages get a new deployment after every change. Quick create
(``Target``) makes an ``AWS_PROXY`` integration (payload 2.0), the route (``RouteKey``,
default ``$default``) and an auto-deployed ``$default`` stage, and lets API Gateway invoke
the target (as the console's grant would).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    LimitExceededException,
    NotFoundException,
)
from lamina.services.apigateway.http_rules import (
    MAX_HTTP_APIS,
    MAX_INTEGRATIONS,
    MAX_ROUTES,
    PAYLOAD_FORMATS,
    auto_deploy,
    check_authorization,
    check_function_uri,
    check_route_key,
    check_target,
    check_timeout,
)
from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.limits import check_description, check_name, check_tags
from lamina.services.apigateway.ports import ApiStore
from lamina.services.apigateway.records import (
    Cors,
    HttpApi,
    HttpStage,
    Integration,
    Route,
)
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.routes import DEFAULT_ROUTE


@dataclass(slots=True)
class ApiSpec:
    """CreateApi's and UpdateApi's settable members (None: not given)."""

    name: str | None = None
    description: str | None = None
    version: str | None = None
    cors: Cors | None = None
    disable_execute_api_endpoint: bool | None = None
    route_selection_expression: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class IntegrationSpec:
    integration_type: str | None = None
    integration_uri: str | None = None
    payload_format_version: str | None = None
    integration_method: str | None = None
    timeout_ms: int | None = None
    description: str | None = None


class HttpApiService:
    def __init__(self, store: ApiStore, registry: ApiRegistry) -> None:
        self._store = store
        self._apis = registry

    # --- APIs -------------------------------------------------------------------------------

    async def create_api(
        self,
        region: str,
        account: str,
        spec: ApiSpec,
        protocol_type: str | None,
        target: str | None = None,
        route_key: str | None = None,
    ) -> HttpApi:
        if not spec.name:
            raise BadRequestException("Invalid API name specified")
        _check_spec(spec)
        if protocol_type != "HTTP":
            raise BadRequestException(
                "Lamina serves HTTP APIs only: ProtocolType must be HTTP"
                if protocol_type == "WEBSOCKET"
                else "Invalid protocol type specified"
            )
        if route_key is not None and target is None:
            raise BadRequestException("RouteKey can only be specified together with Target")
        if route_key is not None:
            check_route_key(route_key)
        if target is not None:
            check_function_uri(target)
        if len(self._apis.http_in(region, account)) >= MAX_HTTP_APIS:
            raise LimitExceededException("API limit exceeded")
        now = time.time()
        api = HttpApi(region, account, self._apis.new_api_id(), spec.name, now)
        _apply_api_spec(api, spec)
        api.tags = dict(spec.tags)
        if target is not None:
            api.quick_created = True
            integration = Integration(new_id(7), "AWS_PROXY", target, "2.0", managed=True)
            api.integrations[integration.integration_id] = integration
            route = Route(
                new_id(7),
                route_key or DEFAULT_ROUTE,
                f"integrations/{integration.integration_id}",
                managed=True,
            )
            api.routes[route.route_id] = route
            api.stages[DEFAULT_ROUTE] = HttpStage(
                DEFAULT_ROUTE, now, now, auto_deploy=True, managed=True
            )
            auto_deploy(api)
        await self._store.put_http(api)
        self._apis.add_http(api)
        return api

    def get_api(self, region: str, account: str, api_id: str) -> HttpApi:
        api = self._apis.http(api_id)
        if api is None or api.region != region or api.account_id != account:
            raise NotFoundException(f"Invalid API identifier specified {account}:{api_id}")
        return api

    def list_apis(self, region: str, account: str) -> list[HttpApi]:
        return sorted(self._apis.http_in(region, account), key=lambda a: a.created)

    async def update_api(self, region: str, account: str, api_id: str, spec: ApiSpec) -> HttpApi:
        api = self.get_api(region, account, api_id)
        if spec.name == "":
            raise BadRequestException("Invalid API name specified")
        _check_spec(spec)
        _apply_api_spec(api, spec)
        await self._store.put_http(api)
        return api

    async def delete_cors(self, region: str, account: str, api_id: str) -> None:
        api = self.get_api(region, account, api_id)
        api.cors = None
        await self._store.put_http(api)

    async def delete_api(self, region: str, account: str, api_id: str) -> None:
        self.get_api(region, account, api_id)
        await self._store.delete(api_id)
        self._apis.remove(api_id)

    # --- routes -----------------------------------------------------------------------------

    async def create_route(
        self,
        region: str,
        account: str,
        api_id: str,
        route_key: str | None,
        target: str | None,
        authorization_type: str | None = None,
        authorizer_id: str | None = None,
    ) -> Route:
        api = self.get_api(region, account, api_id)
        check_authorization(api, authorization_type, authorizer_id)
        if not route_key:
            raise BadRequestException("RouteKey is required")
        check_route_key(route_key)
        check_target(api, target)
        if any(r.route_key == route_key for r in api.routes.values()):
            raise ConflictException(f"Unable to create route {route_key}. Route already exists.")
        if len(api.routes) >= MAX_ROUTES:
            raise LimitExceededException("Routes limit exceeded")
        route = Route(new_id(7, api.routes), route_key, target)
        if authorization_type == "CUSTOM":
            route.authorization_type, route.authorizer_id = "CUSTOM", authorizer_id
        api.routes[route.route_id] = route
        await self._changed(api)
        return route

    def get_route(self, region: str, account: str, api_id: str, route_id: str) -> Route:
        api = self.get_api(region, account, api_id)
        route = api.routes.get(route_id)
        if route is None:
            raise NotFoundException(f"Invalid Route identifier specified {route_id}")
        return route

    async def update_route(
        self,
        region: str,
        account: str,
        api_id: str,
        route_id: str,
        route_key: str | None,
        target: str | None,
        authorization_type: str | None = None,
        authorizer_id: str | None = None,
    ) -> Route:
        api = self.get_api(region, account, api_id)
        route = self.get_route(region, account, api_id, route_id)
        if authorization_type is not None or authorizer_id is not None:
            check_authorization(
                api,
                authorization_type or route.authorization_type,
                authorizer_id
                if authorizer_id is not None or authorization_type == "NONE"
                else route.authorizer_id,
            )
        if route_key is not None:
            check_route_key(route_key)
            if any(
                r.route_key == route_key and r.route_id != route_id for r in api.routes.values()
            ):
                raise ConflictException(
                    f"Unable to update route {route_key}. Route already exists."
                )
        check_target(api, target)
        if route_key is not None:
            route.route_key = route_key
        if target is not None:
            route.target = target or None
        if authorization_type is not None:
            route.authorization_type = authorization_type
            if authorization_type == "NONE":
                route.authorizer_id = None
        if authorizer_id is not None:
            route.authorizer_id = authorizer_id
        await self._changed(api)
        return route

    async def delete_route(self, region: str, account: str, api_id: str, route_id: str) -> None:
        api = self.get_api(region, account, api_id)
        self.get_route(region, account, api_id, route_id)
        del api.routes[route_id]
        await self._changed(api)

    # --- integrations -----------------------------------------------------------------------

    async def create_integration(
        self, region: str, account: str, api_id: str, spec: IntegrationSpec
    ) -> Integration:
        api = self.get_api(region, account, api_id)
        if spec.integration_type != "AWS_PROXY":
            raise BadRequestException(
                "Lamina supports integrations of type AWS_PROXY (to a Lambda function) only"
            )
        check_function_uri(spec.integration_uri)
        version = spec.payload_format_version
        if version is None:
            raise BadRequestException(
                "PayloadFormatVersion is required for integrations of type AWS_PROXY"
            )
        if version not in PAYLOAD_FORMATS:
            raise BadRequestException(f"Unsupported PayloadFormatVersion: {version}")
        check_timeout(spec.timeout_ms)
        if len(api.integrations) >= MAX_INTEGRATIONS:
            raise LimitExceededException("Integrations limit exceeded")
        integration = Integration(
            new_id(7, api.integrations),
            "AWS_PROXY",
            spec.integration_uri,
            version,
            spec.integration_method or "POST",
            spec.timeout_ms or 30000,
            description=spec.description,
        )
        api.integrations[integration.integration_id] = integration
        await self._changed(api)
        return integration

    def get_integration(
        self, region: str, account: str, api_id: str, integration_id: str
    ) -> Integration:
        api = self.get_api(region, account, api_id)
        integration = api.integrations.get(integration_id)
        if integration is None:
            raise NotFoundException(f"Invalid Integration identifier specified {integration_id}")
        return integration

    async def update_integration(
        self, region: str, account: str, api_id: str, integration_id: str, spec: IntegrationSpec
    ) -> Integration:
        api = self.get_api(region, account, api_id)
        current = self.get_integration(region, account, api_id, integration_id)
        if spec.integration_type not in (None, "AWS_PROXY"):
            raise BadRequestException(
                "Lamina supports integrations of type AWS_PROXY (to a Lambda function) only"
            )
        if spec.integration_uri is not None:
            check_function_uri(spec.integration_uri)
        if spec.payload_format_version not in (None, *PAYLOAD_FORMATS):
            raise BadRequestException(
                f"Unsupported PayloadFormatVersion: {spec.payload_format_version}"
            )
        check_timeout(spec.timeout_ms)
        updated = replace(
            current,
            integration_uri=spec.integration_uri or current.integration_uri,
            payload_format_version=spec.payload_format_version or current.payload_format_version,
            integration_method=spec.integration_method or current.integration_method,
            timeout_ms=spec.timeout_ms or current.timeout_ms,
            description=spec.description if spec.description is not None else current.description,
        )
        api.integrations[integration_id] = updated
        await self._changed(api)
        return updated

    async def delete_integration(
        self, region: str, account: str, api_id: str, integration_id: str
    ) -> None:
        api = self.get_api(region, account, api_id)
        self.get_integration(region, account, api_id, integration_id)
        target = f"integrations/{integration_id}"
        if any(r.target == target for r in api.routes.values()):
            raise ConflictException(
                f"Unable to delete integration {integration_id}: routes still target it"
            )
        del api.integrations[integration_id]
        await self._changed(api)

    async def _changed(self, api: HttpApi) -> None:
        """Routes or integrations changed: redeploy auto-deployed stages, then store."""
        auto_deploy(api)
        await self._store.put_http(api)


def _check_spec(spec: ApiSpec) -> None:
    check_name(spec.name)
    check_description(spec.description)
    check_name(spec.version)
    check_tags(spec.tags)


def _apply_api_spec(api: HttpApi, spec: ApiSpec) -> None:
    if spec.name:
        api.name = spec.name
    if spec.description is not None:
        api.description = spec.description
    if spec.version is not None:
        api.version = spec.version
    if spec.cors is not None:
        api.cors = spec.cors
    if spec.disable_execute_api_endpoint is not None:
        api.disable_execute_api_endpoint = spec.disable_execute_api_endpoint
    if spec.route_selection_expression is not None:
        api.route_selection_expression = spec.route_selection_expression
