"""REST APIs' Lambda authorizers (``TOKEN`` and ``REQUEST``): their management. Methods use
one with ``authorizationType`` ``CUSTOM`` and its ``authorizerId``; deployments snapshot
them with the resources."""

from __future__ import annotations

import re
from dataclasses import replace

from lamina.services.apigateway.errors import (
    BadRequestException,
    ConflictException,
    LimitExceededException,
    NotFoundException,
)
from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.limits import check_name
from lamina.services.apigateway.ports import ApiStore
from lamina.services.apigateway.records import RestAuthorizer
from lamina.services.apigateway.rest_apis import Patch, RestApiService, lambda_function_arn

MAX_AUTHORIZERS = 10
MAX_TTL = 3600
DEFAULT_TTL = 300
TYPES = ("TOKEN", "REQUEST")
_HEADER = r"method\.request\.header\.[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_SOURCE = re.compile(
    rf"{_HEADER}|method\.request\.querystring\.[^\s,]+|stageVariables\.[A-Za-z0-9_]+"
    r"|context\.[A-Za-z0-9_.]+"
)
_PATCHABLE = {
    "/name": "name",
    "/authorizerUri": "authorizer_uri",
    "/identitySource": "identity_source",
    "/identityValidationExpression": "identity_validation_expression",
    "/authorizerResultTtlInSeconds": "result_ttl",
    "/type": "type",
}


def identity_sources(authorizer: RestAuthorizer) -> list[str]:
    return [s.strip() for s in (authorizer.identity_source or "").split(",") if s.strip()]


def ttl(authorizer: RestAuthorizer) -> int:
    return DEFAULT_TTL if authorizer.result_ttl is None else authorizer.result_ttl


class RestAuthorizerService:
    def __init__(self, store: ApiStore, apis: RestApiService) -> None:
        self._store = store
        self._apis = apis

    async def create_authorizer(
        self,
        region: str,
        account: str,
        api_id: str,
        name: str | None,
        authorizer_type: str | None,
        authorizer_uri: str | None,
        identity_source: str | None = None,
        identity_validation_expression: str | None = None,
        result_ttl: int | None = None,
        auth_type: str | None = None,
    ) -> RestAuthorizer:
        api = self._apis.get_api(region, account, api_id)
        if not name:
            raise BadRequestException("Authorizer name is required")
        if len(api.authorizers) >= MAX_AUTHORIZERS:
            raise LimitExceededException("Authorizers limit exceeded")
        authorizer = RestAuthorizer(
            new_id(6, api.authorizers),
            name,
            authorizer_type or "",
            authorizer_uri or "",
            identity_source,
            identity_validation_expression,
            result_ttl,
            auth_type,
        )
        _check(authorizer)
        api.authorizers[authorizer.authorizer_id] = authorizer
        await self._store.put_rest(api)
        return authorizer

    def get_authorizer(
        self, region: str, account: str, api_id: str, authorizer_id: str
    ) -> RestAuthorizer:
        api = self._apis.get_api(region, account, api_id)
        authorizer = api.authorizers.get(authorizer_id)
        if authorizer is None:
            raise NotFoundException("Invalid Authorizer identifier specified")
        return authorizer

    def list_authorizers(self, region: str, account: str, api_id: str) -> list[RestAuthorizer]:
        return list(self._apis.get_api(region, account, api_id).authorizers.values())

    async def update_authorizer(
        self, region: str, account: str, api_id: str, authorizer_id: str, patches: list[Patch]
    ) -> RestAuthorizer:
        """``replace`` patches of the authorizer's settings (every patch or none)."""
        api = self._apis.get_api(region, account, api_id)
        updated = replace(self.get_authorizer(region, account, api_id, authorizer_id))
        for patch in patches:
            attribute = _PATCHABLE.get(patch.path)
            if patch.op != "replace" or attribute is None:
                raise BadRequestException(
                    f"Invalid patch path '{patch.path}' specified for op '{patch.op}'"
                )
            if attribute == "result_ttl":
                text = patch.value or ""
                if not text.isdigit():
                    raise BadRequestException("Invalid authorizer TTL specified")
                updated.result_ttl = int(text)
            else:
                setattr(updated, attribute, patch.value)
        _check(updated)
        api.authorizers[authorizer_id] = updated
        await self._store.put_rest(api)
        return updated

    async def delete_authorizer(
        self, region: str, account: str, api_id: str, authorizer_id: str
    ) -> None:
        api = self._apis.get_api(region, account, api_id)
        self.get_authorizer(region, account, api_id, authorizer_id)
        methods = [m for r in api.resources.values() for m in r.methods.values()]
        if any(m.authorizer_id == authorizer_id for m in methods):
            raise ConflictException(
                "Cannot delete authorizer, is referenced in method: "
                + next(
                    f"{m.http_method} {r.path}"
                    for r in api.resources.values()
                    for m in r.methods.values()
                    if m.authorizer_id == authorizer_id
                )
            )
        del api.authorizers[authorizer_id]
        await self._store.put_rest(api)


def _check(authorizer: RestAuthorizer) -> None:
    check_name(authorizer.name)
    if authorizer.type not in TYPES:
        raise BadRequestException(
            "Lamina supports Lambda authorizers (TOKEN, REQUEST) only"
            if authorizer.type == "COGNITO_USER_POOLS"
            else f"Invalid authorizer type specified: {authorizer.type}"
        )
    lambda_function_arn(authorizer.authorizer_uri)
    if not 0 <= ttl(authorizer) <= MAX_TTL:
        raise BadRequestException(f"Authorizer TTL must be 0 to {MAX_TTL} seconds")
    sources = identity_sources(authorizer)
    if authorizer.type == "TOKEN":
        if len(sources) != 1 or not re.fullmatch(_HEADER, sources[0]):
            raise BadRequestException(
                "Identity source of a TOKEN authorizer must be one request header:"
                " method.request.header.<name>"
            )
    elif ttl(authorizer) > 0 and not sources:
        raise BadRequestException("Identity source is required when authorizer caching is enabled")
    for source in sources:
        if not _SOURCE.fullmatch(source):
            raise BadRequestException(f"Invalid identity source specified: {source}")
    expression = authorizer.identity_validation_expression
    if expression:
        try:
            re.compile(expression)
        except re.error:
            raise BadRequestException("Invalid identity validation expression") from None
