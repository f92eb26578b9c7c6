"""IAM's, STS's and KMS's operations as IAM sees them.

IAM and KMS name each action after its operation (``iam:CreateRole``, ``kms:Encrypt``), so
one rule serves every operation of their models: the resource is the entity the request
names (a role, user, group, instance profile or policy; a key or alias), else ``*``.
STS is listed one operation at a time: ``GetCallerIdentity``, ``GetSessionToken`` and the
web-identity and SAML assumptions check no permission.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lamina.domain.iam_actions.rules import (
    Params,
    RequiredAccess,
    Rule,
    Scope,
    anywhere,
    arn_param,
    free,
    table,
    text,
)

# (member, ARN kind): the first one a request gives is its resource.
_IAM_ENTITIES = (
    ("RoleName", "role"),
    ("UserName", "user"),
    ("GroupName", "group"),
    ("InstanceProfileName", "instance-profile"),
    ("ServerCertificateName", "server-certificate"),
)
_IAM_ARNS = ("PolicyArn", "OpenIDConnectProviderArn", "SAMLProviderArn", "SerialNumber")
# Operations that act on the calling user when they name none (GetUser, ListAccessKeys...).
_SELF_USER = frozenset(
    (
        "ChangePassword",
        "CreateAccessKey",
        "CreateLoginProfile",
        "DeleteAccessKey",
        "DeleteSSHPublicKey",
        "DeleteServiceSpecificCredential",
        "DeleteSigningCertificate",
        "GetUser",
        "ListAccessKeys",
        "ListMFADevices",
        "ListSSHPublicKeys",
        "ListServiceSpecificCredentials",
        "ListSigningCertificates",
        "UpdateAccessKey",
        "UpdateSigningCertificate",
        "UploadSigningCertificate",
    )
)


def iam_resource(operation: str, params: Params, scope: Scope) -> str:
    for member, kind in _IAM_ENTITIES:
        name = text(params, member)
        if name:
            return f"arn:aws:iam::{scope.account}:{kind}/{name}"
    for member in _IAM_ARNS:
        arn = text(params, member)
        if arn.startswith("arn:"):
            return arn
    if operation == "CreatePolicy" and text(params, "PolicyName"):
        path = text(params, "Path", "/")
        return f"arn:aws:iam::{scope.account}:policy{path}{text(params, 'PolicyName')}"
    if operation in _SELF_USER and scope.caller_arn and ":user/" in scope.caller_arn:
        return scope.caller_arn
    return "*"


def iam_rule(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
    keys = {"iam:PolicyARN": text(params, "PolicyArn")} if text(params, "PolicyArn") else {}
    return [RequiredAccess(f"iam:{operation}", iam_resource(operation, params, scope), keys)]


def kms_resource(params: Params, scope: Scope) -> str:
    key = text(params, "KeyId") or text(params, "TargetKeyId")
    head = f"arn:aws:kms:{scope.region}:{scope.account}"
    if key:
        if key.startswith("arn:"):
            return key
        return f"{head}:{key}" if key.startswith("alias/") else f"{head}:key/{key}"
    alias = text(params, "AliasName")
    return f"{head}:{alias}" if alias else "*"


def kms_rule(operation: str, params: Params, scope: Scope) -> list[RequiredAccess]:
    return [RequiredAccess(f"kms:{operation}", kms_resource(params, scope))]


def federated_user(params: Params, scope: Scope) -> str:
    name = text(params, "Name")
    return f"arn:aws:sts::{scope.account}:federated-user/{name}" if name else "*"


STS: dict[str, Rule] = table(
    "sts",
    {
        arn_param("RoleArn"): "AssumeRole",
        federated_user: "GetFederationToken",
        anywhere: (
            "AssumeRoot DecodeAuthorizationMessage GetAccessKeyInfo GetCertificate "
            "GetDelegatedAccessToken GetScopedCredentials GetTrustBundles GetWebIdentityToken "
            "IssueWorkloadIdentityContext"
        ),
    },
    GetCallerIdentity=free,
    GetSessionToken=free,
    AssumeRoleWithSAML=free,
    AssumeRoleWithWebIdentity=free,
)


@cache
def _operations(service: str) -> tuple[str, ...]:
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    return tuple(model["operations"])


def iam_table() -> dict[str, Rule]:
    return dict.fromkeys(_operations("iam"), iam_rule)


def kms_table() -> dict[str, Rule]:
    return dict.fromkeys(_operations("kms"), kms_rule)
