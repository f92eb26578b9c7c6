"""What the router needs from persistence (implemented by ``store/events_store.py``).

Every write is ``async`` and returns once committed (durable against a SIGKILL of the
server); one call is one transaction. Loaders block and are called off the event loop at
start. Rows are keyed by (region, account, bus[, rule]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lamina.services.events.arns import BusKey


@dataclass(frozen=True, slots=True)
class StoredRule:
    bus: BusKey
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredTarget:
    bus: BusKey
    rule: str
    wire: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One (event, rule, target) delivery to make: the event's JSON, the rule it matched
    and the target as it was when the event was accepted."""

    event: str
    rule_arn: str
    rule_name: str
    target: dict[str, Any]
    ingested: float
    # The X-Ray header of the PutEvents that brought the event (its entry's TraceHeader, else
    # the request's X-Amzn-Trace-Id): a function target continues its chain (recursion).
    trace: str | None = None


@dataclass(frozen=True, slots=True)
class ArchiveKey:
    """An archive's (or a replay's) identity: names are unique per region and account."""

    region: str
    account: str
    name: str


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """One event kept by an archive: its JSON, ingestion time and size in bytes."""

    archive: ArchiveKey
    event: str
    ingested: float
    size: int


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    id: int
    delivery: NewDelivery
    attempts: int
    due: float


class EventsStore(Protocol):
    def load_buses(self) -> list[dict[str, Any]]:
        """Every stored bus as ``{"region","account","name","description","policy","tags",
        "created","modified"}``."""
        ...

    def load_rules(self) -> list[StoredRule]: ...

    def load_targets(self) -> list[StoredTarget]:
        """Targets in the order they were put, per rule."""
        ...

    def load_deliveries(self) -> list[StoredDelivery]:
        """Deliveries not yet finished, by id."""
        ...

    async def put_bus(self, bus: dict[str, Any]) -> None:
        """Insert or replace a bus (same keys as ``load_buses``)."""
        ...

    async def delete_bus(self, key: BusKey) -> None:
        """Delete a bus with its rules and their targets."""
        ...

    async def put_rule(self, rule: StoredRule) -> None: ...

    async def delete_rule(self, bus: BusKey, name: str) -> None:
        """Delete a rule and its targets."""
        ...

    async def set_targets(self, bus: BusKey, rule: str, targets: list[dict[str, Any]]) -> None:
        """Replace a rule's targets (in this order)."""
        ...

    async def insert_deliveries(
        self, deliveries: list[NewDelivery], due: float, archived: list[ArchivedEvent] | None = None
    ) -> list[int]:
        """Store deliveries (attempts 0, due ``due``) and archived events in one transaction;
        returns the deliveries' ids, in order."""
        ...

    async def finish_deliveries(self, ids: list[int]) -> None:
        """Forget finished deliveries (delivered, dead-lettered or dropped)."""
        ...

    async def reschedule(self, delivery_id: int, attempts: int, due: float) -> None: ...

    def load_rule_fires(self) -> dict[tuple[BusKey, str], float]:
        """When each scheduled rule last fired (its due time, epoch seconds)."""
        ...

    async def record_rule_fire(self, bus: BusKey, name: str, fired: float) -> None:
        """Remember that a scheduled rule fired for the due time ``fired``."""
        ...

    # Archives and replays: documents keyed by region, account and name.

    def load_archives(self) -> list[dict[str, Any]]: ...

    def load_replays(self) -> list[dict[str, Any]]: ...

    def archive_totals(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(event count, bytes) per (region, account, archive) that holds events."""
        ...

    def archived_page(
        self, archive: ArchiveKey, start: float, end: float, after_id: int, limit: int
    ) -> list[tuple[int, float, str]]:
        """Up to ``limit`` (id, ingested, event) ingested in [start, end), ids after
        ``after_id``, in id order (blocking)."""
        ...

    async def put_archive(self, archive: ArchiveKey, body: dict[str, Any]) -> None: ...

    async def delete_archive(self, archive: ArchiveKey) -> None:
        """Delete an archive and its events."""
        ...

    async def put_replay(self, replay: ArchiveKey, body: dict[str, Any]) -> None: ...

    async def expire_archived(
        self, archive: ArchiveKey, before: float, keep: int
    ) -> tuple[int, int]:
        """Delete the archive's events ingested before ``before`` and beyond its newest
        ``keep``; returns (events, bytes) deleted."""
        ...

    def close(self) -> None: ...
