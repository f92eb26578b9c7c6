"""STS (``sts``): GetCallerIdentity, AssumeRole and GetSessionToken (docs/security.md).

AssumeRole checks the role's trust policy with the policy evaluator
(``domain.iam_policy``): it must allow ``sts:AssumeRole`` to the caller (its ARN, its
role, or its account), and no identity policy of the caller may deny it. The session's
principal is ``arn:aws:sts::<account>:assumed-role/<role name>/<session name>`` with
``UserId`` ``<role id>:<session name>``; its credentials (``ASIA…``) expire after
``DurationSeconds`` and are then answered ``ExpiredToken``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from lamina.domain.context import RequestContext
from lamina.domain.identity import IdentityPolicies, Principal, SigningKey
from lamina.runtime.credentials import role_session_principal, stand_in_role_id
from lamina.services.sts.errors import (
    AccessDenied,
    InvalidParameterValue,
    ValidationError,
    constraint,
)
from lamina.services.sts.sessions import SessionBook

SESSION_NAME = re.compile(r"[\w+=,.@-]*")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]*")
DEFAULT_DURATION = 3600
MIN_DURATION = 900
MAX_ASSUME_DURATION = 43200
# A role assumed by a role session (chaining) lasts an hour at most.
CHAINED_MAX_DURATION = 3600
DEFAULT_SESSION_TOKEN_DURATION = 43200
MAX_SESSION_TOKEN_DURATION = 129600
ROOT_SESSION_TOKEN_MAX = 3600
MAX_TAGS = 50


@dataclass(frozen=True)
class RoleFacts:
    """What STS needs of an IAM role."""

    arn: str
    role_id: str
    max_session: int
    trust_policy: Mapping[str, Any]


class Roles(Protocol):
    """IAM's roles, by ARN (None: no such role)."""

    def role(self, arn: str) -> RoleFacts | None: ...


class StsService:
    """``roles``/``policies``: IAM's view (None until IAM is wired: any role ARN may then be
    assumed by anyone, as a stand-in role)."""

    def __init__(
        self,
        sessions: SessionBook,
        account_id: str,
        roles: Roles | None = None,
        policies: IdentityPolicies | None = None,
    ) -> None:
        self.sessions = sessions
        self.account_id = account_id
        self.roles = roles
        self.policies = policies

    def caller(self, ctx: RequestContext) -> Principal:
        return ctx.principal or Principal.root(ctx.account_id)

    def get_caller_identity(self, ctx: RequestContext) -> dict[str, Any]:
        principal = self.caller(ctx)
        return {
            "UserId": principal.unique_id,
            "Account": principal.account_id,
            "Arn": principal.arn,
        }

    async def assume_role(self, ctx: RequestContext, params: Mapping[str, Any]) -> dict[str, Any]:
        caller = self.caller(ctx)
        role_arn = str(params.get("RoleArn", ""))
        session_name = str(params.get("RoleSessionName", ""))
        _check_session_name(session_name)
        _check_role_arn(role_arn)
        duration = _duration(params.get("DurationSeconds"), DEFAULT_DURATION, MAX_ASSUME_DURATION)
        external_id = params.get("ExternalId")
        if external_id is not None:
            _check_external_id(str(external_id))
        _check_tags(params.get("Tags") or [], params.get("TransitiveTagKeys") or [])
        role = self._role(role_arn)
        if role is None or not self._trusted(caller, role, external_id):
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on "
                f"resource: {role_arn}"
            )
        if caller.kind == "assumed-role" and duration > CHAINED_MAX_DURATION:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        if duration > role.max_session:
            raise ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        principal = role_session_principal(role.arn, session_name, role.role_id, self.account_id)
        key = await self.sessions.issue(principal, duration)
        out: dict[str, Any] = {
            "Credentials": _credentials(key),
            "AssumedRoleUser": {"AssumedRoleId": principal.unique_id, "Arn": principal.arn},
        }
        if params.get("Policy") or params.get("PolicyArns") or params.get("Tags"):
            out["PackedPolicySize"] = _packed_size(params)
        return out

    async def get_session_token(
        self, ctx: RequestContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        caller = self.caller(ctx)
        if caller.kind == "assumed-role" or ctx.temporary:
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        maximum = ROOT_SESSION_TOKEN_MAX if caller.kind == "root" else MAX_SESSION_TOKEN_DURATION
        duration = _duration(
            params.get("DurationSeconds"),
            DEFAULT_SESSION_TOKEN_DURATION,
            MAX_SESSION_TOKEN_DURATION,
        )
        key = await self.sessions.issue(caller, min(duration, maximum))
        return {"Credentials": _credentials(key)}

    def _role(self, arn: str) -> RoleFacts | None:
        if self.roles is not None:
            return self.roles.role(arn)
        if ":role/" not in arn:
            return None
        trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]}
        return RoleFacts(arn, stand_in_role_id(arn), MAX_ASSUME_DURATION, trust)

    def _trusted(self, caller: Principal, role: RoleFacts, external_id: object) -> bool:
        """AWS's rule: the trust policy must allow the caller, and no identity policy may
        deny it; a trust policy that allows the whole account (``"AWS": "<account>"``)
        delegates to the account's identity policies, which must then allow it too (the
        root user is allowed everything in its account)."""
        from lamina.domain.iam_policy import AccessRequest, evaluate, resource_policy_decision

        context: dict[str, str] = {}
        if external_id is not None:
            context["sts:ExternalId"] = str(external_id)
        account = role.arn.split(":")[4]
        request = AccessRequest(caller, "sts:AssumeRole", role.arn, account, context)
        if not resource_policy_decision(request, role.trust_policy).allowed:
            return False
        identity: Sequence[Mapping[str, Any]] = (
            self.policies.policies_of(caller) if self.policies is not None else []
        )
        decision = evaluate(request, identity)
        if decision.kind == "explicit-deny":
            return False
        if decision.allowed or caller.account_id != account:
            return caller.account_id == account or decision.allowed
        anyone = Principal(
            f"arn:aws:iam::{account}:user/{_PROBE}", account, "user", _PROBE, user_name=_PROBE
        )
        probe = AccessRequest(anyone, "sts:AssumeRole", role.arn, account, context)
        # Named specifically (not as the whole account): the trust policy suffices.
        return not resource_policy_decision(probe, role.trust_policy).allowed


