"""HTTP APIs' Lambda authorizers (``REQUEST``): their management, and which routes use them
(``AuthorizationType`` ``CUSTOM`` with an ``AuthorizerId``). Like routes, authorizers are
part of what a deployment snapshots."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    LimitExceededException,
    NotFoundException,
)
from lamina.services.apigateway.http_apis import HttpApiService
from lamina.services.apigateway.http_rules import auto_deploy
from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.limits import check_name
from lamina.services.apigateway.ports import ApiStore
from lamina.services.apigateway.records import Authorizer, HttpApi
from lamina.services.apigateway.rest_apis import lambda_function_arn

# AWS's quota of authorizers per API.
MAX_AUTHORIZERS = 10
MAX_TTL = 3600
PAYLOAD_FORMATS = ("1.0", "2.0")
IDENTITY_SOURCE = re.compile(
    r"\$(request\.header\.[A-Za-z0-9!#$%&'*+.^_`|~-]+|request\.querystring\.[^\s,]+"
    r"|context\.[A-Za-z0-9_.]+|stageVariables\.[A-Za-z0-9_]+)"
)


@dataclass(slots=True)
class AuthorizerSpec:
    """CreateAuthorizer's and UpdateAuthorizer's members (None: not given)."""

    name: str | None = None
    authorizer_type: str | None = None
    authorizer_uri: str | None = None
    payload_format_version: str | None = None
    identity_source: list[str] | None = None
    enable_simple_responses: bool | None = None
    result_ttl: int | None = None


class HttpAuthorizerService:
    def __init__(self, store: ApiStore, apis: HttpApiService) -> None:
        self._store = store
        self._apis = apis

    async def create_authorizer(
        self, region: str, account: str, api_id: str, spec: AuthorizerSpec
    ) -> Authorizer:
        api = self._apis.get_api(region, account, api_id)
        if not spec.name:
            raise BadRequestException("Authorizer name is required")
        if spec.authorizer_type != "REQUEST":
            raise BadRequestException(
                "Lamina supports Lambda (REQUEST) authorizers only"
                if spec.authorizer_type == "JWT"
                else "Invalid authorizer type specified"
            )
        if len(api.authorizers) >= MAX_AUTHORIZERS:
            raise LimitExceededException("Authorizers limit exceeded")
        authorizer = Authorizer(
            new_id(6, api.authorizers),
            spec.name,
            spec.authorizer_uri or "",
            spec.payload_format_version or "",
            list(spec.identity_source or []),
            bool(spec.enable_simple_responses),
            0 if spec.result_ttl is None else spec.result_ttl,
        )
        _check(authorizer)
        api.authorizers[authorizer.authorizer_id] = authorizer
        await self._changed(api)
        return authorizer

    def get_authorizer(
        self, region: str, account: str, api_id: str, authorizer_id: str
    ) -> Authorizer:
        api = self._apis.get_api(region, account, api_id)
        authorizer = api.authorizers.get(authorizer_id)
        if authorizer is None:
            raise NotFoundException(f"Invalid Authorizer identifier specified {authorizer_id}")
        return authorizer

    def list_authorizers(self, region: str, account: str, api_id: str) -> list[Authorizer]:
        return list(self._apis.get_api(region, account, api_id).authorizers.values())

    async def update_authorizer(
        self, region: str, account: str, api_id: str, authorizer_id: str, spec: AuthorizerSpec
    ) -> Authorizer:
        api = self._apis.get_api(region, account, api_id)
        current = self.get_authorizer(region, account, api_id, authorizer_id)
        if spec.authorizer_type not in (None, "REQUEST"):
            raise BadRequestException("Lamina supports Lambda (REQUEST) authorizers only")
        updated = replace(
            current,
            name=spec.name or current.name,
            authorizer_uri=spec.authorizer_uri or current.authorizer_uri,
            payload_format_version=spec.payload_format_version or current.payload_format_version,
            identity_source=list(
                current.identity_source if spec.identity_source is None else spec.identity_source
            ),
            enable_simple_responses=(
                current.enable_simple_responses
                if spec.enable_simple_responses is None
                else spec.enable_simple_responses
            ),
            result_ttl=current.result_ttl if spec.result_ttl is None else spec.result_ttl,
        )
        _check(updated)
        api.authorizers[authorizer_id] = updated
        await self._changed(api)
        return updated

    async def delete_authorizer(
        self, region: str, account: str, api_id: str, authorizer_id: str
    ) -> None:
        api = self._apis.get_api(region, account, api_id)
        self.get_authorizer(region, account, api_id, authorizer_id)
        if any(r.authorizer_id == authorizer_id for r in api.routes.values()):
            raise ConflictException(
                f"Cannot delete authorizer {authorizer_id}: routes still use it"
            )
        del api.authorizers[authorizer_id]
        await self._changed(api)

    async def _changed(self, api: HttpApi) -> None:
        auto_deploy(api)
        await self._store.put_http(api)


def _check(authorizer: Authorizer) -> None:
    check_name(authorizer.name)
    lambda_function_arn(authorizer.authorizer_uri)
    if authorizer.payload_format_version not in PAYLOAD_FORMATS:
        raise BadRequestException(
            "AuthorizerPayloadFormatVersion must be 1.0 or 2.0 for REQUEST authorizers"
        )
    if authorizer.enable_simple_responses and authorizer.payload_format_version != "2.0":
        raise BadRequestException(
            "EnableSimpleResponses is only supported with AuthorizerPayloadFormatVersion 2.0"
        )
    if not 0 <= authorizer.result_ttl <= MAX_TTL:
        raise BadRequestException(f"AuthorizerResultTtlInSeconds must be 0 to {MAX_TTL}")
    if authorizer.result_ttl > 0 and not authorizer.identity_source:
        raise BadRequestException("IdentitySource is required when authorizer caching is enabled")
    for source in authorizer.identity_source:
        if not IDENTITY_SOURCE.fullmatch(source):
            raise BadRequestException(f"Invalid identity source specified: {source}")
