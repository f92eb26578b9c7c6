"""EventBridge's list pagination: ``Limit`` items per page and an opaque ``NextToken``
(the last name returned), over items sorted by name."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from lamina.services.events.errors import EventsValidationException

T = TypeVar("T")

MAX_LIMIT: Final = 100
INVALID_TOKEN: Final = "The nextToken provided is invalid."


def page(
    items: Sequence[T], name: Callable[[T], str], limit: int | None, token: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``name``) after ``token``; the next token or None."""
    if limit is not None and limit < 1:
        raise EventsValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1"
        )
    size = min(limit or MAX_LIMIT, MAX_LIMIT)
    start = 0
    if token:
        after = _decode(token)
        start = len(items)
        for position, item in enumerate(items):
            if name(item) > after:
                start = position
                break
    chosen = list(items[start : start + size])
    more = start + size < len(items)
    return chosen, _encode(name(chosen[-1])) if more and chosen else None


def _encode(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise EventsValidationException(INVALID_TOKEN) from None