# A user no account has: whether a trust policy allows it tells an account-wide grant.
_PROBE = "lamina-trust-probe-principal"


def _credentials(key: SigningKey) -> dict[str, Any]:
    return {
        "AccessKeyId": key.access_key_id,
        "SecretAccessKey": key.secret_access_key,
        "SessionToken": key.session_token,
        "Expiration": datetime.fromtimestamp(key.expires_at or 0, timezone.utc),
    }


def _packed_size(params: Mapping[str, Any]) -> int:
    """AWS's packed size is a percentage of the allowed size (an estimate here)."""
    text = str(params.get("Policy") or "") + json.dumps(params.get("Tags") or [])
    return min(100, max(1, len(text) * 100 // 2048))


def _check_session_name(name: str) -> None:
    if not SESSION_NAME.fullmatch(name):
        raise constraint(
            name, "roleSessionName", r"Member must satisfy regular expression pattern: [\w+=,.@-]*"
        )
    if len(name) < 2:
        raise constraint(
            name, "roleSessionName", "Member must have length greater than or equal to 2"
        )
    if len(name) > 64:
        raise constraint(
            name, "roleSessionName", "Member must have length less than or equal to 64"
        )


def _check_role_arn(arn: str) -> None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
        raise ValidationError(f"{arn} is invalid")
    if len(arn) < 20:
        raise constraint(arn, "roleArn", "Member must have length greater than or equal to 20")


def _check_external_id(value: str) -> None:
    if not EXTERNAL_ID.fullmatch(value):
        raise constraint(
            value, "externalId", r"Member must satisfy regular expression pattern: [\w+=,.@:\/-]*"
        )
    if len(value) < 2:
        raise constraint(value, "externalId", "Member must have length greater than or equal to 2")
    if len(value) > 1224:
        raise constraint(value, "externalId", "Member must have length less than or equal to 1224")


def _duration(value: object, default: int, maximum: int) -> int:
    if value is None:
        return default
    seconds = int(str(value))
    if seconds < MIN_DURATION:
        raise constraint(
            seconds,
            "durationSeconds",
            f"Member must have value greater than or equal to {MIN_DURATION}",
        )
    if seconds > maximum:
        raise constraint(
            seconds, "durationSeconds", f"Member must have value less than or equal to {maximum}"
        )
    return seconds


def _check_tags(tags: Sequence[Mapping[str, Any]], transitive: Sequence[str]) -> None:
    if len(tags) > MAX_TAGS:
        raise constraint(
            "[...]", "tags", f"Member must have length less than or equal to {MAX_TAGS}"
        )
    seen: set[str] = set()
    for tag in tags:
        key = str(tag.get("Key", "")).lower()
        if key in seen:
            raise InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key)
    for name in transitive:
        if str(name).lower() not in seen:
            raise InvalidParameterValue(
                "The specified transitive tag key must be included in the requested tags."
            )
