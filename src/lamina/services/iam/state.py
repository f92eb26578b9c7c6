"""IAM's state in memory, kept in step with its store.

Reads are served from here. A change is written first (one transaction) and applied to
memory only once committed, under one lock, so concurrent requests see each change whole
and a failed write changes nothing. ``generation`` counts changes: caches of derived data
(the identity policies of a principal, the key index) compare it or listen for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from lamina.services.iam.aws_managed import AWS_MANAGED
from lamina.services.iam.model import AccessKey, ManagedPolicy, Role, User
from lamina.store.iam_store import Change, SqliteIamStore


def name_key(name: str) -> str:
    """IAM names are unique whatever their case."""
    return name.lower()


class IamState:
    def __init__(
        self, store: SqliteIamStore, account_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.clock = clock
        self.roles: dict[str, Role] = {}
        self.users: dict[str, User] = {}
        self.keys: dict[str, AccessKey] = {}
        self.policies: dict[str, ManagedPolicy] = {}  # the account's own, by ARN
        self.lock = asyncio.Lock()
        self.generation = 0
        self._listeners: list[Callable[[], None]] = []

    def load(self) -> None:
        """Read the store (at start, off the event loop)."""
        stored = self.store.load().rows
        self.roles = {name_key(r.name): r for r in map(Role.from_doc, stored["iam_roles"])}
        self.users = {name_key(u.name): u for u in map(User.from_doc, stored["iam_users"])}
        self.keys = {k.key_id: k for k in map(AccessKey.from_doc, stored["iam_access_keys"])}
        self.policies = {p.arn: p for p in map(ManagedPolicy.from_doc, stored["iam_policies"])}
        self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every applied change (on the event loop)."""
        self._listeners.append(listener)

    async def commit(self, changes: Sequence[Change], apply: Callable[[], None]) -> None:
        """Write ``changes``, then ``apply`` them to memory. Call with ``lock`` held."""
        await self.store.write(changes)
        apply()
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        for listener in self._listeners:
            listener()

    # --- lookups ------------------------------------------------------------------------

    def role(self, name: str) -> Role | None:
        return self.roles.get(name_key(name))

    def user(self, name: str) -> User | None:
        return self.users.get(name_key(name))

    def policy(self, arn: str) -> ManagedPolicy | None:
        """An AWS managed policy or one of the account's."""
        return AWS_MANAGED.get(arn) or self.policies.get(arn)

    def all_policies(self) -> list[ManagedPolicy]:
        return [*AWS_MANAGED.values(), *self.policies.values()]

    def attached_to(self, arn: str) -> tuple[list[Role], list[User]]:
        roles = [r for r in self.roles.values() if arn in r.attached]
        users = [u for u in self.users.values() if arn in u.attached]
        return roles, users

    def attachment_count(self, arn: str) -> int:
        roles, users = self.attached_to(arn)
        return len(roles) + len(users)

    def keys_of(self, user_name: str) -> list[AccessKey]:
        key = name_key(user_name)
        return sorted(
            (k for k in self.keys.values() if name_key(k.user_name) == key),
            key=lambda k: k.created,
        )

    # --- changes, as store rows ---------------------------------------------------------

    @staticmethod
    def put_role(role: Role) -> Change:
        return Change("iam_roles", name_key(role.name), role.to_doc())

    @staticmethod
    def put_user(user: User) -> Change:
        return Change("iam_users", name_key(user.name), user.to_doc())

    @staticmethod
    def put_key(key: AccessKey) -> Change:
        return Change("iam_access_keys", key.key_id, key.to_doc())

    @staticmethod
    def put_policy(policy: ManagedPolicy) -> Change:
        return Change("iam_policies", policy.arn, policy.to_doc())
