"""Rules and targets: PutRule / DescribeRule / ListRules / ListRuleNamesByTarget /
EnableRule / DisableRule / DeleteRule and PutTargets / RemoveTargets / ListTargetsByRule,
with AWS's checks, quotas (300 rules per bus, 5 targets per rule) and messages.

A rule has an ``EventPattern`` (validated by the shared pattern language), a
``ScheduleExpression`` (default bus only; validated by the injected schedule checker and
handed to the ``SchedulePort`` when enabled), or both.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, Final, Protocol

from lamina.domain.event_pattern import EventPattern, InvalidEventPattern, compile_pattern
from lamina.services.events.arns import DEFAULT_BUS, BusKey
from lamina.services.events.errors import (
    NAME_PATTERN_RULE,
    EventsValidationException,
    InvalidEventPatternException,
    constraint,
    limit_exceeded,
    max_length_rule,
    rule_not_found,
)
from lamina.services.events.model import Rule, Target
from lamina.services.events.paging import page
from lamina.services.events.registry import EventsRegistry, check_tags, serialised, stored_rule
from lamina.services.events.transform import check_target_input

MAX_RULES_PER_BUS: Final = 300
MAX_TARGETS_PER_RULE: Final = 5
MAX_PATTERN_LENGTH: Final = 4096
_NAME: Final = re.compile(r"[\.\-_A-Za-z0-9]+")
INVALID_SCHEDULE: Final = "Parameter ScheduleExpression is not valid."


class SchedulePort(Protocol):
    """Where enabled scheduled rules are registered (the schedule runner's adapter)."""

    def rule_scheduled(self, rule: Rule) -> None:
        """``rule`` (enabled, with a schedule) should fire on its schedule from now on;
        called again whenever it changes."""
        ...

    def rule_unscheduled(self, rule: Rule) -> None:
        """``rule`` is disabled, deleted or no longer scheduled."""
        ...

    def rule_resumed(self, rule: Rule, last_fired: float | None) -> None:
        """At start: ``rule`` (enabled, with a schedule) resumes after its last fire (or
        after it was armed, when later), firing once for all it missed while down."""
        ...

    def now(self) -> float:
        """The schedules' clock (epoch seconds): when a rule is armed."""
        ...


ScheduleCheck = Callable[[str], None]


def check_name(name: str, member: str = "name") -> None:
    if len(name) > 64:
        raise constraint(name, member, max_length_rule(64))
    if not _NAME.fullmatch(name):
        raise constraint(name, member, NAME_PATTERN_RULE)


class RuleBook:
    def __init__(
        self,
        registry: EventsRegistry,
        schedule_check: ScheduleCheck,
        schedules: SchedulePort | None = None,
    ) -> None:
        self._registry = registry
        self.write_lock = registry.write_lock
        self._check_schedule = schedule_check
        self.schedules = schedules

    # --- rules --------------------------------------------------------------------------

    def rule(self, bus: BusKey, name: str) -> Rule:
        self._registry.bus(bus)
        rule = self._registry.rules.get(bus, {}).get(name)
        if rule is None:
            raise rule_not_found(name, bus.name)
        return rule

    @serialised
    async def put_rule(
        self,
        bus: BusKey,
        name: str,
        *,
        event_pattern: str | None,
        schedule: str | None,
        state: str | None,
        description: str | None,
        role_arn: str | None,
        tags: dict[str, str],
    ) -> Rule:
        check_name(name)
        if event_pattern is None and schedule is None:
            raise EventsValidationException(
                "Parameter(s) EventPattern or ScheduleExpression must be specified."
            )
        self._registry.bus(bus)
        pattern = None
        if event_pattern is not None:
            if len(event_pattern) > MAX_PATTERN_LENGTH:
                raise constraint(event_pattern, "eventPattern", max_length_rule(MAX_PATTERN_LENGTH))
            pattern = compile_checked(event_pattern)
        if schedule is not None:
            if bus.name != DEFAULT_BUS:
                raise EventsValidationException(
                    "ScheduleExpression is supported only on the default event bus."
                )
            try:
                self._check_schedule(schedule)
            except ValueError:
                raise EventsValidationException(INVALID_SCHEDULE) from None
        if state is not None and state not in ("ENABLED", "DISABLED"):
            raise constraint(
                state, "state", "Member must satisfy enum value set: [DISABLED, ENABLED]"
            )
        existing = self._registry.rules.get(bus, {})
        previous = existing.get(name)
        if previous is None and len(existing) >= MAX_RULES_PER_BUS:
            raise limit_exceeded()
        if previous is None:
            check_tags(tags)
        rule = Rule(
            bus,
            name,
            event_pattern,
            schedule,
            state or "ENABLED",
            description,
            role_arn,
            previous.tags if previous is not None else dict(tags),
            pattern,
            previous.created if previous is not None else self._registry.clock(),
            self._armed_now(schedule, state or "ENABLED"),
        )
        await self._registry.store.put_rule(stored_rule(rule))
        self._registry.keep_rule(rule)
        self._schedule(previous, rule)
        return rule

    def _armed_now(self, schedule: str | None, state: str) -> float:
        """When a rule put or enabled now starts its schedule (0: it does not)."""
        if self.schedules is None or schedule is None or state != "ENABLED":
            return 0.0
        return self.schedules.now()

    def _schedule(self, previous: Rule | None, rule: Rule | None) -> None:
        if self.schedules is None:
            return
        if previous is not None and previous.schedule is not None:
            self.schedules.rule_unscheduled(previous)
        if rule is not None and rule.schedule is not None and rule.enabled:
            self.schedules.rule_scheduled(rule)

    @serialised
    async def set_state(self, bus: BusKey, name: str, state: str) -> None:
        rule = self.rule(bus, name)
        if rule.state == state:
            return
        armed = self._armed_now(rule.schedule, state) or rule.armed
        updated = dataclasses.replace(rule, state=state, armed=armed)
        await self._registry.store.put_rule(stored_rule(updated))
        self._registry.keep_rule(updated)
        self._schedule(rule, updated)

    @serialised
    async def delete_rule(self, bus: BusKey, name: str) -> None:
        """Delete a rule without targets (AWS refuses otherwise); an unknown rule is no
        error."""
        self._registry.bus(bus)
        rule = self._registry.rules.get(bus, {}).get(name)
        if rule is None:
            return
        if self._registry.targets.get((bus, name)):
            raise EventsValidationException("Rule can't be deleted since it has targets.")
        await self._registry.store.delete_rule(bus, name)
        del self._registry.rules[bus][name]
        self._registry.targets.pop((bus, name), None)
        index = self._registry.indexes.get(bus)
        if index is not None:
            index.remove(name)
        self._schedule(rule, None)

    def list_rules(
        self, bus: BusKey, prefix: str | None, limit: int | None, token: str | None
    ) -> tuple[list[Rule], str | None]:
        self._registry.bus(bus)
        rules = sorted(
            (
                r
                for n, r in self._registry.rules.get(bus, {}).items()
                if not prefix or n.startswith(prefix)
            ),
            key=lambda r: r.name,
        )
        return page(rules, lambda r: r.name, limit, token)

    def rule_names_by_target(
        self, bus: BusKey, target_arn: str, limit: int | None, token: str | None
    ) -> tuple[list[str], str | None]:
        self._registry.bus(bus)
        names = sorted(
            name
            for name in self._registry.rules.get(bus, {})
            if any(t.arn == target_arn for t in self._registry.targets.get((bus, name), []))
        )
        return page(names, lambda n: n, limit, token)

    # --- targets ------------------------------------------------------------------------

    def targets(self, bus: BusKey, rule: str) -> list[Target]:
        self.rule(bus, rule)
        return list(self._registry.targets.get((bus, rule), []))

    def list_targets(
        self, bus: BusKey, rule: str, limit: int | None, token: str | None
    ) -> tuple[list[Target], str | None]:
        targets = self.targets(bus, rule)
        # Listed in the order they were put; the token is the position reached.
        ordered = [(f"{i:08d}", t) for i, t in enumerate(targets)]
        chosen, next_token = page(ordered, lambda pair: pair[0], limit, token)
        return [t for _, t in chosen], next_token

    @serialised
    async def put_targets(
        self, bus: BusKey, rule: str, wires: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """Add or replace (by Id) targets; returns the failed entries (none: every check
        AWS makes here fails the whole request)."""
        current = self.targets(bus, rule)
        for position, wire in enumerate(wires, start=1):
            check_target(wire, position)
        by_id = {t.id: t for t in current}
        for wire in wires:
            by_id[str(wire["Id"])] = Target.from_wire(wire)
        if len(by_id) > MAX_TARGETS_PER_RULE:
            raise limit_exceeded()
        targets = list(by_id.values())
        await self._registry.store.set_targets(bus, rule, [t.wire for t in targets])
        self._registry.targets[(bus, rule)] = targets
        return []

    @serialised
    async def remove_targets(self, bus: BusKey, rule: str, ids: list[str]) -> list[dict[str, str]]:
        """Remove targets by Id (unknown ids are ignored, as AWS does)."""
        current = self.targets(bus, rule)
        kept = [t for t in current if t.id not in ids]
        if len(kept) != len(current):
            await self._registry.store.set_targets(bus, rule, [t.wire for t in kept])
            self._registry.targets[(bus, rule)] = kept
        return []


def compile_checked(event_pattern: str) -> EventPattern:
    """The compiled pattern, or InvalidEventPatternException with AWS's message."""
    try:
        return compile_pattern(event_pattern)
    except InvalidEventPattern as exc:
        raise InvalidEventPatternException(
            f"Event pattern is not valid. Reason: {exc.raw_message}"
        ) from None


def check_target(wire: dict[str, Any], position: int) -> None:
    """One PutTargets member's checks (the first failure fails the request)."""
    target_id = str(wire.get("Id", ""))
    member = f"targets.{position}.member"
    if len(target_id) > 64:
        raise constraint(target_id, f"{member}.id", max_length_rule(64))
    if not _NAME.fullmatch(target_id):
        raise constraint(target_id, f"{member}.id", NAME_PATTERN_RULE)
    retry = wire.get("RetryPolicy") or {}
    attempts = retry.get("MaximumRetryAttempts")
    if attempts is not None and not 0 <= attempts <= 185:
        raise constraint(
            attempts,
            f"{member}.retryPolicy.maximumRetryAttempts",
            "Member must have value less than or equal to 185"
            if attempts > 185
            else "Member must have value greater than or equal to 0",
        )
    age = retry.get("MaximumEventAgeInSeconds")
    if age is not None and not 60 <= age <= 86_400:
        raise constraint(
            age,
            f"{member}.retryPolicy.maximumEventAgeInSeconds",
            "Member must have value less than or equal to 86400"
            if age > 86_400
            else "Member must have value greater than or equal to 60",
        )
    dead_letter = (wire.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter is not None and not dead_letter.startswith("arn:aws:sqs:"):
        raise EventsValidationException(
            f"Parameter(s) DeadLetterConfig.Arn for target {target_id} is not valid."
        )
    check_target_input(wire)
