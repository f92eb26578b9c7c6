"""IAM's managed policy, policy version, attachment and inline policy operations on the
edge."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lamina.api.iam_wire import policy_out, tags_in, version_out
from lamina.domain.context import RequestContext
from lamina.services.iam import documents
from lamina.services.iam.attachments import Kind
from lamina.services.iam.paging import listing, page
from lamina.services.iam.service import IamService
from lamina.services.iam.state import name_key

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def policy_handlers(iam: IamService) -> dict[str, Handler]:
    policies, state = iam.policies, iam.state

    async def create_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = await policies.create(
            params["PolicyName"],
            params.get("Path"),
            params["PolicyDocument"],
            params.get("Description"),
            tags_in(params.get("Tags")),
        )
        return {"Policy": policy_out(policy, state, full=True)}

    async def get_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Policy": policy_out(policies.get(params["PolicyArn"]), state, full=True)}

    async def list_policies(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, marker = page(
            policies.listing(
                params.get("Scope"), bool(params.get("OnlyAttached")), params.get("PathPrefix")
            ),
            lambda p: f"{p.name.lower()}\0{p.arn}",
            params.get("Marker"),
            params.get("MaxItems"),
        )
        return listing({"Policies": [policy_out(p, state, full=False) for p in found]}, marker)

    async def delete_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await policies.delete(params["PolicyArn"])
        return {}

    async def create_policy_version(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        version = await policies.create_version(
            arn, params["PolicyDocument"], bool(params.get("SetAsDefault"))
        )
        return {"PolicyVersion": version_out(policies.get(arn), version, with_document=False)}

    async def get_policy_version(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        version = policies.version(arn, params["VersionId"])
        return {"PolicyVersion": version_out(policies.get(arn), version, with_document=True)}

    async def list_policy_versions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = policies.get(params["PolicyArn"])
        newest_first = sorted(policy.versions, key=lambda v: -int(v.version_id[1:]))
        found, marker = page(
            newest_first,
            lambda v: f"{1_000_000 - int(v.version_id[1:]):07d}",
            params.get("Marker"),
            params.get("MaxItems"),
        )
        versions = [version_out(policy, v, with_document=False) for v in found]
        return listing({"Versions": versions}, marker)

    async def delete_policy_version(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await policies.delete_version(params["PolicyArn"], params["VersionId"])
        return {}

    async def set_default_policy_version(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        await policies.set_default(params["PolicyArn"], params["VersionId"])
        return {}

    async def list_entities_for_policy(
        ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        policy = policies.get(params["PolicyArn"])
        roles, users = state.attached_to(policy.arn)
        wanted = params.get("EntityFilter")
        prefix = params.get("PathPrefix") or "/"
        rows: list[tuple[str, dict[str, str]]] = []
        if wanted in (None, "Role"):
            rows += [
                (f"role\0{name_key(r.name)}", {"RoleName": r.name, "RoleId": r.role_id})
                for r in roles
                if r.path.startswith(prefix)
            ]
        if wanted in (None, "User"):
            rows += [
                (f"user\0{name_key(u.name)}", {"UserName": u.name, "UserId": u.user_id})
                for u in users
                if u.path.startswith(prefix)
            ]
        found, marker = page(
            sorted(rows), lambda r: r[0], params.get("Marker"), params.get("MaxItems")
        )
        out: dict[str, Any] = {
            "PolicyGroups": [],
            "PolicyUsers": [e for key, e in found if key.startswith("user")],
            "PolicyRoles": [e for key, e in found if key.startswith("role")],
        }
        return listing(out, marker)

    handlers: dict[str, Handler] = {
        "CreatePolicy": create_policy,
        "GetPolicy": get_policy,
        "ListPolicies": list_policies,
        "DeletePolicy": delete_policy,
        "CreatePolicyVersion": create_policy_version,
        "GetPolicyVersion": get_policy_version,
        "ListPolicyVersions": list_policy_versions,
        "DeletePolicyVersion": delete_policy_version,
        "SetDefaultPolicyVersion": set_default_policy_version,
        "ListEntitiesForPolicy": list_entities_for_policy,
    }
    handlers.update(_entity_handlers(iam, "role", "Role"))
    handlers.update(_entity_handlers(iam, "user", "User"))
    return handlers


def _entity_handlers(iam: IamService, kind: Kind, noun: str) -> dict[str, Handler]:
    """Attach/Detach<noun>Policy, ListAttached<noun>Policies and the inline policy
    operations of roles (``noun`` Role) or users (User)."""
    attachments = iam.attachments
    member = f"{noun}Name"

    async def attach(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await attachments.attach(kind, params[member], params["PolicyArn"])
        return {}

    async def detach(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await attachments.detach(kind, params[member], params["PolicyArn"])
        return {}

    async def list_attached(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, marker = page(
            attachments.attached(kind, params[member], params.get("PathPrefix")),
            lambda p: p.arn,
            params.get("Marker"),
            params.get("MaxItems"),
        )
        attached = [{"PolicyName": p.name, "PolicyArn": p.arn} for p in found]
        return listing({"AttachedPolicies": attached}, marker)

    async def put_inline(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await attachments.put_inline(
            kind, params[member], params["PolicyName"], params["PolicyDocument"]
        )
        return {}

    async def get_inline(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        entity, document = attachments.inline(kind, params[member], params["PolicyName"])
        return {
            member: entity.name,
            "PolicyName": params["PolicyName"],
            "PolicyDocument": documents.encoded(document),
        }

    async def delete_inline(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await attachments.delete_inline(kind, params[member], params["PolicyName"])
        return {}

    async def list_inline(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, marker = page(
            attachments.inline_names(kind, params[member]),
            str.lower,
            params.get("Marker"),
            params.get("MaxItems"),
        )
        return listing({"PolicyNames": found}, marker)

    return {
        f"Attach{noun}Policy": attach,
        f"Detach{noun}Policy": detach,
        f"ListAttached{noun}Policies": list_attached,
        f"Put{noun}Policy": put_inline,
        f"Get{noun}Policy": get_inline,
        f"Delete{noun}Policy": delete_inline,
        f"List{noun}Policies": list_inline,
    }
