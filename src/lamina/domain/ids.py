"""Random identifiers: request ids, message ids."""

from __future__ import annotations

import os


def new_uuid() -> str:
    """A random (version 4) UUID in its canonical lowercase form, as ``str(uuid.uuid4())``
    writes it, at half its cost (one is drawn per request, and per message sent)."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"
