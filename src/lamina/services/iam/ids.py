"""IAM's identifiers: unique ids with their kind's prefix (``AROA`` roles, ``AIDA`` users,
``ANPA`` policies, ``AKIA`` access keys) and 40-character secret access keys."""

from __future__ import annotations

import secrets
import string

_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

ROLE_PREFIX = "AROA"
USER_PREFIX = "AIDA"
POLICY_PREFIX = "ANPA"
ACCESS_KEY_PREFIX = "AKIA"


def unique_id(prefix: str) -> str:
    """A role, user or policy id: the prefix and 17 more characters (21 in all, as AWS's)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def access_key_id() -> str:
    """An ``AKIA…`` key id of 20 characters."""
    return ACCESS_KEY_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
