"""IAM as the other parts of identity and access see it (``domain/identity.py``):

- ``UserKeys``: a ``KeyBook`` over IAM users' access keys (an in-memory index rebuilt after
  a change, so a lookup is one dict access);
- ``UserAndRolePolicies``: an ``IdentityPolicies`` answering the parsed inline and attached
  (default version) policies of a user or of an assumed role's role, cached until IAM
  changes;
- ``role_by_arn`` and ``trusts``: the role of an ARN and whether its trust policy lets a
  service principal (``lambda.amazonaws.com``) assume it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lamina.domain.identity import Principal, SigningKey
from lamina.services.iam import documents
from lamina.services.iam.model import Role, User
from lamina.services.iam.state import IamState


class UserKeys:
    """IAM users' keys by id (principal kind ``user``; inactive keys ``active=False``)."""

    def __init__(self, state: IamState) -> None:
        self._state = state
        self._index: dict[str, SigningKey] | None = None
        state.on_change(self._invalidate)

    def _invalidate(self) -> None:
        self._index = None

    def key(self, access_key_id: str) -> SigningKey | None:
        index = self._index
        if index is None:
            index = self._index = self._build()
        return index.get(access_key_id)

    def _build(self) -> dict[str, SigningKey]:
        state = self._state
        index: dict[str, SigningKey] = {}
        for key in list(state.keys.values()):
            user = state.user(key.user_name)
            if user is None:
                continue
            principal = Principal(
                user.arn, state.account_id, "user", user.user_id, user_name=user.name
            )
            index[key.key_id] = SigningKey(key.key_id, key.secret, principal, active=key.active)
        return index


class UserAndRolePolicies:
    """The identity-based policies of users and assumed roles (root: none)."""

    def __init__(self, state: IamState) -> None:
        self._state = state
        self._cache: dict[str, list[Mapping[str, Any]]] = {}
        state.on_change(self._cache.clear)

    def policies_of(self, principal: Principal) -> list[Mapping[str, Any]]:
        key = principal.role_arn if principal.kind == "assumed-role" else principal.arn
        if principal.kind == "root" or key is None:
            return []
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._documents(principal, key)
        return cached

    def _documents(self, principal: Principal, arn: str) -> list[Mapping[str, Any]]:
        entity: Role | User | None
        if principal.kind == "assumed-role":
            entity = role_by_arn(self._state, arn)
        else:
            entity = self._state.user(principal.user_name or arn.rpartition("/")[2])
            if entity is not None and entity.arn != arn:
                entity = None
        if entity is None:
            return []
        return policy_documents(self._state, entity)


def policy_sources(state: IamState, entity: Role | User) -> list[tuple[str, str]]:
    """A role's or user's policies as (name, document text): its inline policies, then its
    managed policies' default versions."""
    out = list(entity.inline.items())
    for arn in entity.attached:
        policy = state.policy(arn)
        if policy is not None:
            out.append((policy.name, policy.default_document))
    return out


def policy_documents(state: IamState, entity: Role | User) -> list[Mapping[str, Any]]:
    """A role's or user's inline policies and its managed policies' default versions."""
    return [documents.parsed(text) for _, text in policy_sources(state, entity)]


def role_by_arn(state: IamState, arn: str) -> Role | None:
    """The role ``arn`` names (``arn:aws:iam::<account>:role/<path><name>``), or None."""
    role = state.role(arn.rpartition("/")[2])
    return role if role is not None and role.arn == arn else None


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _assumes(actions: Iterable[Any]) -> bool:
    return any(a in ("*", "sts:*", "sts:AssumeRole") for a in map(str, actions))


def trusts(role: Role, service_principal: str) -> bool:
    """Whether ``role``'s trust policy allows ``service_principal`` to ``sts:AssumeRole``
    (an ``Allow`` naming the service and no ``Deny`` naming it; conditions are not weighed:
    a service assumes the role for the account's own resources)."""
    document = documents.parsed(role.trust_policy)
    allowed = False
    for statement in _values(document.get("Statement")):
        if not isinstance(statement, dict) or not _assumes(_values(statement.get("Action"))):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            names: list[Any] = ["*"]
        elif isinstance(principal, dict):
            names = _values(principal.get("Service"))
        else:
            names = []
        if service_principal not in names and "*" not in names:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
