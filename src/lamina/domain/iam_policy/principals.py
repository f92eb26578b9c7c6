"""The ``Principal`` / ``NotPrincipal`` element of resource policies, and who a caller is.

IAM User Guide, reference_policies_elements_principal:

- ``"*"`` and ``{"AWS": "*"}`` are everyone, anonymous callers included;
- ``{"AWS": "123456789012"}`` and ``{"AWS": "arn:aws:iam::123456789012:root"}`` are the whole
  account (every user, role session and the root user of it), not only its root user;
- a user ARN is that user; an assumed-role session ARN is that session;
- a role ARN is the role: a resource-based policy naming a role grants its sessions (the
  principal making the request with the role's temporary credentials), whose ARN is
  ``arn:aws:sts::<account>:assumed-role/<role name>/<session>``; role names are unique in an
  account whatever their path, so the session matches by account and role name;
- ``{"Service": "events.amazonaws.com"}`` is that service (names compared ignoring case);
- ``Federated`` and ``CanonicalUser`` name identities Lamina never authenticates: they match
  no caller;
- ``NotPrincipal`` exempts a caller only when it lists every link of the caller's chain:
  account, role and session, or account and user (reference_policies_elements_notprincipal).

Principal ARNs take no wildcards (only ``"*"`` alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain.identity import Principal

_ACCOUNT = re.compile(r"\d{12}", re.ASCII)
_IAM_ARN = re.compile(r"arn:[^:]+:(iam|sts)::(\d{12}):(.+)", re.ASCII | re.DOTALL)
_SESSION = re.compile(r"assumed-role/([^/]+)/.+", re.DOTALL)


def role_key_of(arn: str) -> tuple[str, str] | None:
    """(account, role name) of a role ARN or an assumed-role session ARN."""
    parsed = _IAM_ARN.fullmatch(arn)
    if parsed is None:
        return None
    service, account, resource = parsed.groups()
    if service == "iam" and resource.startswith("role/"):
        return account, resource.rsplit("/", 1)[-1]
    session = _SESSION.fullmatch(resource) if service == "sts" else None
    return (account, session.group(1)) if session else None


def principal_role_key(principal: Principal) -> tuple[str, str] | None:
    """The role a principal acts as (None for root and users)."""
    if principal.role_arn is not None:
        return role_key_of(principal.role_arn)
    return role_key_of(principal.arn)


def principal_role_arn(principal: Principal) -> str | None:
    """The IAM role ARN of an assumed-role principal (``aws:PrincipalArn``)."""
    if principal.kind != "assumed-role":
        return None
    if principal.role_arn is not None:
        return principal.role_arn
    key = role_key_of(principal.arn)
    return f"arn:aws:iam::{key[0]}:role/{key[1]}" if key else principal.arn


def _strings(raw: Any) -> tuple[str, ...] | None:
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) for item in items):
        return None
    return tuple(items)


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    """A compiled ``Principal`` element. ``valid`` False: malformed, matches nobody."""

    anyone: bool = False
    accounts: frozenset[str] = frozenset()
    arns: frozenset[str] = frozenset()
    roles: frozenset[tuple[str, str]] = frozenset()
    services: frozenset[str] = frozenset()
    valid: bool = True

    @classmethod
    def parse(cls, element: Any) -> PrincipalSet:
        if element == "*":
            return cls(anyone=True)
        if not isinstance(element, Mapping):
            return cls(valid=False)
        anyone = False
        accounts: set[str] = set()
        arns: set[str] = set()
        roles: set[tuple[str, str]] = set()
        services: set[str] = set()
        for kind, raw in element.items():
            values = _strings(raw)
            if values is None:
                return cls(valid=False)
            for value in values:
                if kind == "AWS":
                    anyone = anyone or value == "*"
                    _aws_value(value, accounts, arns, roles)
                elif kind == "Service":
                    services.add(value.lower())
                # Federated, CanonicalUser: no Lamina caller is one of them.
        return cls(
            anyone, frozenset(accounts), frozenset(arns), frozenset(roles), frozenset(services)
        )

    def matches(self, principal: Principal | None, service: str | None) -> bool:
        """Whether the element names the caller: ``principal`` (None: not an IAM identity),
        ``service`` (a service principal's name, or None)."""
        if not self.valid:
            return False
        if self.anyone:
            return True
        if service is not None:
            return service.lower() in self.services
        if principal is None:
            return False
        if principal.account_id in self.accounts or principal.arn in self.arns:
            return True
        if principal.kind == "assumed-role" and self.roles:
            return principal_role_key(principal) in self.roles
        return False

    def names_every_link(self, principal: Principal | None, service: str | None) -> bool:
        """``NotPrincipal``'s test: whether the element names each link of the caller's
        chain (the account; the role; the user or the role session), as AWS checks each of
        them (reference_policies_elements_notprincipal): a caller is exempt from a
        ``NotPrincipal`` statement only when all are listed."""
        if not self.valid:
            return False
        if self.anyone:
            return True
        if service is not None:
            return service.lower() in self.services
        if principal is None or principal.account_id not in self.accounts:
            return False
        if principal.kind == "root":
            return True
        if principal.kind == "user":
            return principal.arn in self.arns
        in_role = principal_role_key(principal) in self.roles
        return in_role and (principal.arn == principal.role_arn or principal.arn in self.arns)


def _aws_value(value: str, accounts: set[str], arns: set[str], roles: set[tuple[str, str]]) -> None:
    if _ACCOUNT.fullmatch(value):
        accounts.add(value)
        return
    parsed = _IAM_ARN.fullmatch(value)
    if parsed is None:
        return
    service, account, resource = parsed.groups()
    if service == "iam" and resource == "root":
        accounts.add(account)
        return
    arns.add(value)
    if service == "iam" and resource.startswith("role/"):
        roles.add((account, resource.rsplit("/", 1)[-1]))


def caller_of(principal: str) -> tuple[Principal | None, str | None]:
    """(IAM principal, service principal) a principal string names: ``"*"`` is an anonymous
    caller (None, None), an account id or ``:root`` ARN the account's root, a role ARN the
    role (acting as itself), a session, user ARN that identity, anything else a service."""
    if principal == "*":
        return None, None
    if _ACCOUNT.fullmatch(principal):
        return Principal.root(principal), None
    parsed = _IAM_ARN.fullmatch(principal)
    if parsed is None:
        return None, principal
    service, account, resource = parsed.groups()
    if service == "iam" and resource == "root":
        return Principal.root(account), None
    if service == "iam" and resource.startswith("role/"):
        return Principal(principal, account, "assumed-role", "", role_arn=principal), None
    if service == "sts":
        return Principal(principal, account, "assumed-role", ""), None
    return Principal(principal, account, "user", "", user_name=resource.rsplit("/", 1)[-1]), None
