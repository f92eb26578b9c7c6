"""Values some store ports take and give that no domain module defines: asynchronous
invocation configurations and the rows of the asynchronous invocation queue.

Backend-neutral (no SQL here): any implementation of ``store/ports.py`` uses these.
``store/log_records.py`` holds the log store's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.domain.destinations import DestinationConfig

# ``QueuedEvent.kind``/``NewEvent.kind``: run the function, or hand a record to a destination.
INVOKE = "invoke"
DELIVER = "deliver"


@dataclass(frozen=True)
class EventInvokeConfig:
    """``PutFunctionEventInvokeConfig``'s settings for one function version or alias."""

    function: str
    qualifier: str  # $LATEST, a version number or an alias name
    max_retries: int | None
    max_age: int | None
    destinations: DestinationConfig
    last_modified: float


@dataclass
class QueuedEvent:
    """An asynchronous event as stored: an invocation or a delivery, with its counters."""

    id: int
    kind: str
    function: str
    qualifier: str | None
    target: str | None
    request_id: str
    payload: bytes
    trace_id: str
    received_at: float
    due_at: float
    attempts: int  # invocations of the function made (approximateInvokeCount)
    errors: int  # function errors (against MaximumRetryAttempts)
    retries: int  # throttled / failed attempts in a row (the backoff's exponent)
    claims: int  # times claimed: more than one after a restart means a possible duplicate
    last: str | None  # the last response (``destinations.Response`` JSON)
    meta: dict[str, Any]


@dataclass(frozen=True)
class NewEvent:
    """A row to insert: an invocation (``target`` None) or a delivery."""

    kind: str
    function: str
    request_id: str
    payload: bytes
    trace_id: str
    received_at: float
    due_at: float
    qualifier: str | None = None
    target: str | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class Retained:
    """Something Lamina keeps because it cannot deliver it anywhere (a dead letter, a record
    for a destination service it lacks, a delivery that ran out of time)."""

    function: str
    reason: str
    target: str | None
    request_id: str
    body: bytes
    attributes: dict[str, Any] | None
    created_at: float
