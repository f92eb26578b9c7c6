"""KMS ciphertext blobs: ``format byte || key id || nonce || AES-256-GCM ciphertext and tag``.

The blob names the key that encrypted it, so Decrypt needs no ``KeyId``; the encryption
context (and the key id) are authenticated data, so a blob decrypts only with the exact
context it was encrypted with (case-sensitive, any order), as on AWS. Pure: no I/O.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lamina.services.kms.errors import InvalidCiphertextException
from lamina.services.kms.keys import KEY_ID

_FORMAT = b"\x01"
_KEY_ID_BYTES = 36
_NONCE_BYTES = 12
_TAG_BYTES = 16


def _aad(key_id: str, context: Mapping[str, str] | None) -> bytes:
    canonical = json.dumps(sorted((context or {}).items()), separators=(",", ":"))
    return key_id.encode("ascii") + b"\x00" + canonical.encode("utf-8")


def encrypt(
    material: bytes, key_id: str, plaintext: bytes, context: Mapping[str, str] | None
) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    body = AESGCM(material).encrypt(nonce, plaintext, _aad(key_id, context))
    return _FORMAT + key_id.encode("ascii") + nonce + body


def key_id_of(blob: bytes) -> str:
    """The id of the key that encrypted ``blob`` (InvalidCiphertextException if ``blob`` is
    not a ciphertext of Lamina's KMS)."""
    if len(blob) < 1 + _KEY_ID_BYTES + _NONCE_BYTES + _TAG_BYTES or blob[:1] != _FORMAT:
        raise InvalidCiphertextException()
    key_id = blob[1 : 1 + _KEY_ID_BYTES].decode("ascii", errors="replace")
    if not KEY_ID.fullmatch(key_id):
        raise InvalidCiphertextException()
    return key_id


def decrypt(material: bytes, blob: bytes, context: Mapping[str, str] | None) -> bytes:
    key_id = key_id_of(blob)
    start = 1 + _KEY_ID_BYTES
    nonce, body = blob[start : start + _NONCE_BYTES], blob[start + _NONCE_BYTES :]
    try:
        return AESGCM(material).decrypt(nonce, body, _aad(key_id, context))
    except InvalidTag:
        raise InvalidCiphertextException() from None
