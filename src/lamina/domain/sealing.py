"""Secrets at rest: AES-256-GCM envelopes under a master key kept outside the databases.

A sealed value is ``format byte || wrapped data key || nonce || ciphertext and tag``: a fresh
256-bit data key encrypts each value (AES-256-GCM, random 96-bit nonce) and the master key
wraps that data key (AES-256-GCM, its own nonce). Both encryptions authenticate ``context``,
what the value is (the function version it configures, the KMS key it is the material of):
a sealed value copied to another row does not open there. A database without the master
key holds nothing but these envelopes. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_FORMAT = b"\x01"
_WRAPPED_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES
_SMALLEST = len(_FORMAT) + _WRAPPED_BYTES + NONCE_BYTES + TAG_BYTES
_WRAP_LABEL = b"lamina data key\x00"
_FINGERPRINT_LABEL = b"lamina master key fingerprint"


class SealBroken(Exception):
    """A sealed value that does not open: another master key, another context, or damage."""


class MasterKey:
    """The 256-bit key that wraps every data key. Its text form is base64; its fingerprint
    (an HMAC of a fixed label, which tells nothing about the key) names it in messages and
    in the databases it sealed."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise ValueError(f"a master key is {KEY_BYTES} bytes, not {len(material)}")
        self._material = bytes(material)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def parse(cls, text: str) -> MasterKey:
        """A key from its base64 text (standard or URL-safe alphabet); ValueError otherwise."""
        cleaned = text.strip()
        try:
            material = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"not base64: a master key is the base64 of {KEY_BYTES} random bytes"
                " (e.g. `openssl rand -base64 32`)"
            ) from None
        if len(material) != KEY_BYTES:
            raise ValueError(
                f"{len(material)} bytes: a master key is the base64 of {KEY_BYTES} random bytes"
                " (e.g. `openssl rand -base64 32`)"
            )
        return cls(material)

    def text(self) -> str:
        return base64.b64encode(self._material).decode("ascii")

    def fingerprint(self) -> str:
        digest = hmac.new(self._material, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
        return digest[:16]

    def aead(self) -> AESGCM:
        return AESGCM(self._material)

    def __repr__(self) -> str:  # never the material
        return f"MasterKey(fingerprint={self.fingerprint()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return hash(self.fingerprint())


class Sealer:
    """Seals and opens values under one master key."""

    def __init__(self, key: MasterKey) -> None:
        self._master = key.aead()
        self.fingerprint = key.fingerprint()

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = wrap_nonce + self._master.encrypt(wrap_nonce, data_key, _WRAP_LABEL + context)
        nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(data_key).encrypt(nonce, plaintext, context)
        return _FORMAT + wrapped + nonce + body

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The plaintext; ``SealBroken`` if ``sealed`` is not a value this key sealed for
        this ``context``."""
        if len(sealed) < _SMALLEST or sealed[:1] != _FORMAT:
            raise SealBroken("not a sealed value")
        wrapped = sealed[1 : 1 + _WRAPPED_BYTES]
        rest = sealed[1 + _WRAPPED_BYTES :]
        try:
            data_key = self._master.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _WRAP_LABEL + context
            )
            return AESGCM(data_key).decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], context)
        except InvalidTag:
            raise SealBroken("the value does not open with this key and context") from None

    def seal_text(self, plaintext: str, context: str) -> str:
        """``seal`` for JSON records: UTF-8 in, base64 text out."""
        sealed = self.seal(plaintext.encode("utf-8"), context.encode("utf-8"))
        return base64.b64encode(sealed).decode("ascii")

    def open_text(self, sealed: str, context: str) -> str:
        try:
            raw = base64.b64decode(sealed, validate=True)
        except (binascii.Error, ValueError):
            raise SealBroken("not a sealed value") from None
        return self.open(raw, context.encode("utf-8")).decode("utf-8")
