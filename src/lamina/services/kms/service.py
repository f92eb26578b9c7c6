"""Lamina's KMS: symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), aliases,
Encrypt/Decrypt, data keys, enabling and disabling, and scheduled deletion.

Each request acts in the region of its signature and the server's account, as AWS's KMS
does. A key pending deletion is deleted (with its aliases) once its date has come.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from lamina.services.kms import ciphertext
from lamina.services.kms.errors import (
    AlreadyExistsException,
    IncorrectKeyException,
    KMSInvalidStateException,
    KmsValidationException,
    alias_not_found,
    disabled,
    key_not_found,
    pending_deletion,
)
from lamina.services.kms.keys import (
    ALIAS_PREFIX,
    DEFAULT_PENDING_WINDOW_DAYS,
    DISABLED,
    ENABLED,
    PENDING_DELETION,
    KmsAlias,
    KmsKey,
    alias_arn,
    key_arn,
    parse_key_ref,
)
from lamina.store.kms_store import SqliteKmsStore

DAY = 86400.0
PENDING_WINDOW_DAYS = (7, 30)
DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}
ALIAS_DOCS = "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"


@dataclass(frozen=True)
class Scope:
    """Where a request acts: its signature's region, the server's account."""

    region: str
    account: str


@dataclass(frozen=True)
class DataKey:
    plaintext: bytes
    ciphertext: bytes
    key: KmsKey


class KmsService:
    def __init__(self, store: SqliteKmsStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    def close(self) -> None:
        self.store.close()

    # --- keys -------------------------------------------------------------------------------

    def create_key(
        self, scope: Scope, description: str, tags: list[dict[str, str]] | None = None
    ) -> KmsKey:
        key = KmsKey(scope.region, scope.account, str(uuid.uuid4()), description, self._clock())
        self.store.add_key(key, os.urandom(32), list(tags or ()))
        return key

    def describe_key(self, scope: Scope, key_id: str) -> KmsKey:
        return self._resolve(scope, key_id)

    def list_keys(
        self, scope: Scope, limit: int, marker: str | None
    ) -> tuple[list[KmsKey], str | None]:
        self._delete_due()
        found = self.store.keys(scope.region, scope.account, marker, limit + 1)
        page = found[:limit]
        return page, (page[-1].key_id if len(found) > limit else None)

    def grantable_key(self, scope: Scope, arn: str) -> KmsKey:
        """The key a service configured with ``arn`` would be granted the use of (Lambda's
        ``KMSKeyArn``): KmsError as KMS's CreateGrant answers if there is none to grant."""
        return self._usable_state(self._resolve(scope, arn, aliases=False))

    def decrypting_key(self, scope: Scope, arn: str) -> KmsKey:
        """The key Lambda would decrypt a function's variables with (its ``KMSKeyArn``):
        KmsError as KMS's Decrypt answers when it cannot (missing, disabled, pending
        deletion)."""
        return self._enabled(self._resolve(scope, arn, aliases=False))

    def enable_key(self, scope: Scope, key_id: str) -> None:
        key = self._usable_state(self._resolve(scope, key_id, aliases=False))
        self.store.update_key(replace(key, state=ENABLED))

    def disable_key(self, scope: Scope, key_id: str) -> None:
        key = self._usable_state(self._resolve(scope, key_id, aliases=False))
        self.store.update_key(replace(key, state=DISABLED))

    def schedule_deletion(self, scope: Scope, key_id: str, days: int | None) -> KmsKey:
        window = DEFAULT_PENDING_WINDOW_DAYS if days is None else days
        low, high = PENDING_WINDOW_DAYS
        if not low <= window <= high:
            bound = (
                f"greater than or equal to {low}"
                if window < low
                else (f"less than or equal to {high}")
            )
            raise KmsValidationException(
                f"1 validation error detected: Value '{window}' at 'pendingWindowInDays'"
                f" failed to satisfy constraint: Member must have value {bound}"
            )
        key = self._usable_state(self._resolve(scope, key_id, aliases=False))
        scheduled = replace(
            key,
            state=PENDING_DELETION,
            deletion_date=self._clock() + window * DAY,
            pending_window_days=window,
        )
        self.store.update_key(scheduled)
        return scheduled

    def cancel_deletion(self, scope: Scope, key_id: str) -> KmsKey:
        key = self._resolve(scope, key_id, aliases=False)
        if key.state != PENDING_DELETION:
            raise KMSInvalidStateException(f"{key.arn} is not pending deletion.")
        # As on AWS, a key whose deletion is cancelled is disabled until enabled again.
        restored = replace(key, state=DISABLED, deletion_date=None, pending_window_days=None)
        self.store.update_key(restored)
        return restored

    # --- aliases ----------------------------------------------------------------------------

    def create_alias(self, scope: Scope, name: str, target: str) -> None:
        if not name.startswith(ALIAS_PREFIX):
            raise KmsValidationException(
                f'Alias must start with the prefix "{ALIAS_PREFIX}". Please see {ALIAS_DOCS}'
            )
        key = self._usable_state(self._resolve(scope, target, aliases=False))
        now = self._clock()
        alias = KmsAlias(scope.region, scope.account, name, key.key_id, now, now)
        if not self.store.add_alias(alias):
            raise AlreadyExistsException(
                f"An alias with the name {alias_arn(scope.region, scope.account, name)}"
                " already exists"
            )

    def delete_alias(self, scope: Scope, name: str) -> None:
        if not self.store.delete_alias(scope.region, scope.account, name):
            raise alias_not_found(alias_arn(scope.region, scope.account, name))

    def list_aliases(
        self, scope: Scope, key_id: str | None, limit: int, marker: str | None
    ) -> tuple[list[KmsAlias], str | None]:
        self._delete_due()
        target = None if key_id is None else self._resolve(scope, key_id, aliases=False).key_id
        found = self.store.aliases(scope.region, scope.account, target, marker, limit + 1)
        page = found[:limit]
        return page, (page[-1].name if len(found) > limit else None)

    # --- cryptography -----------------------------------------------------------------------

    def encrypt(
        self, scope: Scope, key_id: str, plaintext: bytes, context: Mapping[str, str] | None
    ) -> tuple[bytes, KmsKey]:
        key = self._enabled(self._resolve(scope, key_id))
        material = self.store.material(key)
        return ciphertext.encrypt(material, key.key_id, plaintext, context), key

    def decrypt(
        self,
        scope: Scope,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None = None,
    ) -> tuple[bytes, KmsKey]:
        """The plaintext of ``blob`` and the key that encrypted it. ``key_id``, if given,
        must name that key (IncorrectKeyException)."""
        blob_key = ciphertext.key_id_of(blob)
        if key_id is not None:
            named = self._resolve(scope, key_id)
            if named.key_id != blob_key:
                raise IncorrectKeyException()
        key = self._enabled(self._resolve(scope, blob_key))
        return ciphertext.decrypt(self.store.material(key), blob, context), key

    def generate_data_key(
        self,
        scope: Scope,
        key_id: str,
        number_of_bytes: int | None,
        key_spec: str | None,
        context: Mapping[str, str] | None,
    ) -> DataKey:
        if number_of_bytes is not None and key_spec is not None:
            raise KmsValidationException("'KeySpec' and 'NumberOfBytes' are mutually exclusive")
        if number_of_bytes is None and key_spec is None:
            raise KmsValidationException("Please specify either number of bytes or key spec.")
        size = number_of_bytes if number_of_bytes is not None else DATA_KEY_BYTES[str(key_spec)]
        plaintext = os.urandom(size)
        blob, key = self.encrypt(scope, key_id, plaintext, context)
        return DataKey(plaintext, blob, key)

    # --- lookups ----------------------------------------------------------------------------

    def _resolve(self, scope: Scope, text: str, *, aliases: bool = True) -> KmsKey:
        self._delete_due()
        ref = parse_key_ref(text, scope.region, scope.account, aliases=aliases)
        key_id = ref.value
        if ref.kind == "alias":
            alias = self.store.alias(scope.region, scope.account, ref.value)
            if alias is None:
                raise alias_not_found(alias_arn(scope.region, scope.account, ref.value))
            key_id = alias.key_id
        key = self.store.key(scope.region, scope.account, key_id)
        if key is None:
            raise key_not_found(key_arn(scope.region, scope.account, key_id))
        return key

    @staticmethod
    def _usable_state(key: KmsKey) -> KmsKey:
        if key.state == PENDING_DELETION:
            raise pending_deletion(key.arn)
        return key

    @staticmethod
    def _enabled(key: KmsKey) -> KmsKey:
        if key.state == PENDING_DELETION:
            raise pending_deletion(key.arn)
        if key.state != ENABLED:
            raise disabled(key.arn)
        return key

    def _delete_due(self) -> None:
        self.store.delete_expired(self._clock())
