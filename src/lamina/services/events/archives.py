"""Archives: CreateArchive / DescribeArchive / ListArchives / UpdateArchive / DeleteArchive,
and the capture of a bus's events as they are accepted.

An archive keeps the events its bus accepts that match its ``EventPattern`` (all of them
without one), written in the same transaction as the events' deliveries; replayed events are
not archived again. Events older than ``RetentionDays`` (0: kept indefinitely) are expired by
a background pass, as is everything beyond an archive's newest ``MAX_ARCHIVED_EVENTS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Final

from lamina.domain.event_pattern import EventPattern
from lamina.services.events.arns import BusKey, parse_bus_arn
from lamina.services.events.errors import (
    EventsValidationException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    bus_not_found,
    constraint,
    limit_exceeded,
    max_length_rule,
)
from lamina.services.events.paging import page
from lamina.services.events.ports import ArchivedEvent, ArchiveKey, EventsStore
from lamina.services.events.registry import EventsRegistry, serialised
from lamina.services.events.rules import compile_checked

log = logging.getLogger("lamina.events")

MAX_ARCHIVES: Final = 100
MAX_ARCHIVED_EVENTS: Final = 1_000_000
EXPIRY_INTERVAL: Final = 3600.0
_NAME: Final = re.compile(r"[\.\-_A-Za-z0-9]+")
NOTHING_TO_UPDATE: Final = (
    "At least one of EventPattern, RetentionDays or Description must be provided."
)


def archive_arn(key: ArchiveKey) -> str:
    return f"arn:aws:events:{key.region}:{key.account}:archive/{key.name}"


@dataclass
class Archive:
    key: ArchiveKey
    bus: BusKey
    description: str | None
    event_pattern: str | None
    retention_days: int
    created: float
    pattern: EventPattern | None = field(default=None, repr=False)
    event_count: int = 0
    size_bytes: int = 0

    @property
    def arn(self) -> str:
        return archive_arn(self.key)

    def document(self) -> dict[str, Any]:
        return {
            "region": self.key.region,
            "account": self.key.account,
            "name": self.key.name,
            "bus": [self.bus.region, self.bus.account, self.bus.name],
            "description": self.description,
            "event_pattern": self.event_pattern,
            "retention_days": self.retention_days,
            "created": self.created,
        }


def parse_archive_arn(arn: str) -> ArchiveKey | None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "events":
        return None
    kind, slash, name = parts[5].partition("/")
    if kind != "archive" or not slash or not name:
        return None
    return ArchiveKey(parts[3], parts[4], name)


class ArchiveBook:
    def __init__(self, registry: EventsRegistry) -> None:
        """Times come from ``registry.clock``."""
        self._registry = registry
        self._store: EventsStore = registry.store
        self.write_lock = registry.write_lock
        self.archives: dict[ArchiveKey, Archive] = {}
        self._by_bus: dict[BusKey, list[Archive]] = {}
        self._expiry: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild memory from the store (blocking)."""
        totals = self._store.archive_totals()
        for doc in self._store.load_archives():
            key = ArchiveKey(doc["region"], doc["account"], doc["name"])
            text = doc.get("event_pattern")
            archive = Archive(
                key,
                BusKey(*doc["bus"]),
                doc.get("description"),
                text,
                int(doc.get("retention_days") or 0),
                float(doc["created"]),
                compile_checked(text) if text else None,
            )
            archive.event_count, archive.size_bytes = totals.get(
                (key.region, key.account, key.name), (0, 0)
            )
            self._keep(archive)

    def start(self) -> None:
        self._expiry = asyncio.create_task(self._expire_forever(), name="lamina-events-archives")

    async def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
            self._expiry = None

    def _keep(self, archive: Archive) -> None:
        self.archives[archive.key] = archive
        self._by_bus[archive.bus] = [
            a for a in self._by_bus.get(archive.bus, []) if a.key != archive.key
        ] + [archive]

    # --- capture ------------------------------------------------------------------------

    def capture(
        self, bus: BusKey, event: dict[str, Any], text: str, now: float
    ) -> list[ArchivedEvent]:
        """The archived copies of an accepted event (counted at once)."""
        archives = self._by_bus.get(bus)
        if not archives or "replay-name" in event:
            return []
        kept: list[ArchivedEvent] = []
        size = len(text.encode("utf-8"))
        for archive in archives:
            if archive.pattern is None or archive.pattern.matches(event):
                kept.append(ArchivedEvent(archive.key, text, now, size))
                archive.event_count += 1
                archive.size_bytes += size
        return kept

    # --- operations ---------------------------------------------------------------------

    def archive(self, key: ArchiveKey) -> Archive:
        archive = self.archives.get(key)
        if archive is None:
            raise ResourceNotFoundException(f"Archive {key.name} does not exist.")
        return archive

    @serialised
    async def create(
        self,
        key: ArchiveKey,
        source_arn: str,
        *,
        description: str | None,
        event_pattern: str | None,
        retention_days: int | None,
    ) -> Archive:
        check_archive_name(key.name)
        bus = parse_bus_arn(source_arn)
        if bus is None:
            raise EventsValidationException(
                "Parameter EventSourceArn is not valid. "
                f"Reason: {source_arn} is not a valid event bus ARN."
            )
        if self._registry.find_bus(bus) is None:
            raise bus_not_found(bus.name)
        if key in self.archives:
            raise ResourceAlreadyExistsException(f"Archive {key.name} already exists.")
        mine = [k for k in self.archives if (k.region, k.account) == (key.region, key.account)]
        if len(mine) >= MAX_ARCHIVES:
            raise limit_exceeded()
        pattern = compile_checked(event_pattern) if event_pattern is not None else None
        archive = Archive(
            key,
            bus,
            description,
            event_pattern,
            check_retention(retention_days),
            self._registry.clock(),
            pattern,
        )
        await self._store.put_archive(key, archive.document())
        self._keep(archive)
        return archive

    @serialised
    async def update(
        self,
        key: ArchiveKey,
        *,
        description: str | None,
        event_pattern: str | None,
        retention_days: int | None,
    ) -> Archive:
        if description is None and event_pattern is None and retention_days is None:
            raise EventsValidationException(NOTHING_TO_UPDATE)
        current = self.archive(key)
        pattern = compile_checked(event_pattern) if event_pattern is not None else current.pattern
        updated = Archive(
            key,
            current.bus,
            description if description is not None else current.description,
            event_pattern if event_pattern is not None else current.event_pattern,
            check_retention(retention_days)
            if retention_days is not None
            else current.retention_days,
            current.created,
            pattern,
            current.event_count,
            current.size_bytes,
        )
        await self._store.put_archive(key, updated.document())
        # Changed in place: events captured meanwhile stay counted.
        current.description = updated.description
        current.event_pattern = updated.event_pattern
        current.retention_days = updated.retention_days
        current.pattern = updated.pattern
        return current

    @serialised
    async def delete(self, key: ArchiveKey) -> None:
        archive = self.archive(key)
        await self._store.delete_archive(key)
        del self.archives[key]
        self._by_bus[archive.bus] = [a for a in self._by_bus.get(archive.bus, []) if a.key != key]

    def list(
        self,
        region: str,
        account: str,
        *,
        prefix: str | None,
        source_arn: str | None,
        state: str | None,
        limit: int | None,
        token: str | None,
    ) -> tuple[list[Archive], str | None]:
        bus = None
        if source_arn is not None:
            bus = parse_bus_arn(source_arn)
            if bus is None or self._registry.find_bus(bus) is None:
                raise bus_not_found(bus.name if bus is not None else source_arn)
        found = sorted(
            (
                a
                for k, a in self.archives.items()
                if (k.region, k.account) == (region, account)
                and (not prefix or k.name.startswith(prefix))
                and (bus is None or a.bus == bus)
                and (state is None or state == "ENABLED")
            ),
            key=lambda a: a.key.name,
        )
        return page(found, lambda a: a.key.name, limit, token)

    # --- retention ----------------------------------------------------------------------

    async def expire_once(self) -> None:
        """Apply every archive's retention (and the size bound) once."""
        now = self._registry.clock()
        for archive in list(self.archives.values()):
            before = now - archive.retention_days * 86_400 if archive.retention_days else 0.0
            count, size = await self._store.expire_archived(
                archive.key, before, MAX_ARCHIVED_EVENTS
            )
            # Every stored event was counted when captured: take away what went (from the
            # archive as it is now: an update may have replaced the object meanwhile).
            current = self.archives.get(archive.key)
            if current is not None:
                current.event_count = max(0, current.event_count - count)
                current.size_bytes = max(0, current.size_bytes - size)

    async def _expire_forever(self) -> None:
        while True:
            try:
                await self.expire_once()
            except Exception:  # noqa: BLE001 - tried again at the next pass
                log.exception("archive expiry failed")
            await asyncio.sleep(EXPIRY_INTERVAL)


def check_archive_name(name: str) -> None:
    if len(name) > 48:
        raise constraint(name, "archiveName", max_length_rule(48))
    if not _NAME.fullmatch(name):
        raise constraint(
            name,
            "archiveName",
            r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+",
        )


def check_retention(days: int | None) -> int:
    if days is None:
        return 0
    if days < 0:
        raise constraint(days, "retentionDays", "Member must have value greater than or equal to 0")
    return days
