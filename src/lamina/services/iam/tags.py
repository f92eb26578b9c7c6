"""Tags of roles and users: at most 50, keys unique whatever their case."""

from __future__ import annotations

from collections.abc import Iterable

from lamina.services.iam.errors import InvalidInput, LimitExceeded
from lamina.services.iam.model import Tags

MAX_TAGS = 50


def merged(current: Tags, added: Iterable[tuple[str, str]]) -> Tags:
    """``current`` with ``added`` put in (a key already there, in any case, is replaced)."""
    new = list(added)
    seen: set[str] = set()
    for key, _ in new:
        if key.lower() in seen:
            raise InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
    kept = [(k, v) for k, v in current if k.lower() not in seen]
    result = tuple(kept + new)
    if len(result) > MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return result


def without(current: Tags, keys: Iterable[str]) -> Tags:
    removed = {key.lower() for key in keys}
    return tuple((k, v) for k, v in current if k.lower() not in removed)
