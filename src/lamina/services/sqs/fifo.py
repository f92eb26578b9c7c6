"""FIFO queues' memory: deduplication ids (five minutes) and receive request attempts.

Deduplication: a message whose deduplication id (explicit, or the SHA-256 of its body with
content-based deduplication) was sent in the last five minutes is accepted but not stored
again; SendMessage answers with the first message's id. The scope is the queue, or the
message group with ``DeduplicationScope=messageGroup``.

Receive request attempts: a FIFO ReceiveMessage retried with the same
``ReceiveRequestAttemptId`` within five minutes gets the same messages and receipt handles,
as long as they are still in flight under that receive.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

DEDUP_WINDOW_MS = 5 * 60 * 1000
ATTEMPT_WINDOW_MS = 5 * 60 * 1000
# Bounds per queue (oldest forgotten first).
MAX_DEDUP_IDS = 100_000
MAX_ATTEMPTS = 1_000


def content_dedup_id(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def dedup_scope(deduplication_scope: str, group_id: str | None) -> str:
    """The key deduplication ids are unique within ("" for the whole queue)."""
    if deduplication_scope == "messageGroup":
        return group_id or ""
    return ""


@dataclass(frozen=True, slots=True)
class Deduplicated:
    message_id: str
    seq: int
    expires_ms: int


class DedupCache:
    """One queue's deduplication ids still in their five minutes."""

    def __init__(self) -> None:
        self._ids: OrderedDict[tuple[str, str], Deduplicated] = OrderedDict()

    def get(self, scope: str, dedup_id: str, now_ms: int) -> Deduplicated | None:
        found = self._ids.get((scope, dedup_id))
        if found is None or found.expires_ms <= now_ms:
            return None
        return found

    def put(self, scope: str, dedup_id: str, entry: Deduplicated) -> None:
        key = (scope, dedup_id)
        self._ids.pop(key, None)
        self._ids[key] = entry
        while len(self._ids) > MAX_DEDUP_IDS:
            self._ids.popitem(last=False)

    def discard(self, scope: str, dedup_id: str) -> None:
        self._ids.pop((scope, dedup_id), None)

    def expire(self, now_ms: int) -> int:
        """Forget the ids past their window; returns how many."""
        count = 0
        while self._ids:
            key, entry = next(iter(self._ids.items()))
            if entry.expires_ms > now_ms:
                break
            del self._ids[key]
            count += 1
        return count


class ReceiveAttempts:
    """One FIFO queue's recent receive attempts: attempt id -> (message id, token) pairs."""

    def __init__(self) -> None:
        self._attempts: OrderedDict[str, tuple[int, list[tuple[str, str]]]] = OrderedDict()

    def get(self, attempt_id: str, now_ms: int) -> list[tuple[str, str]] | None:
        found = self._attempts.get(attempt_id)
        if found is None or found[0] <= now_ms:
            return None
        return found[1]

    def put(self, attempt_id: str, now_ms: int, received: list[tuple[str, str]]) -> None:
        self._attempts.pop(attempt_id, None)
        self._attempts[attempt_id] = (now_ms + ATTEMPT_WINDOW_MS, received)
        while len(self._attempts) > MAX_ATTEMPTS:
            self._attempts.popitem(last=False)
