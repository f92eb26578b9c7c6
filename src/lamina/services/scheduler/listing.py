"""Pagination of Scheduler's List operations: a page of names after an opaque token."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from typing import TypeVar

from lamina.services.scheduler.errors import SchedulerValidationException

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 100


def page(
    items: Iterable[T],
    sort_key: Callable[[T], list[str]],
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[T], str | None]:
    """The items after ``next_token`` in ``sort_key`` order, at most ``max_results`` (100 by
    default), and the token of the next page (None: this is the last)."""
    after = _decode(next_token) if next_token else None
    ordered = sorted(items, key=sort_key)
    if after is not None:
        ordered = [item for item in ordered if sort_key(item) > after]
    size = max_results or DEFAULT_PAGE_SIZE
    chosen = ordered[:size]
    if len(ordered) > size:
        return chosen, _encode(sort_key(chosen[-1]))
    return chosen, None


def _encode(key: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode(token: str) -> list[str]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or not all(isinstance(part, str) for part in key):
        raise SchedulerValidationException("Invalid NextToken.")
    return key
