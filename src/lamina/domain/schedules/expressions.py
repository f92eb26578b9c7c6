"""Schedule expressions of EventBridge rules and of EventBridge Scheduler, and when they fire.

``parse_rule_schedule`` reads PutRule's ``rate()`` and ``cron()`` (UTC);
``parse_scheduler_expression`` reads Scheduler's ``at()``, ``rate()`` and ``cron()`` in a
``ScheduleExpressionTimezone``. Each returns a ``Schedule``: ``next_fire(after)`` is the first
fire strictly after ``after`` (aware datetimes; the answer is in UTC), or None once the
schedule fires no more.

Time zones (Scheduler user guide, "Daylight saving time"): a cron time that does not exist
on the day clocks go forward is skipped; a time that occurs twice on the day they go back
fires once, at its first occurrence. ``rate()`` counts elapsed time, unaffected by zones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lamina.domain.schedules.cron import CronFields, parse_cron_fields
from lamina.domain.schedules.errors import (
    ExpressionSyntaxError,
    InvalidRuleSchedule,
    InvalidSchedulerExpression,
    SchedulerValidationException,
)

UTC = timezone.utc

_RATE = re.compile(r"rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_AT = re.compile(r"at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# A rate's value is bounded so that its period stays a representable timedelta.
MAX_RATE_VALUE = 1_000_000


class Schedule(Protocol):
    """When something fires."""

    @property
    def expression(self) -> str: ...

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire strictly after ``after`` (aware), in UTC; None: no more fires."""
        ...


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """``rate(value unit)``: every ``period``, counted from ``anchor`` (the creation or
    start time) when it is set, else from the ``after`` given (so that a runner asking
    for the fire after the previous one gets one period later)."""

    expression: str
    period: timedelta
    anchor: datetime | None = None
    fires_at_anchor: bool = False

    def anchored(self, anchor: datetime, *, fires_at_anchor: bool = False) -> RateSchedule:
        """The same rate counted from ``anchor``: fires at ``anchor + k * period`` for k >= 1
        (EventBridge rules), or k >= 0 with ``fires_at_anchor`` (Scheduler: a rate schedule
        first fires at its StartDate, or at once when it has none)."""
        return RateSchedule(self.expression, self.period, anchor.astimezone(UTC), fires_at_anchor)

    def next_fire(self, after: datetime) -> datetime | None:
        after = after.astimezone(UTC)
        if self.anchor is None:
            return after + self.period
        if after < self.anchor:
            return self.anchor if self.fires_at_anchor else self.anchor + self.period
        periods = (after - self.anchor) // self.period + 1
        return self.anchor + periods * self.period


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """``cron(...)`` evaluated on the wall clock of ``zone`` (UTC for rules)."""

    expression: str
    fields: CronFields
    zone: tzinfo = UTC

    def next_fire(self, after: datetime) -> datetime | None:
        after = after.astimezone(UTC)
        local_after = after.astimezone(self.zone)
        for wall_time in self.fields.local_times_from(local_after):
            fire = _wall_time_to_utc(wall_time, self.zone)
            if fire is not None and fire > after:
                return fire
        return None


@dataclass(frozen=True, slots=True)
class AtSchedule:
    """``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time of ``zone``."""

    expression: str
    at: datetime  # aware, UTC

    def next_fire(self, after: datetime) -> datetime | None:
        return self.at if self.at > after.astimezone(UTC) else None


def parse_rule_schedule(expression: str) -> RateSchedule | CronSchedule:
    """PutRule's ``ScheduleExpression`` (UTC); ``InvalidRuleSchedule`` (AWS's
    "Parameter ScheduleExpression is not valid.") if it is not one."""
    try:
        return _rate_or_cron(expression, UTC)
    except ExpressionSyntaxError:
        raise InvalidRuleSchedule() from None


def parse_scheduler_expression(
    expression: str, timezone: str | None = None
) -> RateSchedule | CronSchedule | AtSchedule:
    """A Scheduler ``ScheduleExpression`` in ``timezone`` (an IANA name; None: UTC).
    ``InvalidSchedulerExpression`` ("Invalid Schedule Expression <expr>.") for a bad
    expression, ``SchedulerValidationException`` for an unknown time zone."""
    zone = scheduler_zone(timezone)
    at = _AT.fullmatch(expression)
    if at:
        try:
            wall_time = datetime.fromisoformat(at.group(1))
        except ValueError:
            raise InvalidSchedulerExpression(expression) from None
        return AtSchedule(expression, wall_time.replace(tzinfo=zone).astimezone(UTC))
    try:
        return _rate_or_cron(expression, zone)
    except ExpressionSyntaxError:
        raise InvalidSchedulerExpression(expression) from None


def scheduler_zone(timezone: str | None) -> tzinfo:
    """The zone a ``ScheduleExpressionTimezone`` names (None or empty: UTC)."""
    if not timezone:
        return UTC
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SchedulerValidationException(f"Invalid timezone {timezone}.") from None


def _rate_or_cron(expression: str, zone: tzinfo) -> RateSchedule | CronSchedule:
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if (value == 1) != (not unit.endswith("s")) or value > MAX_RATE_VALUE:
            raise ExpressionSyntaxError("the unit is singular exactly for 1")
        period = timedelta(seconds=value * _UNIT_SECONDS[unit.removesuffix("s")])
        return RateSchedule(expression, period)
    cron = _CRON.fullmatch(expression)
    if cron:
        return CronSchedule(expression, parse_cron_fields(cron.group(1)), zone)
    raise ExpressionSyntaxError("neither rate() nor cron()")


def _wall_time_to_utc(wall_time: datetime, zone: tzinfo) -> datetime | None:
    """The UTC instant of a naive wall-clock time in ``zone``: its first occurrence when
    clocks went back; None if clocks skipped it."""
    first = wall_time.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall_time:
        return None
    return instant
