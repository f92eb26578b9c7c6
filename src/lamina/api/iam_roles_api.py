"""IAM's role operations on the edge."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lamina.api.iam_wire import role_out, tags_in, tags_out
from lamina.domain.context import RequestContext
from lamina.services.iam.paging import listing, page
from lamina.services.iam.service import IamService
from lamina.services.iam.state import name_key

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def role_handlers(iam: IamService) -> dict[str, Handler]:
    roles = iam.roles

    async def create_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = await roles.create(
            params["RoleName"],
            params.get("Path"),
            params["AssumeRolePolicyDocument"],
            description=params.get("Description"),
            max_session=params.get("MaxSessionDuration"),
            boundary=params.get("PermissionsBoundary"),
            tags_=tags_in(params.get("Tags")),
        )
        return {"Role": role_out(role, view="create")}

    async def get_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Role": role_out(roles.get(params["RoleName"]), view="get")}

    async def list_roles(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, marker = page(
            roles.listing(params.get("PathPrefix")),
            lambda r: name_key(r.name),
            params.get("Marker"),
            params.get("MaxItems"),
        )
        return listing({"Roles": [role_out(r, view="list") for r in found]}, marker)

    async def update_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await roles.update(
            params["RoleName"],
            description=params.get("Description"),
            max_session=params.get("MaxSessionDuration"),
        )
        return {}

    async def update_role_description(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        role = await roles.update(
            params["RoleName"], description=params["Description"], max_session=None
        )
        return {"Role": role_out(role, view="get")}

    async def update_assume_role_policy(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        await roles.update_trust(params["RoleName"], params["PolicyDocument"])
        return {}

    async def delete_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await roles.delete(params["RoleName"])
        return {}

    async def tag_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await roles.tag(params["RoleName"], tags_in(params.get("Tags")))
        return {}

    async def untag_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await roles.untag(params["RoleName"], list(params.get("TagKeys") or []))
        return {}

    async def list_role_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = roles.get(params["RoleName"])
        found, marker = page(
            list(role.tags), lambda t: t[0].lower(), params.get("Marker"), params.get("MaxItems")
        )
        return listing({"Tags": tags_out(tuple(found))}, marker)

    return {
        "CreateRole": create_role,
        "GetRole": get_role,
        "ListRoles": list_roles,
        "UpdateRole": update_role,
        "UpdateRoleDescription": update_role_description,
        "UpdateAssumeRolePolicy": update_assume_role_policy,
        "DeleteRole": delete_role,
        "TagRole": tag_role,
        "UntagRole": untag_role,
        "ListRoleTags": list_role_tags,
    }
