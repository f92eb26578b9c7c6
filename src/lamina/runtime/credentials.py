"""Execution-role credentials: issued to each execution environment, valid while it lives.

Every environment gets its own access key, secret and session token (the variables
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``). The server keeps
the live ones here, so the API edge can recognise a call made by a function, verify its
signature with the secret, and refuse the credentials once the environment is gone.

Keys Lamina issues start with ``ASIALAMINA`` (AWS's temporary-key shape, 20 characters):
a key with that prefix that is not live is a dead environment's, never a user's own key.

They are session credentials of the function's execution role, as on AWS: the registry is
a key book (``domain.identity.KeyBook``) whose principal for an environment's key is
``arn:aws:sts::<account>:assumed-role/<role name>/<function name>`` (AWS names the session
after the function), with ``UserId`` ``<role id>:<function name>``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from lamina.domain.identity import Principal, SigningKey

ISSUED_KEY_PREFIX = "ASIALAMINA"


@dataclass(frozen=True)
class EnvironmentCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    function_name: str
    role_arn: str
    log_group: str

    def as_environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def new_key_material() -> tuple[str, str, str]:
    """``(access key id, secret, session token)`` from one read of the system's random source."""
    raw = os.urandom(10 + 30 + 72)
    # Base32 is A-Z and 2-7: 10 bytes give 16 characters, of which the prefix keeps 10.
    key_id = ISSUED_KEY_PREFIX + base64.b32encode(raw[:10]).decode()[:10]
    secret = base64.urlsafe_b64encode(raw[10:40]).decode()
    token = base64.urlsafe_b64encode(raw[40:]).decode()
    return key_id, secret, token


def issued_by_lamina(access_key_id: str) -> bool:
    return access_key_id.startswith(ISSUED_KEY_PREFIX)


def stand_in_role_id(role_arn: str) -> str:
    """An ``AROA…`` id for a role IAM does not know (stable: derived from its ARN)."""
    digest = hashlib.sha256(role_arn.encode()).digest()
    return "AROA" + base64.b32encode(digest).decode()[:17]


def role_session_principal(
    role_arn: str, session_name: str, role_id: str, default_account: str
) -> Principal:
    """The principal of a session of ``role_arn`` named ``session_name``."""
    parts = role_arn.split(":", 5)
    account = parts[4] if len(parts) == 6 and parts[4] else default_account
    role_name = role_arn.rsplit("/", 1)[-1] or "lambda-role"
    return Principal(
        f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
        account,
        "assumed-role",
        f"{role_id}:{session_name}",
        role_arn=role_arn,
        session_name=session_name,
    )


RoleIds = Callable[[str], "str | None"]


class CredentialRegistry:
    """The credentials of live environments, by access key id; a key book of their
    role sessions. ``role_ids`` answers a role's ``AROA…`` id by ARN when IAM knows the
    role (set once IAM is wired)."""

    def __init__(self, account_id: str = "000000000000") -> None:
        self._live: dict[str, EnvironmentCredentials] = {}
        self._keys: dict[str, SigningKey] = {}
        self.account_id = account_id
        self.role_ids: RoleIds | None = None

    def issue(self, function_name: str, role_arn: str, log_group: str) -> EnvironmentCredentials:
        key_id, secret, token = new_key_material()
        while key_id in self._live:
            key_id, secret, token = new_key_material()
        credentials = EnvironmentCredentials(
            key_id, secret, token, function_name, role_arn, log_group
        )
        self._live[key_id] = credentials
        return credentials

    def key(self, access_key_id: str) -> SigningKey | None:
        """The environment's key as a session of its function's role (None: not live)."""
        found = self._keys.get(access_key_id)
        if found is not None:
            return found
        credentials = self._live.get(access_key_id)
        if credentials is None:
            return None
        role_id = self.role_ids(credentials.role_arn) if self.role_ids is not None else None
        principal = role_session_principal(
            credentials.role_arn,
            credentials.function_name,
            role_id or stand_in_role_id(credentials.role_arn),
            self.account_id,
        )
        found = SigningKey(
            access_key_id, credentials.secret_access_key, principal, credentials.session_token
        )
        self._keys[access_key_id] = found
        return found

    def revoke(self, access_key_id: str) -> None:
        self._live.pop(access_key_id, None)
        self._keys.pop(access_key_id, None)

    def lookup(self, access_key_id: str) -> EnvironmentCredentials | None:
        return self._live.get(access_key_id)

    def __len__(self) -> int:
        return len(self._live)
