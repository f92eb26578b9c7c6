"""IAM's ``Marker``/``MaxItems`` paging over a listing sorted by a key: the marker is the
next item's key, opaque to clients (base64)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from lamina.services.iam.errors import ValidationError

T = TypeVar("T")
DEFAULT_MAX_ITEMS = 100


def page(
    items: Sequence[T], key: Callable[[T], str], marker: str | None, max_items: int | None
) -> tuple[list[T], str | None]:
    """Items from ``marker`` on, at most ``max_items`` (100 by default), and the marker of
    the next page (None: this is the last)."""
    start = 0
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            raise ValidationError("Invalid Marker.") from None
        while start < len(items) and key(items[start]) < after:
            start += 1
    limit = max_items or DEFAULT_MAX_ITEMS
    chunk = list(items[start : start + limit])
    if start + limit < len(items):
        following = key(items[start + limit])
        return chunk, base64.urlsafe_b64encode(following.encode("utf-8")).decode("ascii")
    return chunk, None


def listing(out: dict[str, object], marker: str | None) -> dict[str, object]:
    """A listing's ``IsTruncated`` and ``Marker`` members."""
    out["IsTruncated"] = marker is not None
    if marker is not None:
        out["Marker"] = marker
    return out
