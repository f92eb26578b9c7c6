"""IAM's user and access key operations on the edge."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lamina.api.iam_wire import (
    caller_user_name,
    key_metadata,
    moment,
    tags_in,
    tags_out,
    user_out,
)
from lamina.domain.context import RequestContext
from lamina.services.iam.paging import listing, page
from lamina.services.iam.service import IamService
from lamina.services.iam.state import name_key

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def _root_user(ctx: RequestContext) -> dict[str, Any]:
    """GetUser without a name, called with the account's root credentials."""
    return {
        "UserId": ctx.account_id,
        "Arn": f"arn:aws:iam::{ctx.account_id}:root",
        "CreateDate": moment(0),
    }


def user_handlers(iam: IamService) -> dict[str, Handler]:
    users, keys = iam.users, iam.keys

    async def create_user(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = await users.create(
            params["UserName"],
            params.get("Path"),
            boundary=params.get("PermissionsBoundary"),
            tags_=tags_in(params.get("Tags")),
        )
        return {"User": user_out(user)}

    async def get_user(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("UserName")
        principal = ctx.principal
        if name is None and (principal is None or principal.kind == "root"):
            return {"User": _root_user(ctx)}
        return {"User": user_out(users.get(caller_user_name(ctx, name)))}

    async def list_users(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, marker = page(
            users.listing(params.get("PathPrefix")),
            lambda u: name_key(u.name),
            params.get("Marker"),
            params.get("MaxItems"),
        )
        return listing({"Users": [user_out(u, with_tags=False) for u in found]}, marker)

    async def update_user(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await users.update(params["UserName"], params.get("NewPath"), params.get("NewUserName"))
        return {}

    async def delete_user(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await users.delete(params["UserName"])
        return {}

    async def tag_user(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await users.tag(params["UserName"], tags_in(params.get("Tags")))
        return {}

    async def untag_user(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await users.untag(params["UserName"], list(params.get("TagKeys") or []))
        return {}

    async def list_user_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = users.get(params["UserName"])
        found, marker = page(
            list(user.tags), lambda t: t[0].lower(), params.get("Marker"), params.get("MaxItems")
        )
        return listing({"Tags": tags_out(tuple(found))}, marker)

    async def create_access_key(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = await keys.create(caller_user_name(ctx, params.get("UserName")))
        out = key_metadata(key)
        out["SecretAccessKey"] = key.secret
        return {"AccessKey": out}

    async def list_access_keys(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, marker = page(
            keys.of(caller_user_name(ctx, params.get("UserName"))),
            lambda k: k.key_id,
            params.get("Marker"),
            params.get("MaxItems"),
        )
        return listing({"AccessKeyMetadata": [key_metadata(k) for k in found]}, marker)

    async def update_access_key(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user_name = caller_user_name(ctx, params.get("UserName"))
        await keys.set_active(user_name, params["AccessKeyId"], params["Status"] == "Active")
        return {}

    async def delete_access_key(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user_name = caller_user_name(ctx, params.get("UserName"))
        await keys.delete(user_name, params["AccessKeyId"])
        return {}

    async def get_access_key_last_used(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key = keys.key(params["AccessKeyId"])
        used: dict[str, Any] = {"ServiceName": "N/A", "Region": "N/A"}
        if key.last_used is not None:
            used = {
                "LastUsedDate": moment(key.last_used),
                "ServiceName": key.last_service or "N/A",
                "Region": key.last_region or "N/A",
            }
        return {"UserName": key.user_name, "AccessKeyLastUsed": used}

    return {
        "CreateUser": create_user,
        "GetUser": get_user,
        "ListUsers": list_users,
        "UpdateUser": update_user,
        "DeleteUser": delete_user,
        "TagUser": tag_user,
        "UntagUser": untag_user,
        "ListUserTags": list_user_tags,
        "CreateAccessKey": create_access_key,
        "ListAccessKeys": list_access_keys,
        "UpdateAccessKey": update_access_key,
        "DeleteAccessKey": delete_access_key,
        "GetAccessKeyLastUsed": get_access_key_last_used,
    }
