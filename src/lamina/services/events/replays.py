"""Replays: StartReplay / DescribeReplay / ListReplays / CancelReplay.

A replay reads its archive's events ingested in [EventStartTime, EventEndTime), in the order
they were archived, and routes each again on the archive's bus (only to the rules in
``Destination.FilterArns`` when given), with ``replay-name`` added to the event as AWS does.
Its deliveries go through the same durable outbox. States: STARTING, RUNNING, then COMPLETED,
or CANCELLING/CANCELLED after CancelReplay; a replay that a restart interrupted is FAILED
(its deliveries already queued are still made).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from lamina.services.events.archives import (
    ArchiveBook,
    archive_arn,
    check_archive_name,
    parse_archive_arn,
)
from lamina.services.events.arns import BusKey, parse_bus_arn
from lamina.services.events.errors import (
    EventsError,
    EventsValidationException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    bus_not_found,
    limit_exceeded,
)
from lamina.services.events.paging import page
from lamina.services.events.ports import ArchiveKey, EventsStore, NewDelivery
from lamina.services.events.registry import EventsRegistry, serialised

log = logging.getLogger("lamina.events")

MAX_ACTIVE_REPLAYS: Final = 10
PAGE_SIZE: Final = 500
ACTIVE: Final = frozenset({"STARTING", "RUNNING", "CANCELLING"})

# The deliveries of one replayed event on a bus (only to ``rule_arns`` when given).
Router = Callable[[BusKey, dict[str, Any], frozenset[str] | None], list[NewDelivery]]
Enqueue = Callable[[list[NewDelivery]], Awaitable[None]]


class IllegalStatusException(EventsError):
    code = "IllegalStatusException"


def replay_arn(key: ArchiveKey) -> str:
    return f"arn:aws:events:{key.region}:{key.account}:replay/{key.name}"


@dataclass
class Replay:
    key: ArchiveKey
    archive: ArchiveKey
    description: str | None
    destination: BusKey
    filter_arns: list[str]
    event_start: float
    event_end: float
    state: str
    replay_start: float
    state_reason: str | None = None
    replay_end: float | None = None
    last_replayed: float | None = None
    cancel: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def arn(self) -> str:
        return replay_arn(self.key)

    def document(self) -> dict[str, Any]:
        return {
            "region": self.key.region,
            "account": self.key.account,
            "name": self.key.name,
            "archive": self.archive.name,
            "description": self.description,
            "destination": [
                self.destination.region,
                self.destination.account,
                self.destination.name,
            ],
            "filter_arns": self.filter_arns,
            "event_start": self.event_start,
            "event_end": self.event_end,
            "state": self.state,
            "state_reason": self.state_reason,
            "replay_start": self.replay_start,
            "replay_end": self.replay_end,
            "last_replayed": self.last_replayed,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Replay:
        return cls(
            ArchiveKey(doc["region"], doc["account"], doc["name"]),
            ArchiveKey(doc["region"], doc["account"], doc["archive"]),
            doc.get("description"),
            BusKey(*doc["destination"]),
            list(doc.get("filter_arns") or []),
            float(doc["event_start"]),
            float(doc["event_end"]),
            doc["state"],
            float(doc["replay_start"]),
            doc.get("state_reason"),
            doc.get("replay_end"),
            doc.get("last_replayed"),
        )


def replayed(event: dict[str, Any], name: str) -> dict[str, Any]:
    """The event with ``replay-name`` after ``region``, where AWS puts it."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        out[key] = value
        if key == "region":
            out["replay-name"] = name
    out.setdefault("replay-name", name)
    return out


