"""PutEvents' entries: request limits, per-entry checks and the event AWS delivers.

- More than 10 entries: ``ValidationException`` in AWS's validator wording (the entries as
  Java's ``toString`` renders them); a batch over 256 KB by AWS's size computation
  (``entry_size``): "Total size of the entries in the request is over the limit."
- A failed entry answers ``{"ErrorCode", "ErrorMessage"}`` in its place (HTTP 200): a missing
  Source, DetailType or Detail is ``InvalidArgument``, a Detail that is not a JSON object
  ``MalformedDetail``.
- The event: ``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``
  (RFC 3339 to the second: the entry's ``Time`` or the ingestion time), ``region``,
  ``resources``, ``detail``, in AWS's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from lamina.services.events.errors import EventsValidationException

MAX_ENTRIES: Final = 10
MAX_BATCH_BYTES: Final = 256 * 1024
# Deepest nesting of Detail AWS accepts.
MAX_DETAIL_DEPTH: Final = 1100
TOO_BIG: Final = "Total size of the entries in the request is over the limit."


@dataclass(frozen=True, slots=True)
class EntryError:
    code: str
    message: str


def _required(member: str) -> EntryError:
    return EntryError(
        "InvalidArgument",
        f"Parameter {member} is not valid. Reason: {member} is a required argument.",
    )


MALFORMED_DETAIL: Final = EntryError("MalformedDetail", "Detail is malformed.")


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's size of one entry: 14 bytes for a Time, plus the UTF-8 bytes of Source,
    DetailType, Detail and each resource."""
    size = 14 if entry.get("Time") is not None else 0
    for member in ("Source", "DetailType", "Detail"):
        value = entry.get(member)
        if value:
            size += len(str(value).encode("utf-8"))
    for resource in entry.get("Resources") or []:
        size += len(str(resource).encode("utf-8"))
    return size


def check_batch(entries: list[dict[str, Any]]) -> None:
    """The request-level limits (raise before any entry is accepted)."""
    if len(entries) > MAX_ENTRIES:
        shown = ", ".join(_java_entry(entry) for entry in entries)
        raise EventsValidationException(
            f"1 validation error detected: Value '[{shown}]' at 'entries' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_ENTRIES}"
        )
    if sum(entry_size(entry) for entry in entries) > MAX_BATCH_BYTES:
        raise EventsValidationException(TOO_BIG)


def _java_entry(entry: dict[str, Any]) -> str:
    def show(member: str) -> str:
        value = entry.get(member)
        if value is None:
            return "null"
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, list):
            return "[" + ", ".join(map(str, value)) + "]"
        return str(value)

    return (
        f"PutEventsRequestEntry(time={show('Time')}, source={show('Source')}, "
        f"resources={show('Resources')}, detailType={show('DetailType')}, "
        f"detail={show('Detail')}, eventBusName={show('EventBusName')}, "
        f"traceHeader={show('TraceHeader')}, kmsKeyIdentifier=null, internalMetadata=null)"
    )


def parse_detail(entry: dict[str, Any]) -> dict[str, Any] | EntryError:
    """The entry's Detail as an object, or the entry's error."""
    if not entry.get("Source"):
        return _required("Source")
    if not entry.get("DetailType"):
        return _required("DetailType")
    detail = entry.get("Detail")
    if not detail:
        return _required("Detail")
    try:
        parsed = json.loads(detail)
    except (ValueError, RecursionError):
        return MALFORMED_DETAIL
    if not isinstance(parsed, dict):
        return MALFORMED_DETAIL
    return parsed


def rfc3339(moment: datetime | float) -> str:
    """``2022-07-13T13:48:01Z``."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(
    *,
    event_id: str,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    account: str,
    region: str,
    resources: list[str],
    time: str,
) -> dict[str, Any]:
    """The event as AWS delivers it, members in AWS's order."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time,
        "region": region,
        "resources": resources,
        "detail": detail,
    }
