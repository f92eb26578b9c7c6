"""STS session credentials: issued by AssumeRole and GetSessionToken, stored durably
(``store.sts_store``), and known to the edge's key book until well after they expire (the
edge answers ``ExpiredToken`` for them, ``api.access``)."""

from __future__ import annotations

import asyncio
import time

from lamina.domain.identity import Principal, SigningKey
from lamina.runtime.credentials import new_key_material
from lamina.store.sts_store import EXPIRED_KEPT_SECONDS, SqliteStsStore


class SessionBook:
    """A key book of STS sessions, in memory, written through to the store."""

    def __init__(self, store: SqliteStsStore) -> None:
        self._store = store
        store.drop_expired(time.time() - EXPIRED_KEPT_SECONDS)
        self._keys = {key.access_key_id: key for key in store.all()}

    def key(self, access_key_id: str) -> SigningKey | None:
        return self._keys.get(access_key_id)

    async def issue(self, principal: Principal, duration_seconds: int) -> SigningKey:
        """New credentials of ``principal``, valid for ``duration_seconds`` (durable when
        this returns)."""
        key_id, secret, token = new_key_material()
        while key_id in self._keys:
            key_id, secret, token = new_key_material()
        key = SigningKey(key_id, secret, principal, token, time.time() + duration_seconds)
        await asyncio.to_thread(self._store.put, key)
        self._keys[key_id] = key
        return key

    def close(self) -> None:
        self._store.close()
