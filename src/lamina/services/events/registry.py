"""Buses, rules and targets in memory (every region and account), written through to the
store; the bus operations, bus policies and tags.

The ``default`` bus of every region and account exists without being created: it appears
(unstored) on first use and is stored once it has tags or a policy. Rule and target
operations are in ``rules.py``; both share this registry.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, Final, ParamSpec, Protocol, TypeVar

from lamina.domain.event_pattern import compile_pattern
from lamina.services.events.arns import (
    DEFAULT_BUS,
    BusKey,
    parse_bus_arn,
    parse_rule_arn,
)
from lamina.services.events.errors import (
    BUS_NAME_PATTERN_RULE,
    EventsValidationException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    bus_not_found,
    constraint,
    limit_exceeded,
    max_length_rule,
    rule_not_found,
)
from lamina.services.events.model import EventBus, Rule, Target
from lamina.services.events.paging import page
from lamina.services.events.ports import EventsStore, StoredRule
from lamina.services.events.rule_index import RuleIndex

# AWS's quotas: custom buses per account and region, tags per resource.
MAX_BUSES: Final = 100
MAX_TAGS: Final = 50
_BUS_NAME: Final = re.compile(r"[/\.\-_A-Za-z0-9]+")


P = ParamSpec("P")
R = TypeVar("R")


class Serialised(Protocol):
    write_lock: asyncio.Lock


S = TypeVar("S", bound=Serialised)


def serialised(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Run a write operation alone: writes check memory, await the store, then change
    memory, so two at once could each miss the other's change."""

    @functools.wraps(method)
    async def run(owner: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with owner.write_lock:
            return await method(owner, *args, **kwargs)

    return run


class EventsRegistry:
    def __init__(self, store: EventsStore, clock: Callable[[], float] = time.time) -> None:
        self.write_lock = asyncio.Lock()
        self.store = store
        self.clock = clock
        self.buses: dict[BusKey, EventBus] = {}
        self.rules: dict[BusKey, dict[str, Rule]] = {}
        self.targets: dict[tuple[BusKey, str], list[Target]] = {}
        self.indexes: dict[BusKey, RuleIndex] = {}

    # --- loading ------------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild memory from the store (blocking: call it off the event loop)."""
        for row in self.store.load_buses():
            key = BusKey(row["region"], row["account"], row["name"])
            self.buses[key] = EventBus(
                key,
                row.get("description"),
                row.get("policy"),
                dict(row.get("tags") or {}),
                float(row["created"]),
                float(row["modified"]),
            )
        for stored in self.store.load_rules():
            body = stored.body
            pattern_text = body.get("EventPattern")
            rule = Rule(
                stored.bus,
                stored.name,
                pattern_text,
                body.get("ScheduleExpression"),
                body.get("State", "ENABLED"),
                body.get("Description"),
                body.get("RoleArn"),
                dict(body.get("Tags") or {}),
                compile_pattern(pattern_text) if pattern_text else None,
                float(body.get("Created") or 0.0),
                float(body.get("Armed") or 0.0),
            )
            self.keep_rule(rule)
        for target in self.store.load_targets():
            self.targets.setdefault((target.bus, target.rule), []).append(
                Target.from_wire(target.wire)
            )

    def keep_rule(self, rule: Rule) -> None:
        self.rules.setdefault(rule.bus, {})[rule.name] = rule
        self.indexes.setdefault(rule.bus, RuleIndex()).put(rule)

    # --- buses --------------------------------------------------------------------------

    def find_bus(self, key: BusKey) -> EventBus | None:
        bus = self.buses.get(key)
        if bus is None and key.name == DEFAULT_BUS:
            now = self.clock()
            bus = self.buses[key] = EventBus(key, None, None, {}, now, now)
        return bus

    def bus(self, key: BusKey) -> EventBus:
        bus = self.find_bus(key)
        if bus is None:
            raise bus_not_found(key.name)
        return bus

    async def _save_bus(self, bus: EventBus) -> None:
        await self.store.put_bus(
            {
                "region": bus.key.region,
                "account": bus.key.account,
                "name": bus.key.name,
                "description": bus.description,
                "policy": bus.policy,
                "tags": bus.tags,
                "created": bus.created,
                "modified": bus.modified,
            }
        )

    @serialised
    async def create_bus(
        self, key: BusKey, description: str | None, tags: dict[str, str]
    ) -> EventBus:
        check_bus_name(key.name, "name")
        if key.name == DEFAULT_BUS or key in self.buses:
            raise ResourceAlreadyExistsException(f"Event bus {key.name} already exists.")
        if key.name.startswith("aws."):
            raise EventsValidationException(f"Event source {key.name} does not exist.")
        custom = [
            b
            for b in self.buses
            if (b.region, b.account) == (key.region, key.account) and b.name != DEFAULT_BUS
        ]
        if len(custom) >= MAX_BUSES:
            raise limit_exceeded()
        check_tags(tags)
        now = self.clock()
        bus = EventBus(key, description, None, dict(tags), now, now)
        await self._save_bus(bus)
        self.buses[key] = bus
        return bus

    @serialised
    async def update_bus(self, key: BusKey, description: str | None) -> EventBus:
        """UpdateEventBus: a new ``description`` (None: unchanged); the bus must exist
        (``default`` always does)."""
        bus = self.bus(key)
        if description is None:
            return bus
        updated = EventBus(key, description, bus.policy, dict(bus.tags), bus.created, self.clock())
        await self._save_bus(updated)
        self.buses[key] = updated
        return updated

    @serialised
    async def delete_bus(self, key: BusKey) -> None:
        if key.name == DEFAULT_BUS:
            raise EventsValidationException("Cannot delete event bus default.")
        if key not in self.buses:
            raise bus_not_found(key.name)
        await self.store.delete_bus(key)
        del self.buses[key]
        for name in list(self.rules.pop(key, {})):
            self.targets.pop((key, name), None)
        self.indexes.pop(key, None)

    def list_buses(
        self, region: str, account: str, prefix: str | None, limit: int | None, token: str | None
    ) -> tuple[list[EventBus], str | None]:
        self.find_bus(BusKey(region, account, DEFAULT_BUS))
        found = sorted(
            (
                bus
                for key, bus in self.buses.items()
                if key.region == region
                and key.account == account
                and (not prefix or key.name.startswith(prefix))
            ),
            key=lambda bus: bus.key.name,
        )
        return page(found, lambda bus: bus.key.name, limit, token)

    # --- policies -----------------------------------------------------------------------

    @serialised
    async def put_permission(
        self,
        key: BusKey,
        *,
        policy: str | None,
        statement: dict[str, Any] | None,
    ) -> None:
        """Replace the whole policy (``policy``) or add/replace one statement by its Sid."""
        bus = self.bus(key)
        if policy is not None:
            try:
                document = json.loads(policy)
            except ValueError:
                raise EventsValidationException("Policy is not valid JSON.") from None
            if not isinstance(document, dict):
                raise EventsValidationException("Policy is not valid JSON.")
            bus.policy = document
        elif statement is not None:
            current = bus.policy or {"Version": "2012-10-17", "Statement": []}
            statements = [
                s for s in current.get("Statement", []) if s.get("Sid") != statement["Sid"]
            ]
            statements.append(statement)
            bus.policy = {**current, "Statement": statements}
        bus.modified = self.clock()
        await self._save_bus(bus)

    @serialised
    async def remove_permission(self, key: BusKey, sid: str | None, remove_all: bool) -> None:
        bus = self.bus(key)
        if remove_all:
            bus.policy = None
        else:
            statements = (bus.policy or {}).get("Statement", [])
            kept = [s for s in statements if s.get("Sid") != sid]
            if len(kept) == len(statements):
                raise ResourceNotFoundException("Statement with the provided id does not exist.")
            bus.policy = {**(bus.policy or {}), "Statement": kept} if kept else None
        bus.modified = self.clock()
        await self._save_bus(bus)

    # --- tags ---------------------------------------------------------------------------

    def _tagged(self, arn: str) -> EventBus | Rule:
        bus_key = parse_bus_arn(arn)
        if bus_key is not None:
            return self.bus(bus_key)
        parsed = parse_rule_arn(arn)
        if parsed is None:
            raise EventsValidationException(f"Parameter ResourceARN is not valid: {arn}")
        key, name = parsed
        rule = self.rules.get(key, {}).get(name)
        if rule is None:
            raise rule_not_found(name, key.name)
        return rule

    def tags_of(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn).tags)

    @serialised
    async def tag(self, arn: str, tags: dict[str, str]) -> None:
        resource = self._tagged(arn)
        merged = {**resource.tags, **tags}
        check_tags(merged)
        await self._retag(resource, merged)

    @serialised
    async def untag(self, arn: str, keys: list[str]) -> None:
        resource = self._tagged(arn)
        await self._retag(resource, {k: v for k, v in resource.tags.items() if k not in keys})

    async def _retag(self, resource: EventBus | Rule, tags: dict[str, str]) -> None:
        previous = resource.tags
        resource.tags = tags
        try:
            if isinstance(resource, EventBus):
                await self._save_bus(resource)
            else:
                await self.store.put_rule(stored_rule(resource))
        except BaseException:
            resource.tags = previous
            raise


def stored_rule(rule: Rule) -> StoredRule:
    """A rule as the store keeps it (its PutRule members by AWS's names, and its tags)."""
    body: dict[str, Any] = {"State": rule.state, "Tags": rule.tags, "Created": rule.created}
    if rule.armed:
        body["Armed"] = rule.armed
    for member, value in (
        ("EventPattern", rule.event_pattern),
        ("ScheduleExpression", rule.schedule),
        ("Description", rule.description),
        ("RoleArn", rule.role_arn),
    ):
        if value is not None:
            body[member] = value
    return StoredRule(rule.bus, rule.name, body)


def check_bus_name(name: str, member: str) -> None:
    if len(name) > 256:
        raise constraint(name, member, max_length_rule(256))
    if not _BUS_NAME.fullmatch(name):
        raise constraint(name, member, BUS_NAME_PATTERN_RULE)


def check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise EventsValidationException(
            f"1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TAGS}"
        )
