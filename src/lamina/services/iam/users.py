"""IAM users: create, read, list, rename, tag and delete (their access keys are in
``keys.py``; inline and attached policies in ``policies.py`` and ``attachments.py``)."""

from __future__ import annotations

from dataclasses import replace

from lamina.services.iam import ids, tags
from lamina.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    NoSuchEntity,
    no_such_user,
)
from lamina.services.iam.model import Tags, User
from lamina.services.iam.state import IamState, name_key
from lamina.store.iam_store import Change


class Users:
    def __init__(self, state: IamState) -> None:
        self.state = state

    def get(self, name: str) -> User:
        user = self.state.user(name)
        if user is None:
            raise no_such_user(name)
        return user

    def listing(self, path_prefix: str | None) -> list[User]:
        prefix = path_prefix or "/"
        found = [u for u in self.state.users.values() if u.path.startswith(prefix)]
        return sorted(found, key=lambda u: name_key(u.name))

    def _arn(self, path: str, name: str) -> str:
        return f"arn:aws:iam::{self.state.account_id}:user{path}{name}"

    async def create(
        self, name: str, path: str | None, *, boundary: str | None, tags_: Tags
    ) -> User:
        path = path or "/"
        if boundary is not None and self.state.policy(boundary) is None:
            raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")
        checked_tags = tags.merged((), tags_)
        async with self.state.lock:
            if self.state.user(name) is not None:
                raise EntityAlreadyExists(f"User with name {name} already exists.")
            user = User(
                name=name,
                path=path,
                user_id=ids.unique_id(ids.USER_PREFIX),
                arn=self._arn(path, name),
                created=self.state.clock(),
                boundary=boundary,
                tags=checked_tags,
            )
            await self._put(user)
        return user

    async def _put(self, user: User) -> None:
        def apply() -> None:
            self.state.users[name_key(user.name)] = user

        await self.state.commit([IamState.put_user(user)], apply)

    async def update(self, name: str, new_path: str | None, new_name: str | None) -> None:
        """Move and/or rename a user; its access keys follow it."""
        async with self.state.lock:
            user = self.get(name)
            target = new_name or user.name
            if name_key(target) != name_key(user.name) and self.state.user(target) is not None:
                raise EntityAlreadyExists(f"User with name {target} already exists.")
            path = new_path or user.path
            moved = replace(user, name=target, path=path, arn=self._arn(path, target))
            keys = [replace(k, user_name=target) for k in self.state.keys_of(user.name)]
            changes = [Change("iam_users", name_key(user.name), None), IamState.put_user(moved)]
            changes.extend(IamState.put_key(k) for k in keys)

            def apply() -> None:
                del self.state.users[name_key(user.name)]
                self.state.users[name_key(target)] = moved
                for key in keys:
                    self.state.keys[key.key_id] = key

            await self.state.commit(changes, apply)

    async def tag(self, name: str, added: Tags) -> None:
        async with self.state.lock:
            user = self.get(name)
            await self._put(replace(user, tags=tags.merged(user.tags, added)))

    async def untag(self, name: str, keys: list[str]) -> None:
        async with self.state.lock:
            user = self.get(name)
            await self._put(replace(user, tags=tags.without(user.tags, keys)))

    async def delete(self, name: str) -> None:
        async with self.state.lock:
            user = self.get(name)
            if self.state.keys_of(user.name):
                raise DeleteConflict("Cannot delete entity, must delete access keys first.")
            if user.attached:
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            if user.inline:
                raise DeleteConflict("Cannot delete entity, must delete policies first.")

            def apply() -> None:
                del self.state.users[name_key(user.name)]

            await self.state.commit([Change("iam_users", name_key(user.name), None)], apply)
