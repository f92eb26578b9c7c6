"""Execution-role credentials: issued to each execution environment, valid while it lives.

Every environment gets its own access key, secret and session token (the variables
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``). The server keeps
the live ones here, so the API edge can recognise a call made by a function, verify its
signature with the secret, and refuse the credentials once the environment is gone.

Keys Lamina issues start with ``ASIALAMINA`` (AWS's temporary-key shape, 20 characters):
a key with that prefix that is not live is a dead environment's, never a user's own key.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

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


class CredentialRegistry:
    """The credentials of live environments, by access key id."""

    def __init__(self) -> None:
        self._live: dict[str, EnvironmentCredentials] = {}

    def issue(self, function_name: str, role_arn: str, log_group: str) -> EnvironmentCredentials:
        key_id, secret, token = new_key_material()
        while key_id in self._live:
            key_id, secret, token = new_key_material()
        credentials = EnvironmentCredentials(
            key_id, secret, token, function_name, role_arn, log_group
        )
        self._live[key_id] = credentials
        return credentials

    def revoke(self, access_key_id: str) -> None:
        self._live.pop(access_key_id, None)

    def lookup(self, access_key_id: str) -> EnvironmentCredentials | None:
        return self._live.get(access_key_id)

    def __len__(self) -> int:
        return len(self._live)
