"""IAM's records as its output shapes (botocore's member names), and tags and the caller's
user from the wire."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lamina.domain.context import RequestContext
from lamina.services.iam import documents
from lamina.services.iam.errors import ValidationError
from lamina.services.iam.model import AccessKey, ManagedPolicy, PolicyVersion, Role, Tags, User
from lamina.services.iam.state import IamState


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def tags_in(raw: list[dict[str, Any]] | None) -> Tags:
    return tuple((str(t.get("Key", "")), str(t.get("Value", ""))) for t in raw or ())


def tags_out(tags: Tags) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags]


def _boundary(arn: str | None) -> dict[str, str] | None:
    if arn is None:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def role_out(role: Role, *, view: str) -> dict[str, Any]:
    """``view``: ``create`` (CreateRole's answer), ``get`` (GetRole, UpdateRoleDescription)
    or ``list`` (ListRoles), which AWS answers with different members."""
    out: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": moment(role.created),
        "AssumeRolePolicyDocument": documents.encoded(role.trust_policy),
        "Description": role.description,
        "PermissionsBoundary": _boundary(role.boundary),
    }
    if view != "create":
        out["MaxSessionDuration"] = role.max_session
    if view != "list" and role.tags:
        out["Tags"] = tags_out(role.tags)
    if view == "get":
        last: dict[str, Any] = {}
        if role.last_used is not None:
            last = {"LastUsedDate": moment(role.last_used), "Region": role.last_used_region}
        out["RoleLastUsed"] = last
    return out


def user_out(user: User, *, with_tags: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": moment(user.created),
        "PermissionsBoundary": _boundary(user.boundary),
    }
    if with_tags and user.tags:
        out["Tags"] = tags_out(user.tags)
    return out


def key_metadata(key: AccessKey) -> dict[str, Any]:
    return {
        "UserName": key.user_name,
        "AccessKeyId": key.key_id,
        "Status": key.status,
        "CreateDate": moment(key.created),
    }


def policy_out(policy: ManagedPolicy, state: IamState, *, full: bool) -> dict[str, Any]:
    """``full``: CreatePolicy and GetPolicy (with the description and tags); ListPolicies
    answers without them."""
    out: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": state.attachment_count(policy.arn),
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": moment(policy.created),
        "UpdateDate": moment(policy.updated),
    }
    if full:
        out["Description"] = policy.description
        if policy.tags:
            out["Tags"] = tags_out(policy.tags)
    return out


def version_out(
    policy: ManagedPolicy, version: PolicyVersion, *, with_document: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == policy.default_version,
        "CreateDate": moment(version.created),
    }
    if with_document:
        out["Document"] = documents.encoded(version.document)
    return out


NOT_A_USER = "Must specify userName when calling with non-User credentials"


def caller_user_name(ctx: RequestContext, given: str | None) -> str:
    """``UserName`` when given, else the calling user's (IAM's rule for key operations)."""
    if given is not None:
        return given
    principal = ctx.principal
    if principal is not None and principal.kind == "user" and principal.user_name:
        return principal.user_name
    raise ValidationError(NOT_A_USER)