class ReplayBook:
    def __init__(
        self,
        registry: EventsRegistry,
        archives: ArchiveBook,
        route: Router,
        enqueue: Enqueue,
    ) -> None:
        """Times come from ``registry.clock``."""
        self._registry = registry
        self._store: EventsStore = registry.store
        self._archives = archives
        self._route = route
        self._enqueue = enqueue
        self.write_lock = registry.write_lock
        self.replays: dict[ArchiveKey, Replay] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def load(self) -> None:
        """Rebuild memory from the store (blocking)."""
        for doc in self._store.load_replays():
            replay = Replay.from_document(doc)
            self.replays[replay.key] = replay

    async def start(self) -> None:
        """Replays a restart interrupted are FAILED."""
        for replay in self.replays.values():
            if replay.state in ACTIVE:
                replay.state = "FAILED"
                replay.state_reason = "The replay was interrupted by a restart of the server."
                replay.replay_end = self._registry.clock()
                await self._store.put_replay(replay.key, replay.document())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def replay(self, key: ArchiveKey) -> Replay:
        replay = self.replays.get(key)
        if replay is None:
            raise ResourceNotFoundException(f"Replay {key.name} does not exist.")
        return replay

    @serialised
    async def start_replay(
        self,
        key: ArchiveKey,
        *,
        source_arn: str,
        event_start: datetime,
        event_end: datetime,
        destination_arn: str,
        filter_arns: list[str],
        description: str | None,
    ) -> Replay:
        check_archive_name(key.name)
        archive_key = parse_archive_arn(source_arn)
        archive = self._archives.archives.get(archive_key) if archive_key else None
        if archive is None:
            name = archive_key.name if archive_key else source_arn
            raise EventsValidationException(
                f"Parameter EventSourceArn is not valid. Reason: Archive {name} does not exist."
            )
        if key in self.replays:
            raise ResourceAlreadyExistsException(f"Replay {key.name} already exists.")
        start, end = event_start.timestamp(), event_end.timestamp()
        if start >= end:
            raise EventsValidationException(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
                "EventEndTime."
            )
        destination = parse_bus_arn(destination_arn)
        if destination is None or self._registry.find_bus(destination) is None:
            raise bus_not_found(destination.name if destination else destination_arn)
        if destination != archive.bus:
            raise EventsValidationException(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                "permitted."
            )
        active = [
            r
            for r in self.replays.values()
            if (r.key.region, r.key.account) == (key.region, key.account) and r.state in ACTIVE
        ]
        if len(active) >= MAX_ACTIVE_REPLAYS:
            raise limit_exceeded()
        replay = Replay(
            key,
            archive.key,
            description,
            destination,
            list(filter_arns),
            start,
            end,
            "STARTING",
            self._registry.clock(),
        )
        await self._store.put_replay(key, replay.document())
        self.replays[key] = replay
        task = asyncio.create_task(self._run(replay), name=f"lamina-replay-{key.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return replay

    @serialised
    async def cancel(self, key: ArchiveKey) -> Replay:
        replay = self.replay(key)
        if replay.state not in ("STARTING", "RUNNING"):
            raise IllegalStatusException(
                f"Replay {key.name} is not in a valid state for this operation."
            )
        replay.state = "CANCELLING"
        replay.cancel.set()
        await self._store.put_replay(key, replay.document())
        return replay

    def list(
        self,
        region: str,
        account: str,
        *,
        prefix: str | None,
        state: str | None,
        source_arn: str | None,
        limit: int | None,
        token: str | None,
    ) -> tuple[list[Replay], str | None]:
        found = sorted(
            (
                r
                for k, r in self.replays.items()
                if (k.region, k.account) == (region, account)
                and (not prefix or k.name.startswith(prefix))
                and (state is None or r.state == state)
                and (source_arn is None or archive_arn(r.archive) == source_arn)
            ),
            key=lambda r: r.key.name,
        )
        return page(found, lambda r: r.key.name, limit, token)

    async def _run(self, replay: Replay) -> None:
        try:
            await self._replay(replay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the replay fails, the server goes on
            log.exception("replay %s failed", replay.key.name)
            await self._finish(replay, "FAILED", str(exc))

    async def _replay(self, replay: Replay) -> None:
        replay.state = "RUNNING"
        await self._store.put_replay(replay.key, replay.document())
        rules = frozenset(replay.filter_arns) or None
        after = 0
        while True:
            if replay.cancel.is_set():
                await self._finish(replay, "CANCELLED", None)
                return
            rows = await asyncio.to_thread(
                self._store.archived_page,
                replay.archive,
                replay.event_start,
                replay.event_end,
                after,
                PAGE_SIZE,
            )
            if not rows:
                break
            deliveries: list[NewDelivery] = []
            for row_id, ingested, text in rows:
                event = replayed(json.loads(text), replay.key.name)
                deliveries.extend(self._route(replay.destination, event, rules))
                after = row_id
                replay.last_replayed = ingested
            await self._enqueue(deliveries)
        await self._finish(replay, "COMPLETED", None)

    async def _finish(self, replay: Replay, state: str, reason: str | None) -> None:
        replay.state = state
        replay.state_reason = reason
        replay.replay_end = self._registry.clock()
        await self._store.put_replay(replay.key, replay.document())
