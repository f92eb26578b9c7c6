"""Identifiers as API Gateway makes them: lower-case letters and digits."""

from __future__ import annotations

import secrets
import string
from collections.abc import Container

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int, taken: Container[str] = ()) -> str:
    """A fresh id of ``length`` characters not in ``taken``."""
    while True:
        value = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if value not in taken:
            return value
