"""Who signed a request: principals, the keys that prove them, and the policies they carry.

These are the seams between the parts of identity and access (docs/security.md):

- the key book (``KeyBook``) answers, for an access key id, its secret and whom it belongs
  to: the account's root key, IAM users' keys, STS session credentials, and the credentials
  of live execution environments;
- the edge verifies a request's SigV4 signature with that secret and puts the
  ``Principal`` on the request's context;
- IAM (``IdentityPolicies``) answers the identity-based policies of a principal, which the
  policy evaluator weighs with the resource's own policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

PrincipalKind = Literal["root", "user", "assumed-role"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``arn`` is what GetCallerIdentity answers: ``arn:aws:iam::<account>:root``,
    ``arn:aws:iam::<account>:user/<path><name>`` or
    ``arn:aws:sts::<account>:assumed-role/<role name>/<session name>``.
    ``unique_id`` is GetCallerIdentity's ``UserId``: the account id for root, the user's
    ``AIDA…`` id, or ``<role id AROA…>:<session name>``. ``role_arn`` is the IAM role
    (``arn:aws:iam::<account>:role/<path><name>``) of an assumed-role principal.
    """

    arn: str
    account_id: str
    kind: PrincipalKind
    unique_id: str
    role_arn: str | None = None
    user_name: str | None = None
    session_name: str | None = None

    @classmethod
    def root(cls, account_id: str) -> Principal:
        return cls(f"arn:aws:iam::{account_id}:root", account_id, "root", account_id)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An access key the server knows the secret of, and whom it proves.

    ``session_token`` is set for temporary credentials (STS sessions, execution
    environments) and must then accompany every request signed with the key.
    ``expires_at`` is in epoch seconds (None: does not expire). An inactive key (an IAM
    user's key set ``Inactive``) is known but refused.
    """

    access_key_id: str
    secret_access_key: str
    principal: Principal
    session_token: str | None = None
    expires_at: float | None = None
    active: bool = True


class KeyBook(Protocol):
    """Access keys by id (None: the server never issued that key)."""

    def key(self, access_key_id: str) -> SigningKey | None: ...


class IdentityPolicies(Protocol):
    """The identity-based policies of a principal: the user's or the assumed role's inline
    policies and the default versions of its attached managed policies, parsed. Root has
    none (it is allowed everything in its account)."""

    def policies_of(self, principal: Principal) -> list[Mapping[str, Any]]: ...
