"""IAM roles: create, read, list, update, tag and delete (inline and attached policies are
in ``policies.py`` and ``attachments.py``)."""

from __future__ import annotations

from dataclasses import replace

from lamina.services.iam import documents, ids, tags
from lamina.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    NoSuchEntity,
    no_such_role,
)
from lamina.services.iam.model import Role, Tags
from lamina.services.iam.state import IamState, name_key
from lamina.store.iam_store import Change

DEFAULT_MAX_SESSION = 3600


class Roles:
    def __init__(self, state: IamState) -> None:
        self.state = state

    def get(self, name: str) -> Role:
        role = self.state.role(name)
        if role is None:
            raise no_such_role(name)
        return role

    def by_arn(self, arn: str) -> Role | None:
        name = arn.rpartition("/")[2]
        role = self.state.role(name)
        return role if role is not None and role.arn == arn else None

    def listing(self, path_prefix: str | None) -> list[Role]:
        prefix = path_prefix or "/"
        found = [r for r in self.state.roles.values() if r.path.startswith(prefix)]
        return sorted(found, key=lambda r: name_key(r.name))

    async def create(
        self,
        name: str,
        path: str | None,
        trust_policy: str,
        *,
        description: str | None,
        max_session: int | None,
        boundary: str | None,
        tags_: Tags,
    ) -> Role:
        documents.check(trust_policy, "trust")
        self._check_boundary(boundary)
        path = path or "/"
        checked_tags = tags.merged((), tags_)
        async with self.state.lock:
            if self.state.role(name) is not None:
                raise EntityAlreadyExists(f"Role with name {name} already exists.")
            role = Role(
                name=name,
                path=path,
                role_id=ids.unique_id(ids.ROLE_PREFIX),
                arn=f"arn:aws:iam::{self.state.account_id}:role{path}{name}",
                created=self.state.clock(),
                trust_policy=trust_policy,
                description=description,
                max_session=max_session or DEFAULT_MAX_SESSION,
                boundary=boundary,
                tags=checked_tags,
            )
            await self._put(role)
        return role

    def _check_boundary(self, boundary: str | None) -> None:
        if boundary is not None and self.state.policy(boundary) is None:
            raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")

    async def _put(self, role: Role) -> None:
        def apply() -> None:
            self.state.roles[name_key(role.name)] = role

        await self.state.commit([IamState.put_role(role)], apply)

    async def update(self, name: str, *, description: str | None, max_session: int | None) -> Role:
        async with self.state.lock:
            role = self.get(name)
            if description is not None:
                role = replace(role, description=description)
            if max_session is not None:
                role = replace(role, max_session=max_session)
            await self._put(role)
        return role

    async def update_trust(self, name: str, document: str) -> None:
        async with self.state.lock:
            role = self.get(name)
            documents.check(document, "trust")
            await self._put(replace(role, trust_policy=document))

    async def tag(self, name: str, added: Tags) -> None:
        async with self.state.lock:
            role = self.get(name)
            await self._put(replace(role, tags=tags.merged(role.tags, added)))

    async def untag(self, name: str, keys: list[str]) -> None:
        async with self.state.lock:
            role = self.get(name)
            await self._put(replace(role, tags=tags.without(role.tags, keys)))

    async def delete(self, name: str) -> None:
        async with self.state.lock:
            role = self.get(name)
            if role.attached:
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            if role.inline:
                raise DeleteConflict("Cannot delete entity, must delete policies first.")

            def apply() -> None:
                del self.state.roles[name_key(role.name)]

            await self.state.commit([Change("iam_roles", name_key(role.name), None)], apply)
