"""Receipt handles: which receive of which message a handle names.

A handle is ``AQEB`` (as AWS's start) followed by the URL-safe base64 of
``<message id>|<receive token>``; every receive draws a new random token, stored with the
message, so a handle from an earlier receive is recognisably stale. A string that does not
decode this way is not a receipt handle at all (``ReceiptHandleIsInvalid``).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from lamina.domain.sqs.errors import ReceiptHandleIsInvalid

_PREFIX = "AQEB"


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    token: str


def new_token() -> str:
    return secrets.token_hex(8)


def encode(message_id: str, token: str) -> str:
    raw = f"{message_id}|{token}".encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def invalid_handle(handle: str) -> ReceiptHandleIsInvalid:
    return ReceiptHandleIsInvalid(
        f'The input receipt handle "{handle}" is not a valid receipt handle.'
    )


def decode(handle: str) -> Receipt:
    """The receive a handle names; ``ReceiptHandleIsInvalid`` when it names none."""
    if not handle.startswith(_PREFIX) or len(handle) > 1024:
        raise invalid_handle(handle)
    try:
        raw = base64.urlsafe_b64decode(handle[len(_PREFIX) :].encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid_handle(handle) from None
    message_id, sep, token = raw.partition("|")
    if not sep or len(message_id) != 36 or not token:
        raise invalid_handle(handle)
    return Receipt(message_id, token)
