"""KMS keys and aliases as values, and how requests name them (a key id, a key ARN, an alias
name or an alias ARN). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from lamina.services.kms.errors import NotFoundException, invalid_key_id, key_not_found

ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
DEFAULT_PENDING_WINDOW_DAYS = 30
ALIAS_PREFIX = "alias/"
# A key id: a UUID, or a multi-Region key's ``mrk-`` and 32 hex digits (both 36 characters).
KEY_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}"
)


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class KmsKey:
    """A symmetric encryption key (its material is the store's, sealed)."""

    region: str
    account: str
    key_id: str
    description: str
    created: float
    state: str = ENABLED
    deletion_date: float | None = None
    pending_window_days: int | None = None

    @property
    def arn(self) -> str:
        return key_arn(self.region, self.account, self.key_id)

    def metadata(self) -> dict[str, Any]:
        """``KeyMetadata`` as KMS answers it for a symmetric encryption key."""
        out: dict[str, Any] = {
            "AWSAccountId": self.account,
            "KeyId": self.key_id,
            "Arn": self.arn,
            "CreationDate": _time(self.created),
            "Enabled": self.state == ENABLED,
            "Description": self.description,
            "KeyUsage": ENCRYPT_DECRYPT,
            "KeyState": self.state,
        }
        if self.deletion_date is not None:
            out["DeletionDate"] = _time(self.deletion_date)
        out.update(
            {
                "Origin": "AWS_KMS",
                "KeyManager": "CUSTOMER",
                "CustomerMasterKeySpec": SYMMETRIC_DEFAULT,
                "KeySpec": SYMMETRIC_DEFAULT,
                "EncryptionAlgorithms": [SYMMETRIC_DEFAULT],
                "MultiRegion": False,
            }
        )
        if self.pending_window_days is not None:
            out["PendingDeletionWindowInDays"] = self.pending_window_days
        return out


@dataclass(frozen=True)
class KmsAlias:
    region: str
    account: str
    name: str  # ``alias/...``
    key_id: str
    created: float
    updated: float

    def to_wire(self) -> dict[str, Any]:
        return {
            "AliasName": self.name,
            "AliasArn": alias_arn(self.region, self.account, self.name),
            "TargetKeyId": self.key_id,
            "CreationDate": _time(self.created),
            "LastUpdatedDate": _time(self.updated),
        }


@dataclass(frozen=True)
class KeyRef:
    """What a request's ``KeyId`` names: a key (by id) or an alias (by name)."""

    kind: Literal["key", "alias"]
    value: str


def parse_key_ref(text: str, region: str, account: str, *, aliases: bool = True) -> KeyRef:
    """The key or alias ``text`` names in ``region`` of ``account`` (NotFoundException with
    KMS's wording for what names nothing there). ``aliases``: whether the operation takes
    an alias (operations on the key itself, such as ScheduleKeyDeletion, do not)."""
    ref = _parse(text, region, account)
    if ref.kind == "alias" and not aliases:
        raise invalid_key_id(text)
    return ref


def _parse(text: str, region: str, account: str) -> KeyRef:
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[2] != "kms":
            raise invalid_key_id(text)
        if parts[3] != region:
            raise NotFoundException(f"Invalid arn {parts[3]}")
        resource = parts[5]
        if resource.startswith(ALIAS_PREFIX):
            return KeyRef("alias", resource)
        key_id = resource.removeprefix("key/")
        if resource == key_id or not KEY_ID.fullmatch(key_id):
            raise invalid_key_id(text)
        if parts[4] != account:
            raise key_not_found(text)
        return KeyRef("key", key_id)
    if text.startswith(ALIAS_PREFIX):
        return KeyRef("alias", text)
    if KEY_ID.fullmatch(text):
        return KeyRef("key", text)
    raise invalid_key_id(text)
