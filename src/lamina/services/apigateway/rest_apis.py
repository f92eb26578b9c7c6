"""REST APIs (``apigateway``), the Lambda proxy subset: APIs, resources, methods, AWS_PROXY
integrations, deployments and stages.

A deployment is a snapshot of the resource tree; a stage serves one deployment. Every
change is validated first, then applied in memory and stored before the answer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    LimitExceededException,
    NotFoundException,
)
from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.limits import check_description, check_name, check_tags
from lamina.services.apigateway.ports import ApiStore
from lamina.services.apigateway.records import (
    RestApi,
    RestIntegration,
    RestMethod,
    RestResource,
)
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.routes import HTTP_METHODS
from lamina.services.apigateway.stage_variables import as_checked

# AWS's quotas.
MAX_REST_APIS = 600
MAX_RESOURCES = 300
PATH_PART = re.compile(r"[A-Za-z0-9._:@&=+$,;~!*'()-]+|\{[A-Za-z0-9._-]+\+?\}")
_APIGW_ARN = re.compile(r"arn:aws:apigateway:([a-z0-9-]+):([a-z0-9-]+):(path|action)/(.+)")
_LAMBDA_PATH = re.compile(
    r"2015-03-31/functions/(arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+"
    r"(?::[A-Za-z0-9$_-]+)?)/invocations"
)
AWS_PROXY_ONLY = (
    "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose"
    " stream invocations."
)


@dataclass(frozen=True, slots=True)
class Patch:
    """One patch operation of an Update call (``op``, ``path``, ``value``)."""

    op: str
    path: str
    value: str | None = None


_API_PATHS = {
    "/name": "name",
    "/description": "description",
    "/disableExecuteApiEndpoint": "disable_execute_api_endpoint",
}


class RestApiService:
    def __init__(self, store: ApiStore, registry: ApiRegistry) -> None:
        self._store = store
        self._apis = registry

    # --- APIs -------------------------------------------------------------------------------

    async def create_api(
        self,
        region: str,
        account: str,
        name: str | None,
        description: str | None = None,
        version: str | None = None,
        endpoint_types: list[str] | None = None,
        tags: dict[str, str] | None = None,
        disable_execute_api_endpoint: bool = False,
    ) -> RestApi:
        if not name:
            raise BadRequestException("Invalid API name specified")
        check_name(name)
        check_description(description)
        check_name(version)
        check_tags(tags)
        if len(self._apis.rest_in(region, account)) >= MAX_REST_APIS:
            raise LimitExceededException("API limit exceeded")
        root = RestResource(new_id(10), None, None, "/")
        api = RestApi(
            region,
            account,
            self._apis.new_api_id(),
            name,
            time.time(),
            root.resource_id,
            description,
            version,
            list(endpoint_types or ["EDGE"]),
            tags=dict(tags or {}),
            disable_execute_api_endpoint=disable_execute_api_endpoint,
            resources={root.resource_id: root},
        )
        await self._store.put_rest(api)
        self._apis.add_rest(api)
        return api

    def get_api(self, region: str, account: str, api_id: str) -> RestApi:
        api = self._apis.rest(api_id)
        if api is None or api.region != region or api.account_id != account:
            raise NotFoundException(f"Invalid API identifier specified {account}:{api_id}")
        return api

    def list_apis(self, region: str, account: str) -> list[RestApi]:
        return sorted(self._apis.rest_in(region, account), key=lambda a: a.created)

    async def update_api(
        self, region: str, account: str, api_id: str, patches: list[Patch]
    ) -> RestApi:
        """UpdateRestApi: ``replace`` of /name, /description, /disableExecuteApiEndpoint
        (every patch or none)."""
        api = self.get_api(region, account, api_id)
        changes: dict[str, object] = {}
        for patch in patches:
            if patch.op != "replace" or patch.path not in _API_PATHS:
                raise BadRequestException(
                    f"Invalid patch path '{patch.path}' specified for op '{patch.op}'."
                    " Must be one of: [/name, /description, /disableExecuteApiEndpoint]"
                )
            if patch.path == "/name" and not patch.value:
                raise BadRequestException("Invalid API name specified")
            if patch.path == "/name":
                check_name(patch.value)
            if patch.path == "/description":
                check_description(patch.value)
            changes[_API_PATHS[patch.path]] = patch.value
        for attribute, value in changes.items():
            if attribute == "disable_execute_api_endpoint":
                api.disable_execute_api_endpoint = str(value).lower() == "true"
            else:
                setattr(api, attribute, value)
        await self._store.put_rest(api)
        return api

    async def delete_api(self, region: str, account: str, api_id: str) -> None:
        self.get_api(region, account, api_id)
        await self._store.delete(api_id)
        self._apis.remove(api_id)

    # --- resources --------------------------------------------------------------------------

    def get_resource(
        self, region: str, account: str, api_id: str, resource_id: str
    ) -> RestResource:
        api = self.get_api(region, account, api_id)
        resource = api.resources.get(resource_id)
        if resource is None:
            raise NotFoundException("Invalid Resource identifier specified")
        return resource

    def list_resources(self, region: str, account: str, api_id: str) -> list[RestResource]:
        api = self.get_api(region, account, api_id)
        return sorted(api.resources.values(), key=lambda r: r.path)

    async def create_resource(
        self, region: str, account: str, api_id: str, parent_id: str, path_part: str | None
    ) -> RestResource:
        api = self.get_api(region, account, api_id)
        parent = self.get_resource(region, account, api_id, parent_id)
        if not path_part or not PATH_PART.fullmatch(path_part):
            raise BadRequestException(
                "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning"
                " and the end and an optional plus sign before the closing brace."
            )
        siblings = [r for r in api.resources.values() if r.parent_id == parent_id]
        if any(r.path_part == path_part for r in siblings):
            raise ConflictException(
                f"Another resource with the same parent already has this name: {path_part}"
            )
        if path_part.startswith("{"):
            variable = next((r for r in siblings if (r.path_part or "").startswith("{")), None)
            if variable is not None:
                raise BadRequestException(
                    f"A sibling ({variable.path_part}) of this resource already has a variable"
                    " path part -- only one is allowed"
                )
        if (parent.path_part or "").endswith("+}"):
            raise BadRequestException(
                f"Cannot create a child of a resource with a greedy path variable: {parent.path}"
            )
        if len(api.resources) >= MAX_RESOURCES:
            raise LimitExceededException("Resources limit exceeded")
        path = ("" if parent.path == "/" else parent.path) + "/" + path_part
        resource = RestResource(new_id(6, api.resources), parent_id, path_part, path)
        api.resources[resource.resource_id] = resource
        await self._store.put_rest(api)
        return resource

    async def delete_resource(
        self, region: str, account: str, api_id: str, resource_id: str
    ) -> None:
        api = self.get_api(region, account, api_id)
        resource = self.get_resource(region, account, api_id, resource_id)
        if resource.parent_id is None:
            raise BadRequestException("Cannot delete root resource")
        doomed = {resource_id}
        changed = True
        while changed:
            changed = False
            for other in api.resources.values():
                if other.parent_id in doomed and other.resource_id not in doomed:
                    doomed.add(other.resource_id)
                    changed = True
        for key in doomed:
            del api.resources[key]
        await self._store.put_rest(api)

    # --- methods and integrations -----------------------------------------------------------

    async def put_method(
        self,
        region: str,
        account: str,
        api_id: str,
        resource_id: str,
        http_method: str,
        authorization_type: str | None,
        api_key_required: bool = False,
        operation_name: str | None = None,
        request_parameters: dict[str, bool] | None = None,
        authorizer_id: str | None = None,
    ) -> RestMethod:
        api = self.get_api(region, account, api_id)
        resource = self.get_resource(region, account, api_id, resource_id)
        if http_method not in HTTP_METHODS:
            raise BadRequestException(
                "Invalid HttpMethod specified. "
                "Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY"
            )
        if not authorization_type:
            raise BadRequestException("Invalid authorization type specified")
        if authorization_type not in ("NONE", "CUSTOM"):
            raise BadRequestException(
                f"Lamina does not support authorizationType {authorization_type} yet: methods"
                " are NONE (open) or CUSTOM (a Lambda authorizer)"
            )
        if authorization_type == "CUSTOM" and (
            authorizer_id is None or authorizer_id not in api.authorizers
        ):
            raise BadRequestException(
                "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or"
                " COGNITO_USER_POOLS requires a valid authorizer."
            )
        if api_key_required:
            raise BadRequestException("Lamina does not support API keys (apiKeyRequired) yet")
        if http_method in resource.methods:
            raise ConflictException("Method already exists for this resource")
        method = RestMethod(
            http_method,
            authorization_type,
            api_key_required,
            operation_name,
            dict(request_parameters or {}),
            authorizer_id=authorizer_id if authorization_type == "CUSTOM" else None,
        )
        resource.methods[http_method] = method
        await self._store.put_rest(api)
        return method

    def get_method(
        self, region: str, account: str, api_id: str, resource_id: str, http_method: str
    ) -> RestMethod:
        resource = self.get_resource(region, account, api_id, resource_id)
        method = resource.methods.get(http_method)
        if method is None:
            raise NotFoundException("Invalid Method identifier specified")
        return method

    async def delete_method(
        self, region: str, account: str, api_id: str, resource_id: str, http_method: str
    ) -> None:
        api = self.get_api(region, account, api_id)
        resource = self.get_resource(region, account, api_id, resource_id)
        self.get_method(region, account, api_id, resource_id, http_method)
        del resource.methods[http_method]
        await self._store.put_rest(api)

    async def put_integration(
        self,
        region: str,
        account: str,
        api_id: str,
        resource_id: str,
        http_method: str,
        integration_type: str | None,
        uri: str | None,
        integration_http_method: str | None = None,
        timeout_ms: int | None = None,
    ) -> RestIntegration:
        api = self.get_api(region, account, api_id)
        method = self.get_method(region, account, api_id, resource_id, http_method)
        if integration_type != "AWS_PROXY":
            raise BadRequestException(
                "Lamina's REST APIs support integrations of type AWS_PROXY (Lambda) only"
            )
        lambda_function_arn(as_checked(uri or ""))
        if timeout_ms is not None and not 50 <= timeout_ms <= 29000:
            raise BadRequestException("Timeout should be between 50 ms and 29000 ms")
        integration = RestIntegration(
            "AWS_PROXY", uri or "", integration_http_method or "POST", timeout_ms or 29000
        )
        method.integration = integration
        await self._store.put_rest(api)
        return integration

    def get_integration(
        self, region: str, account: str, api_id: str, resource_id: str, http_method: str
    ) -> RestIntegration:
        method = self.get_method(region, account, api_id, resource_id, http_method)
        if method.integration is None:
            raise NotFoundException("No integration defined for method")
        return method.integration

    async def update_integration(
        self,
        region: str,
        account: str,
        api_id: str,
        resource_id: str,
        http_method: str,
        patches: list[Patch],
    ) -> RestIntegration:
        """``replace`` of /uri, /timeoutInMillis, /httpMethod (every patch or none)."""
        api = self.get_api(region, account, api_id)
        method = self.get_method(region, account, api_id, resource_id, http_method)
        current = self.get_integration(region, account, api_id, resource_id, http_method)
        updated = replace(current)
        for patch in patches:
            value = patch.value or ""
            if patch.op != "replace":
                raise BadRequestException(f"Invalid patch operation specified: {patch.op}")
            if patch.path == "/uri":
                lambda_function_arn(as_checked(value))
                updated.uri = value
            elif patch.path == "/timeoutInMillis":
                if not value.isdigit() or not 50 <= int(value) <= 29000:
                    raise BadRequestException("Timeout should be between 50 ms and 29000 ms")
                updated.timeout_ms = int(value)
            elif patch.path == "/httpMethod":
                updated.http_method = value
            else:
                raise BadRequestException(
                    f"Lamina does not support the integration setting {patch.path} yet"
                )
        method.integration = updated
        await self._store.put_rest(api)
        return updated

    async def delete_integration(
        self, region: str, account: str, api_id: str, resource_id: str, http_method: str
    ) -> None:
        api = self.get_api(region, account, api_id)
        method = self.get_method(region, account, api_id, resource_id, http_method)
        self.get_integration(region, account, api_id, resource_id, http_method)
        method.integration = None
        await self._store.put_rest(api)


def lambda_function_arn(uri: str | None) -> str:
    """The function ARN of an AWS_PROXY integration's URI
    (``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations``), or
    API Gateway's error for the URI."""
    if not uri or not uri.startswith("arn:"):
        raise BadRequestException("Invalid ARN specified in the request")
    found = _APIGW_ARN.fullmatch(uri)
    if found is None:
        raise BadRequestException("AWS ARN for integration must contain path or action")
    service, kind, rest = found.group(2), found.group(3), found.group(4)
    target = _LAMBDA_PATH.fullmatch(rest)
    if service != "lambda" or kind != "path" or target is None:
        raise BadRequestException(AWS_PROXY_ONLY)
    return target.group(1)
