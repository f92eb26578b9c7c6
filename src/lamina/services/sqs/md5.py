"""The MD5 digests SQS returns with messages (clients verify them: the Java and .NET SDKs do).

- ``MD5OfMessageBody``/``MD5OfBody``: the hex MD5 of the body's UTF-8 bytes.
- ``MD5OfMessageAttributes`` (and ``MD5OfMessageSystemAttributes``): attributes sorted by
  name; for each, the name, the data type, a transport byte (1: string and number values,
  2: binary values) and the value, where names, types and values are each preceded by their
  length as a 4-byte big-endian integer. Attributes of no value contribute nothing.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

from lamina.store.sqs_records import StoredAttribute

_STRING_TRANSPORT = b"\x01"
_BINARY_TRANSPORT = b"\x02"


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_attributes(attributes: Mapping[str, StoredAttribute]) -> str | None:
    """The digest of message (or system) attributes; None when there are none."""
    if not attributes:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        data_type, string_value, binary_value = attributes[name]
        digest.update(_field(name.encode("utf-8")))
        digest.update(_field(data_type.encode("utf-8")))
        if string_value is not None:
            digest.update(_STRING_TRANSPORT + _field(string_value.encode("utf-8")))
        elif binary_value is not None:
            digest.update(_BINARY_TRANSPORT + _field(binary_value))
    return digest.hexdigest()
