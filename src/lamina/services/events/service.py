"""The EventBridge service: the registry and rule book (CRUD), PutEvents and routing, the
delivery engine, and the ``EventBusSink`` other services put events through.

Routing happens when an event is accepted: the bus's enabled rules that match it (through
the bus's ``RuleIndex``) and their targets at that moment become deliveries, committed
before PutEvents answers. An event matching no rule (or sent to a bus that does not exist,
which AWS accepts too) leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from lamina.domain.context import RequestContext
from lamina.domain.event_pattern import InvalidEventPattern, compile_pattern
from lamina.domain.ids import new_uuid
from lamina.services.event_bus_ports import EventBusNotFound, EventBusRejected
from lamina.services.events.archives import ArchiveBook
from lamina.services.events.arns import DEFAULT_BUS, BusKey, parse_bus_arn, resolve_bus
from lamina.services.events.delivery import DeliveryEngine
from lamina.services.events.entries import (
    MAX_BATCH_BYTES,
    EntryError,
    build_event,
    check_batch,
    parse_detail,
    rfc3339,
)
from lamina.services.events.errors import (
    EventsValidationException,
    InvalidEventPatternException,
    ThrottlingException,
)
from lamina.services.events.model import Rule
from lamina.services.events.ports import ArchivedEvent, NewDelivery
from lamina.services.events.registry import EventsRegistry
from lamina.services.events.replays import ReplayBook
from lamina.services.events.rules import RuleBook
from lamina.services.schedules import ScheduleRunner

# One PutEvents entry's outcome: its event id, or its error.
EntryResult = str | EntryError


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


class EventsService:
    def __init__(
        self,
        registry: EventsRegistry,
        rules: RuleBook,
        engine: DeliveryEngine,
        *,
        own_runner: ScheduleRunner | None = None,
    ) -> None:
        """``own_runner``: a schedule runner this service starts and stops itself."""
        self.own_runner = own_runner
        self.registry = registry
        self.rules = rules
        self.engine = engine
        engine.sinks.buses = self._route_from_target
        self.archives = ArchiveBook(registry)
        self.replays = ReplayBook(registry, self.archives, self._replay_deliveries, engine.enqueue)

    async def start(self) -> None:
        fires = await asyncio.to_thread(self._load)
        await self.replays.start()
        if self.rules.schedules is not None:
            for rules in self.registry.rules.values():
                for rule in rules.values():
                    if rule.schedule is not None and rule.enabled:
                        last_fired = fires.get((rule.bus, rule.name))
                        self.rules.schedules.rule_resumed(rule, last_fired)
        await self.engine.start()
        self.archives.start()
        if self.own_runner is not None:
            await self.own_runner.start()

    def _load(self) -> dict[tuple[BusKey, str], float]:
        """Memory from the store; returns when each scheduled rule last fired."""
        self.registry.load()
        self.archives.load()
        self.replays.load()
        return self.registry.store.load_rule_fires()

    async def stop(self) -> None:
        if self.own_runner is not None:
            await self.own_runner.stop()
        await self.replays.stop()
        await self.archives.stop()
        await self.engine.stop()
        self.registry.store.close()

    # --- PutEvents ----------------------------------------------------------------------

    async def put_events(
        self, ctx: RequestContext, entries: list[dict[str, Any]]
    ) -> list[EntryResult]:
        """Accept the entries (durably) and answer each one's event id or error."""
        check_batch(entries)
        now = self.registry.clock()
        results: list[EntryResult] = []
        deliveries: list[NewDelivery] = []
        archived: list[ArchivedEvent] = []
        for entry in entries:
            detail = parse_detail(entry)
            if isinstance(detail, EntryError):
                results.append(detail)
                continue
            when = entry.get("Time")
            event = build_event(
                event_id=new_uuid(),
                source=str(entry["Source"]),
                detail_type=str(entry["DetailType"]),
                detail=detail,
                account=ctx.account_id,
                region=ctx.region,
                resources=[str(r) for r in entry.get("Resources") or []],
                time=rfc3339(when if isinstance(when, datetime) else now),
            )
            bus = resolve_bus(ctx.region, ctx.account_id, entry.get("EventBusName"))
            text = _dumps(event)
            trace = _trace_of(entry.get("TraceHeader") or ctx.trace_header)
            deliveries.extend(self._deliveries(bus, event, now, text, trace=trace))
            archived.extend(self.archives.capture(bus, event, text, now))
            results.append(str(event["id"]))
        if not self.engine.has_room(len(deliveries)):
            raise ThrottlingException("Rate exceeded")
        await self.engine.enqueue(deliveries, archived)
        return results

    def _deliveries(
        self,
        bus: BusKey,
        event: dict[str, Any],
        now: float,
        text: str | None = None,
        rule_arns: frozenset[str] | None = None,
        *,
        trace: str | None = None,
    ) -> list[NewDelivery]:
        """The deliveries of ``event`` on ``bus`` (only to ``rule_arns`` when given)."""
        index = self.registry.indexes.get(bus)
        if index is None:
            return []
        text = text if text is not None else _dumps(event)
        found: list[NewDelivery] = []
        for rule in index.matching(event):
            if rule_arns is None or rule.arn in rule_arns:
                found.extend(self._rule_deliveries(rule, text, now, trace))
        return found

    def _replay_deliveries(
        self, bus: BusKey, event: dict[str, Any], rule_arns: frozenset[str] | None
    ) -> list[NewDelivery]:
        return self._deliveries(bus, event, self.registry.clock(), None, rule_arns)

    def _rule_deliveries(
        self, rule: Rule, event_text: str, now: float, trace: str | None = None
    ) -> list[NewDelivery]:
        return [
            NewDelivery(event_text, rule.arn, rule.name, target.wire, now, trace)
            for target in self.registry.targets.get((rule.bus, rule.name), [])
        ]

    async def _route_from_target(self, bus: BusKey, event: dict[str, Any]) -> bool:
        """An event delivered to a bus target: routed on that bus as it is."""
        if self.registry.find_bus(bus) is None:
            return False
        now = self.registry.clock()
        text = _dumps(event)
        archived = self.archives.capture(bus, event, text, now)
        await self.engine.enqueue(self._deliveries(bus, event, now, text), archived)
        return True

    # --- scheduled rules ----------------------------------------------------------------

    async def fire_scheduled(self, rule: Rule, due: datetime | None = None) -> str:
        """Put the ``Scheduled Event`` of ``rule`` (``time``: ``due``, else now) to its
        targets, then remember ``due`` as its last fire (a restart resumes after it);
        returns its event id."""
        now = self.registry.clock()
        event = build_event(
            event_id=new_uuid(),
            source="aws.events",
            detail_type="Scheduled Event",
            detail={},
            account=rule.bus.account,
            region=rule.bus.region,
            resources=[rule.arn],
            time=rfc3339(due if due is not None else now),
        )
        current = self.registry.rules.get(rule.bus, {}).get(rule.name)
        if current is not None and current.enabled:
            await self.engine.enqueue(self._rule_deliveries(current, _dumps(event), now))
            if due is not None:
                await self.registry.store.record_rule_fire(rule.bus, rule.name, due.timestamp())
        return str(event["id"])

    # --- TestEventPattern ---------------------------------------------------------------

    @staticmethod
    def test_event_pattern(pattern_text: str, event_text: str) -> bool:
        try:
            event = json.loads(event_text)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            raise EventsValidationException("Parameter Event is not valid.")
        try:
            pattern = compile_pattern(pattern_text)
        except InvalidEventPattern as exc:
            raise InvalidEventPatternException(
                f"Event pattern is not valid. Reason: {exc.raw_message}"
            ) from None
        return pattern.matches(event)

    # --- EventBusSink -------------------------------------------------------------------

    async def put_event(
        self,
        bus_arn: str,
        *,
        source: str,
        detail_type: str,
        detail: str,
        resources: list[str] | None = None,
    ) -> str:
        key = parse_bus_arn(bus_arn)
        if key is None or self.registry.find_bus(key) is None:
            raise EventBusNotFound(f"Event bus {bus_arn} does not exist.")
        entry: dict[str, Any] = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": detail,
            "Resources": resources or [],
        }
        if sum(len(str(v).encode()) for v in (source, detail_type, detail)) > MAX_BATCH_BYTES:
            raise EventBusRejected("Total size of the entries in the request is over the limit.")
        parsed = parse_detail(entry)
        if isinstance(parsed, EntryError):
            raise EventBusRejected(parsed.message)
        now = self.registry.clock()
        event = build_event(
            event_id=new_uuid(),
            source=source,
            detail_type=detail_type,
            detail=parsed,
            account=key.account,
            region=key.region,
            resources=list(resources or []),
            time=rfc3339(now),
        )
        text = _dumps(event)
        archived = self.archives.capture(key, event, text, now)
        await self.engine.enqueue(self._deliveries(key, event, now, text), archived)
        return str(event["id"])


__all__ = ["DEFAULT_BUS", "EventsService"]


# The longest trace header a delivery keeps (PutEvents' TraceHeader is at most 500).
MAX_TRACE_HEADER = 2048


def _trace_of(header: object) -> str | None:
    """A PutEvents trace header worth keeping (a string of bounded length), else None."""
    if isinstance(header, str) and 0 < len(header) <= MAX_TRACE_HEADER:
        return header
    return None
