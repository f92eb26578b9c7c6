"""Scheduled rules on the schedule runner: an enabled rule with a ``ScheduleExpression`` is
a runner job (id ``events-rule:<rule ARN>``) whose every fire puts AWS's ``Scheduled
Event`` (source ``aws.events``, detail-type ``Scheduled Event``, resources [rule ARN],
detail ``{}``, ``time`` the due time) to the rule's targets through the delivery engine. A
``rate()`` counts from the rule's creation (so a restart keeps its phase).

PutRule and EnableRule arm a rule from now. At start a rule resumes after its last fire
(stored by the service) or after it was armed, whichever is later: due times that passed
while the server was down fire once in all (``missed_once``), as AWS catches up at most
once, then the rule follows its expression from the present."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from lamina.domain.schedules import (
    InvalidRuleSchedule,
    RateSchedule,
    Schedule,
    parse_rule_schedule,
)
from lamina.services.events.model import Rule
from lamina.services.schedules import ScheduleRunner

FireRule = Callable[[Rule, datetime], Awaitable[object]]


def check_rule_schedule(expression: str) -> None:
    """PutRule's check of a ``ScheduleExpression`` (ValueError when AWS rejects it)."""
    try:
        parse_rule_schedule(expression)
    except InvalidRuleSchedule:
        raise ValueError(expression) from None


def job_id(rule: Rule) -> str:
    return f"events-rule:{rule.arn}"


class RuleSchedules:
    """The ``SchedulePort`` of the rule book over a ``ScheduleRunner``."""

    def __init__(self, runner: ScheduleRunner, fire: FireRule | None = None) -> None:
        self.runner = runner
        self.fire = fire

    def now(self) -> float:
        return self.runner.clock.timestamp()

    def rule_scheduled(self, rule: Rule) -> None:
        self._arm(rule, after=None)

    def rule_resumed(self, rule: Rule, last_fired: float | None) -> None:
        since = max(rule.armed or rule.created, last_fired or 0.0)
        after = datetime.fromtimestamp(since, UTC) if since else None
        self._arm(rule, after=after, missed_once=True)

    def _arm(self, rule: Rule, *, after: datetime | None, missed_once: bool = False) -> None:
        if rule.schedule is None:
            return
        schedule: Schedule = parse_rule_schedule(rule.schedule)
        if isinstance(schedule, RateSchedule) and rule.created:
            # A rate counts from the rule's creation, across restarts.
            schedule = schedule.anchored(datetime.fromtimestamp(rule.created, UTC))

        async def fire(due: datetime) -> None:
            if self.fire is not None:
                await self.fire(rule, due)

        self.runner.set(job_id(rule), schedule, fire, after=after, missed_once=missed_once)

    def rule_unscheduled(self, rule: Rule) -> None:
        self.runner.remove(job_id(rule))
