"""When a Scheduler schedule fires: its expression in its time zone, bounded by its start
and end dates, shifted by its flexible time window.

- ``at()`` fires once; StartDate and EndDate do not apply to it (as AWS ignores them for
  one-time schedules).
- ``rate()`` first fires at its StartDate, else at once (its creation or last update), then
  every period (Scheduler user guide, "Rate-based schedules").
- ``cron()`` fires at the times it selects on the zone's wall clock, from StartDate to
  EndDate inclusive.
- A FLEXIBLE window of W minutes delays each fire by a uniformly random time in [0, W)
  minutes (AWS invokes "within the window" after the scheduled time).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from lamina.domain.schedules import (
    AtSchedule,
    RateSchedule,
    Schedule,
    parse_scheduler_expression,
)
from lamina.services.scheduler.records import ScheduleRecord

UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class BoundedSchedule:
    """``inner`` fires only within [start, end] (either may be open)."""

    inner: Schedule
    start: datetime | None
    end: datetime | None

    @property
    def expression(self) -> str:
        return self.inner.expression

    def next_fire(self, after: datetime) -> datetime | None:
        if self.start is not None and after < self.start:
            # Fires at the start itself too (cron's second resolution: a hair before it).
            after = self.start - timedelta(microseconds=1)
        fire = self.inner.next_fire(after)
        if fire is None or (self.end is not None and fire > self.end):
            return None
        return fire


@dataclass(frozen=True)
class FlexibleSchedule:
    """``inner``'s fires, each delayed by a random part of ``window``."""

    inner: Schedule
    window: timedelta
    rng: random.Random = field(default_factory=random.Random)

    @property
    def expression(self) -> str:
        return self.inner.expression

    def next_fire(self, after: datetime) -> datetime | None:
        fire = self.inner.next_fire(after)
        if fire is None:
            return None
        return fire + self.window * self.rng.random()


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def run_schedule(record: ScheduleRecord) -> Schedule:
    """The schedule the runner follows for ``record`` (its expression was validated)."""
    base = parse_scheduler_expression(record.expression, record.timezone)
    schedule: Schedule = base
    if not isinstance(base, AtSchedule):
        if isinstance(base, RateSchedule):
            anchor = record.start_date if record.start_date is not None else record.modified
            base = base.anchored(datetime.fromtimestamp(anchor, UTC), fires_at_anchor=True)
        schedule = BoundedSchedule(base, _utc(record.start_date), _utc(record.end_date))
    if record.flexible_window_minutes:
        schedule = FlexibleSchedule(schedule, timedelta(minutes=record.flexible_window_minutes))
    return schedule


def is_one_time(record: ScheduleRecord) -> bool:
    return record.expression.startswith("at(")
