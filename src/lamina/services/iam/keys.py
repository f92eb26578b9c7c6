"""IAM users' access keys: at most two per user, ``Active`` or ``Inactive``."""

from __future__ import annotations

from dataclasses import replace

from lamina.services.iam import ids
from lamina.services.iam.errors import LimitExceeded, NoSuchEntity, no_such_user
from lamina.services.iam.model import AccessKey
from lamina.services.iam.state import IamState, name_key
from lamina.store.iam_store import Change

MAX_KEYS_PER_USER = 2


def no_such_key(key_id: str) -> NoSuchEntity:
    return NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")


class AccessKeys:
    def __init__(self, state: IamState) -> None:
        self.state = state

    def _user_name(self, user_name: str) -> str:
        user = self.state.user(user_name)
        if user is None:
            raise no_such_user(user_name)
        return user.name

    def of(self, user_name: str) -> list[AccessKey]:
        return self.state.keys_of(self._user_name(user_name))

    def key(self, key_id: str, user_name: str | None = None) -> AccessKey:
        """A key by id (of ``user_name``, when given)."""
        if user_name is not None:
            self._user_name(user_name)
        key = self.state.keys.get(key_id)
        if key is None or (
            user_name is not None and name_key(key.user_name) != name_key(user_name)
        ):
            raise no_such_key(key_id)
        return key

    async def create(self, user_name: str) -> AccessKey:
        async with self.state.lock:
            name = self._user_name(user_name)
            if len(self.state.keys_of(name)) >= MAX_KEYS_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
                )
            key = AccessKey(ids.access_key_id(), ids.secret_access_key(), name, self.state.clock())
            await self._put(key)
        return key

    async def _put(self, key: AccessKey) -> None:
        def apply() -> None:
            self.state.keys[key.key_id] = key

        await self.state.commit([IamState.put_key(key)], apply)

    async def set_active(self, user_name: str, key_id: str, active: bool) -> None:
        async with self.state.lock:
            key = self.key(key_id, user_name)
            await self._put(replace(key, active=active))

    async def delete(self, user_name: str, key_id: str) -> None:
        async with self.state.lock:
            key = self.key(key_id, user_name)

            def apply() -> None:
                del self.state.keys[key.key_id]

            await self.state.commit([Change("iam_access_keys", key.key_id, None)], apply)
