"""The policies of roles and users: managed policies attached (at most 10 each) and inline
policies (a name and a document, kept in the role's or user's record)."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from lamina.services.iam import documents
from lamina.services.iam.arns import policy_arn
from lamina.services.iam.errors import (
    LimitExceeded,
    NoSuchEntity,
    no_such_role,
    no_such_user,
    not_attachable,
)
from lamina.services.iam.model import ManagedPolicy, Role, User
from lamina.services.iam.state import IamState, name_key

Kind = Literal["role", "user"]
Entity = Role | User
MAX_ATTACHED = 10


class Attachments:
    def __init__(self, state: IamState) -> None:
        self.state = state

    def entity(self, kind: Kind, name: str) -> Entity:
        if kind == "role":
            role = self.state.role(name)
            if role is None:
                raise no_such_role(name)
            return role
        user = self.state.user(name)
        if user is None:
            raise no_such_user(name)
        return user

    async def _put(self, entity: Entity) -> None:
        if isinstance(entity, Role):
            role = entity

            def apply_role() -> None:
                self.state.roles[name_key(role.name)] = role

            await self.state.commit([IamState.put_role(role)], apply_role)
        else:
            user = entity

            def apply_user() -> None:
                self.state.users[name_key(user.name)] = user

            await self.state.commit([IamState.put_user(user)], apply_user)

    # --- managed ------------------------------------------------------------------------

    async def attach(self, kind: Kind, name: str, arn: str) -> None:
        policy_arn(arn)
        async with self.state.lock:
            entity = self.entity(kind, name)
            if self.state.policy(arn) is None:
                raise not_attachable(arn)
            if arn in entity.attached:
                return
            if len(entity.attached) >= MAX_ATTACHED:
                quota = "PoliciesPerRole" if kind == "role" else "PoliciesPerUser"
                raise LimitExceeded(f"Cannot exceed quota for {quota}: {MAX_ATTACHED}")
            await self._put(replace(entity, attached=(*entity.attached, arn)))

    async def detach(self, kind: Kind, name: str, arn: str) -> None:
        policy_arn(arn)
        async with self.state.lock:
            entity = self.entity(kind, name)
            if arn not in entity.attached:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            kept = tuple(a for a in entity.attached if a != arn)
            await self._put(replace(entity, attached=kept))

    def attached(self, kind: Kind, name: str, path_prefix: str | None) -> list[ManagedPolicy]:
        entity = self.entity(kind, name)
        prefix = path_prefix or "/"
        found = [self.state.policy(arn) for arn in entity.attached]
        return [p for p in found if p is not None and p.path.startswith(prefix)]

    # --- inline -------------------------------------------------------------------------

    async def put_inline(self, kind: Kind, name: str, policy_name: str, document: str) -> None:
        async with self.state.lock:
            entity = self.entity(kind, name)
            documents.check(document, inline_of=(kind, entity.name))
            inline = dict(entity.inline)
            inline[policy_name] = document
            await self._put(replace(entity, inline=inline))

    def inline(self, kind: Kind, name: str, policy_name: str) -> tuple[Entity, str]:
        entity = self.entity(kind, name)
        document = entity.inline.get(policy_name)
        if document is None:
            raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")
        return entity, document

    async def delete_inline(self, kind: Kind, name: str, policy_name: str) -> None:
        async with self.state.lock:
            entity, _ = self.inline(kind, name, policy_name)
            inline = {k: v for k, v in entity.inline.items() if k != policy_name}
            await self._put(replace(entity, inline=inline))

    def inline_names(self, kind: Kind, name: str) -> list[str]:
        return sorted(self.entity(kind, name).inline, key=str.lower)
