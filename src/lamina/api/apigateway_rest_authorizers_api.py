"""API Gateway v1 (REST APIs) Lambda authorizers on the edge: CreateAuthorizer,
GetAuthorizer, GetAuthorizers, UpdateAuthorizer, DeleteAuthorizer."""

from __future__ import annotations

from typing import Any

from lamina.api.endpoints import Handler
from lamina.domain.context import RequestContext
from lamina.services.apigateway.records import RestAuthorizer
from lamina.services.apigateway.rest_apis import Patch
from lamina.services.apigateway.rest_authorizers import RestAuthorizerService

Params = dict[str, Any]


def rest_authorizer_out(authorizer: RestAuthorizer) -> Params:
    out: Params = {
        "id": authorizer.authorizer_id,
        "name": authorizer.name,
        "type": authorizer.type,
        "authorizerUri": authorizer.authorizer_uri,
    }
    if authorizer.auth_type is not None:
        out["authType"] = authorizer.auth_type
    if authorizer.identity_source is not None:
        out["identitySource"] = authorizer.identity_source
    if authorizer.identity_validation_expression is not None:
        out["identityValidationExpression"] = authorizer.identity_validation_expression
    if authorizer.result_ttl is not None:
        out["authorizerResultTtlInSeconds"] = authorizer.result_ttl
    return out


def rest_authorizer_handlers(service: RestAuthorizerService) -> dict[str, Handler]:
    async def create_authorizer(ctx: RequestContext, p: Params) -> Params:
        authorizer = await service.create_authorizer(
            ctx.region,
            ctx.account_id,
            p["restApiId"],
            p.get("name"),
            p.get("type"),
            p.get("authorizerUri"),
            p.get("identitySource"),
            p.get("identityValidationExpression"),
            p.get("authorizerResultTtlInSeconds"),
            p.get("authType"),
        )
        return rest_authorizer_out(authorizer)

    async def get_authorizer(ctx: RequestContext, p: Params) -> Params:
        return rest_authorizer_out(
            service.get_authorizer(ctx.region, ctx.account_id, p["restApiId"], p["authorizerId"])
        )

    async def get_authorizers(ctx: RequestContext, p: Params) -> Params:
        items = service.list_authorizers(ctx.region, ctx.account_id, p["restApiId"])
        return {"items": [rest_authorizer_out(a) for a in items]}

    async def update_authorizer(ctx: RequestContext, p: Params) -> Params:
        patches = [
            Patch(str(item.get("op", "")), str(item.get("path", "")), item.get("value"))
            for item in p.get("patchOperations", [])
        ]
        authorizer = await service.update_authorizer(
            ctx.region, ctx.account_id, p["restApiId"], p["authorizerId"], patches
        )
        return rest_authorizer_out(authorizer)

    async def delete_authorizer(ctx: RequestContext, p: Params) -> Params:
        await service.delete_authorizer(
            ctx.region, ctx.account_id, p["restApiId"], p["authorizerId"]
        )
        return {}

    return {
        "CreateAuthorizer": create_authorizer,
        "GetAuthorizer": get_authorizer,
        "GetAuthorizers": get_authorizers,
        "UpdateAuthorizer": update_authorizer,
        "DeleteAuthorizer": delete_authorizer,
    }
