"""AWS's six-field cron: ``cron(minutes hours day-of-month month day-of-week year)``.

The dialect (EventBridge user guide, "Cron expressions"; shared/docs/events-http-iam.md §4.6):

| field        | values                   | forms                                   |
|--------------|--------------------------|-----------------------------------------|
| minutes      | 0-59                     | ``, - * /``                             |
| hours        | 0-23                     | ``, - * /``                             |
| day-of-month | 1-31                     | ``, - * / ?`` and ``L``, ``nW``, ``LW`` |
| month        | 1-12 or JAN-DEC          | ``, - * /``                             |
| day-of-week  | 1-7 (1 = SUN) or SUN-SAT | ``, - * / ?`` and ``L``, ``nL``, ``d#k``|
| year         | 1970-2199                | ``, - * /``                             |

Exactly one of day-of-month and day-of-week is ``?``. ``a/k`` starts at ``a`` and steps by
``k``; a range whose start is after its end wraps around (hours ``22-2``), except years.
``L``, ``W`` and ``#`` forms stand alone in their field. Names are case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from lamina.domain.schedules.cron_days import (
    DaysOfMonth,
    DaysOfWeek,
    DaySpec,
    LastDayOfMonth,
    LastDayOfWeek,
    LastWeekdayOfMonth,
    NearestWeekday,
    NthDayOfWeek,
)
from lamina.domain.schedules.errors import ExpressionSyntaxError

MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
DAY_NAMES = {
    name: number
    for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)
}
FIRST_YEAR, LAST_YEAR = 1970, 2199

_ELEMENT = re.compile(
    r"(?P<start>\*|[0-9A-Za-z]+)(?:-(?P<end>[0-9A-Za-z]+))?(?:/(?P<step>[0-9]+))?"
)
_NEAREST_WEEKDAY = re.compile(r"([0-9]{1,2})W")
_LAST_DAY_OF_WEEK = re.compile(r"([0-9A-Za-z]+)L")
_NTH_DAY_OF_WEEK = re.compile(r"([0-9A-Za-z]+)#([0-9])")


@dataclass(frozen=True, slots=True)
class CronFields:
    """A parsed cron expression: the values each field selects."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DaySpec
    months: frozenset[int]
    years: tuple[int, ...]

    def local_times_from(self, start: datetime) -> Iterator[datetime]:
        """Every naive (wall-clock) time the expression selects at or after ``start``
        (seconds ignored), ascending; ends after the last selected year."""
        begin = start.replace(second=0, microsecond=0, tzinfo=None)
        for year in self.years:
            if year < begin.year:
                continue
            for month in sorted(self.months):
                if (year, month) < (begin.year, begin.month):
                    continue
                for day in self.days.days(year, month):
                    same_day = (year, month, day) == (begin.year, begin.month, begin.day)
                    if same_day or (year, month, day) > (begin.year, begin.month, begin.day):
                        yield from self._times_of_day(year, month, day, begin if same_day else None)

    def _times_of_day(
        self, year: int, month: int, day: int, begin: datetime | None
    ) -> Iterator[datetime]:
        for hour in self.hours:
            if begin is not None and hour < begin.hour:
                continue
            same_hour = begin is not None and hour == begin.hour
            for minute in self.minutes:
                if same_hour and begin is not None and minute < begin.minute:
                    continue
                yield datetime(year, month, day, hour, minute)


def parse_cron_fields(body: str) -> CronFields:
    """The fields of ``cron(<body>)``; ``ExpressionSyntaxError`` if any is malformed."""
    parts = body.split(" ")
    if len(parts) != 6 or any(not part for part in parts):
        raise ExpressionSyntaxError("a cron expression has six fields")
    minutes, hours, day_of_month, month, day_of_week, year = parts
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ExpressionSyntaxError("exactly one of day-of-month and day-of-week is '?'")
    days = (
        _day_of_week_spec(day_of_week) if day_of_month == "?" else _day_of_month_spec(day_of_month)
    )
    return CronFields(
        minutes=tuple(sorted(_values(minutes, 0, 59))),
        hours=tuple(sorted(_values(hours, 0, 23))),
        days=days,
        months=frozenset(_values(month, 1, 12, MONTH_NAMES)),
        years=tuple(sorted(_values(year, FIRST_YEAR, LAST_YEAR, wraps=False))),
    )


def _day_of_month_spec(text: str) -> DaySpec:
    if text == "L":
        return LastDayOfMonth()
    if text == "LW":
        return LastWeekdayOfMonth()
    nearest = _NEAREST_WEEKDAY.fullmatch(text)
    if nearest:
        return NearestWeekday(_number(nearest.group(1), 1, 31))
    return DaysOfMonth(frozenset(_values(text, 1, 31)))


def _day_of_week_spec(text: str) -> DaySpec:
    if text == "L":
        return LastDayOfWeek(7)
    last = _LAST_DAY_OF_WEEK.fullmatch(text)
    if last:
        return LastDayOfWeek(_number(last.group(1), 1, 7, DAY_NAMES))
    nth = _NTH_DAY_OF_WEEK.fullmatch(text)
    if nth:
        return NthDayOfWeek(_number(nth.group(1), 1, 7, DAY_NAMES), _number(nth.group(2), 1, 5))
    return DaysOfWeek(frozenset(_values(text, 1, 7, DAY_NAMES)))


def _values(
    text: str, low: int, high: int, names: dict[str, int] | None = None, *, wraps: bool = True
) -> set[int]:
    """The values of a comma-separated list of ``*``, ``a``, ``a-b``, with an optional
    ``/step`` each."""
    out: set[int] = set()
    for element in text.split(","):
        found = _ELEMENT.fullmatch(element)
        if not found:
            raise ExpressionSyntaxError(f"bad element {element!r}")
        start_text, end_text, step_text = found.group("start", "end", "step")
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise ExpressionSyntaxError("a step is at least 1")
        if start_text == "*":
            if end_text is not None:
                raise ExpressionSyntaxError("'*' takes no range")
            start, end = low, high
        else:
            start = _number(start_text, low, high, names)
            if end_text is not None:
                end = _number(end_text, low, high, names)
            else:
                end = high if step_text is not None else start
        out.update(_stepped(start, end, step, low, high, wraps=wraps))
    return out


def _stepped(start: int, end: int, step: int, low: int, high: int, *, wraps: bool) -> list[int]:
    if start <= end:
        return list(range(start, end + 1, step))
    if not wraps:
        raise ExpressionSyntaxError("this field's ranges do not wrap around")
    span = list(range(start, high + 1)) + list(range(low, end + 1))
    return span[::step]


def _number(text: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    if text.isdigit() and text.isascii():
        value = int(text)
    elif names is not None and text.upper() in names:
        value = names[text.upper()]
    else:
        raise ExpressionSyntaxError(f"not a value: {text!r}")
    if not low <= value <= high:
        raise ExpressionSyntaxError(f"{value} is outside {low}-{high}")
    return value
