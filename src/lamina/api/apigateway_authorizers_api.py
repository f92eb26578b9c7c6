"""API Gateway v2 (HTTP APIs) Lambda authorizers on the edge: CreateAuthorizer,
GetAuthorizer, GetAuthorizers, UpdateAuthorizer, DeleteAuthorizer."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.services.apigateway.http_authorizers import AuthorizerSpec, HttpAuthorizerService
from lamina.services.apigateway.records import Authorizer

Params = dict[str, Any]


def authorizer_out(authorizer: Authorizer) -> Params:
    return {
        "AuthorizerId": authorizer.authorizer_id,
        "AuthorizerPayloadFormatVersion": authorizer.payload_format_version,
        "AuthorizerResultTtlInSeconds": authorizer.result_ttl,
        "AuthorizerType": authorizer.authorizer_type,
        "AuthorizerUri": authorizer.authorizer_uri,
        "EnableSimpleResponses": authorizer.enable_simple_responses,
        "IdentitySource": authorizer.identity_source,
        "Name": authorizer.name,
    }


def _spec(p: Params) -> AuthorizerSpec:
    sources = p.get("IdentitySource")
    return AuthorizerSpec(
        name=p.get("Name"),
        authorizer_type=p.get("AuthorizerType"),
        authorizer_uri=p.get("AuthorizerUri"),
        payload_format_version=p.get("AuthorizerPayloadFormatVersion"),
        identity_source=list(sources) if sources is not None else None,
        enable_simple_responses=p.get("EnableSimpleResponses"),
        result_ttl=p.get("AuthorizerResultTtlInSeconds"),
    )


def authorizer_handlers(service: HttpAuthorizerService) -> dict[str, Handler]:
    async def create_authorizer(ctx: RequestContext, p: Params) -> Params:
        authorizer = await service.create_authorizer(
            ctx.region, ctx.account_id, p["ApiId"], _spec(p)
        )
        return authorizer_out(authorizer)

    async def get_authorizer(ctx: RequestContext, p: Params) -> Params:
        return authorizer_out(
            service.get_authorizer(ctx.region, ctx.account_id, p["ApiId"], p["AuthorizerId"])
        )

    async def get_authorizers(ctx: RequestContext, p: Params) -> Params:
        items = service.list_authorizers(ctx.region, ctx.account_id, p["ApiId"])
        return {"Items": [authorizer_out(a) for a in items]}

    async def update_authorizer(ctx: RequestContext, p: Params) -> Params:
        authorizer = await service.update_authorizer(
            ctx.region, ctx.account_id, p["ApiId"], p["AuthorizerId"], _spec(p)
        )
        return authorizer_out(authorizer)

    async def delete_authorizer(ctx: RequestContext, p: Params) -> Params:
        await service.delete_authorizer(ctx.region, ctx.account_id, p["ApiId"], p["AuthorizerId"])
        return {}

    return {
        "CreateAuthorizer": create_authorizer,
        "GetAuthorizer": get_authorizer,
        "GetAuthorizers": get_authorizers,
        "UpdateAuthorizer": update_authorizer,
        "DeleteAuthorizer": delete_authorizer,
    }
