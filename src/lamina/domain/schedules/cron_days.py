"""Which days of a month a cron expression's day fields select.

AWS's cron has two day fields, exactly one of which is ``?``: the other one decides. Each
form of a day field is a ``DaySpec``: ``days(year, month)`` lists the days it selects, in
order. Day-of-week numbers are AWS's: 1 = Sunday ... 7 = Saturday.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Protocol


def month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def aws_day_of_week(year: int, month: int, day: int) -> int:
    """AWS's day-of-week number of a date: 1 = Sunday ... 7 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


class DaySpec(Protocol):
    def days(self, year: int, month: int) -> list[int]:
        """The days of ``month`` this field selects, ascending (may be empty)."""
        ...


@dataclass(frozen=True, slots=True)
class DaysOfMonth:
    """Day-of-month numbers (``*``, lists, ranges, steps); days past the month's end never
    match."""

    values: frozenset[int]

    def days(self, year: int, month: int) -> list[int]:
        last = month_length(year, month)
        return sorted(day for day in self.values if day <= last)


@dataclass(frozen=True, slots=True)
class LastDayOfMonth:
    """``L`` in day-of-month."""

    def days(self, year: int, month: int) -> list[int]:
        return [month_length(year, month)]


@dataclass(frozen=True, slots=True)
class NearestWeekday:
    """``nW``: the weekday (Monday to Friday) nearest day ``n``, never in another month; no
    day in a month shorter than ``n`` days."""

    day: int

    def days(self, year: int, month: int) -> list[int]:
        last = month_length(year, month)
        if self.day > last:
            return []
        dow = aws_day_of_week(year, month, self.day)
        if dow == 7:  # Saturday: the Friday before, or the Monday after on the 1st
            return [self.day - 1] if self.day > 1 else [self.day + 2]
        if dow == 1:  # Sunday: the Monday after, or the Friday before on the last day
            return [self.day + 1] if self.day < last else [self.day - 2]
        return [self.day]


@dataclass(frozen=True, slots=True)
class LastWeekdayOfMonth:
    """``LW``: the month's last weekday (Monday to Friday)."""

    def days(self, year: int, month: int) -> list[int]:
        day = month_length(year, month)
        while aws_day_of_week(year, month, day) in (1, 7):
            day -= 1
        return [day]


@dataclass(frozen=True, slots=True)
class DaysOfWeek:
    """Day-of-week numbers (1 = Sunday ... 7 = Saturday)."""

    values: frozenset[int]

    def days(self, year: int, month: int) -> list[int]:
        return [
            day
            for day in range(1, month_length(year, month) + 1)
            if aws_day_of_week(year, month, day) in self.values
        ]


@dataclass(frozen=True, slots=True)
class LastDayOfWeek:
    """``nL`` in day-of-week: the month's last day ``n`` (``6L``: the last Friday)."""

    day_of_week: int

    def days(self, year: int, month: int) -> list[int]:
        day = month_length(year, month)
        while aws_day_of_week(year, month, day) != self.day_of_week:
            day -= 1
        return [day]


@dataclass(frozen=True, slots=True)
class NthDayOfWeek:
    """``d#k``: the month's ``k``-th day ``d`` (``SAT#3``: the third Saturday); none in a
    month without a ``k``-th one."""

    day_of_week: int
    nth: int

    def days(self, year: int, month: int) -> list[int]:
        first = 1 + (self.day_of_week - aws_day_of_week(year, month, 1)) % 7
        day = first + 7 * (self.nth - 1)
        return [day] if day <= month_length(year, month) else []
