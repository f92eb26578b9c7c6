"""One key book over its parts (``domain.identity.KeyBook``): the root key, IAM users' keys,
STS sessions and execution environments' credentials, asked in order."""

from __future__ import annotations

from collections.abc import Iterable

from lamina.domain.identity import KeyBook, SigningKey


class KeyBooks:
    """The first part that knows a key answers; parts may be added as services appear."""

    def __init__(self, parts: Iterable[KeyBook] = ()) -> None:
        self._parts: list[KeyBook] = list(parts)

    def add(self, part: KeyBook) -> None:
        self._parts.append(part)

    def key(self, access_key_id: str) -> SigningKey | None:
        for part in self._parts:
            found = part.key(access_key_id)
            if found is not None:
                return found
        return None


class StaticKeys:
    """A fixed list of keys (the root key; tests)."""

    def __init__(self, keys: Iterable[SigningKey] = ()) -> None:
        self._keys = {key.access_key_id: key for key in keys}

    def key(self, access_key_id: str) -> SigningKey | None:
        return self._keys.get(access_key_id)
