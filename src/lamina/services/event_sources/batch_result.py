"""What a batch's outcome means for its messages (``FunctionResponseTypes``).

Without ``ReportBatchItemFailures`` a function error fails the whole batch and anything else
succeeds it. With it, the response ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}``
names the messages to keep (AWS's rules, shared/docs/events-http-iam.md §0 fact 5):

- complete success: an empty response, ``null``, ``{}``, or a ``batchItemFailures`` that is
  ``null`` or ``[]``; also a JSON value that is not an object (nothing to read a failure from);
- complete failure: a function error; a response that is not JSON; a ``batchItemFailures``
  that is not a list; an entry that is not an object, lacks ``itemIdentifier`` (a wrong key),
  has it empty or null, or names a message that is not in the batch;
- otherwise the named messages stay in the queue and every other one is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    """``failed``: the message ids to leave in the queue (every id when ``whole_batch``)."""

    whole_batch_failed: bool
    failed: frozenset[str]

    @property
    def all_succeeded(self) -> bool:
        return not self.whole_batch_failed and not self.failed


SUCCEEDED = BatchVerdict(False, frozenset())


def judge_batch(
    message_ids: Collection[str],
    payload: bytes,
    function_error: str | None,
    *,
    report_item_failures: bool,
) -> BatchVerdict:
    everything = BatchVerdict(True, frozenset(message_ids))
    if function_error is not None:
        return everything
    if not report_item_failures:
        return SUCCEEDED
    failed = item_failures(payload, message_ids)
    if failed is None:
        return everything
    return BatchVerdict(False, failed)


def item_failures(payload: bytes, message_ids: Collection[str]) -> frozenset[str] | None:
    """The ids a partial batch response names, or None when it fails the whole batch."""
    if not payload.strip():
        return frozenset()
    try:
        response = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(response, dict):
        return frozenset()
    entries = response.get("batchItemFailures")
    if entries is None:
        return frozenset()
    if not isinstance(entries, list):
        return None
    failed: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        identifier = entry.get("itemIdentifier")
        if not isinstance(identifier, str) or not identifier or identifier not in message_ids:
            return None
        failed.add(identifier)
    return frozenset(failed)
