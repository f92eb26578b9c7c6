"""Property test of the cron engine: for random expressions and instants, ``next_fire``
equals the first minute a straightforward, independent predicate accepts (scanned day by
day, then minute by minute within the day)."""

from __future__ import annotations

import calendar
import random
from datetime import date, datetime, timedelta, timezone

import pytest

from lamina.domain.schedules import parse_rule_schedule

UTC = timezone.utc
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def aws_dow(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # 1 = Sunday


def values_of(text: str, low: int, high: int, names: list[str] | None = None) -> set[int]:
    """An independent reading of ``, - * /`` (wrap-around ranges included)."""

    def number(token: str) -> int:
        return names.index(token) + low if names and token in names else int(token)

    out: set[int] = set()
    for element in text.split(","):
        base, _, step_text = element.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (number(t) for t in base.split("-"))
        else:
            first = number(base)
            last = high if step_text else first
        value, count = first, 0
        span = (last - first) % (high - low + 1)
        while count <= span:
            if count % step == 0:
                out.add(value)
            value = low if value == high else value + 1
            count += 1
    return out


def day_matches(dom: str, dow: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    weekdays = [d for d in range(1, last + 1) if date(day.year, day.month, d).weekday() < 5]
    if dom != "?":
        if dom == "L":
            return day.day == last
        if dom == "LW":
            return day.day == max(weekdays)
        if dom.endswith("W"):
            n = int(dom[:-1])
            return n <= last and day.day == min(weekdays, key=lambda d: abs(d - n))
        return day.day in values_of(dom, 1, 31)
    if dow.endswith("L"):
        return aws_dow(day) == int(dow[:-1]) and (day + timedelta(days=7)).month != day.month
    if "#" in dow:
        d, k = dow.split("#")
        return aws_dow(day) == int(d) and (day.day - 1) // 7 + 1 == int(k)
    return aws_dow(day) in values_of(dow, 1, 7, DAYS)


def reference_next(fields: list[str], after: datetime, horizon_days: int) -> datetime | None:
    minutes, hours, dom, month, dow, year = fields
    minute_set, hour_set = values_of(minutes, 0, 59), values_of(hours, 0, 23)
    month_set = values_of(month, 1, 12, MONTHS)
    year_set = values_of(year, 1970, 2199) if year != "*" else None
    day = after.date()
    for _ in range(horizon_days):
        if (
            (year_set is None or day.year in year_set)
            and day.month in month_set
            and day_matches(dom, dow, day)
        ):
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            for _ in range(24 * 60):
                if moment > after and moment.hour in hour_set and moment.minute in minute_set:
                    return moment
                moment += timedelta(minutes=1)
        day += timedelta(days=1)
    return None


def random_list(rng: random.Random, low: int, high: int, names: list[str] | None) -> str:
    def token(value: int) -> str:
        return names[value - low] if names and rng.random() < 0.3 else str(value)

    elements = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["*", "value", "range", "step", "star-step"])
        a, b = rng.randint(low, high), rng.randint(low, high)
        if kind == "*":
            return "*"
        if kind == "value":
            elements.append(token(a))
        elif kind == "range":
            elements.append(f"{token(a)}-{token(b)}")
        elif kind == "step":
            elements.append(f"{a}/{rng.randint(1, high - low + 1)}")
        else:
            elements.append(f"*/{rng.randint(1, high - low + 1)}")
    return ",".join(elements)


def random_expression(rng: random.Random) -> list[str]:
    minutes = random_list(rng, 0, 59, None)
    hours = random_list(rng, 0, 23, None)
    month = random_list(rng, 1, 12, MONTHS)
    if rng.random() < 0.5:
        dom = rng.choice([random_list(rng, 1, 31, None), "L", "LW", f"{rng.randint(1, 31)}W", "*"])
        dow = "?"
    else:
        dom = "?"
        dow = rng.choice(
            [
                random_list(rng, 1, 7, DAYS),
                f"{rng.randint(1, 7)}L",
                f"{rng.randint(1, 7)}#{rng.randint(1, 5)}",
            ]
        )
    year = rng.choice(["*", "*", f"{rng.randint(2026, 2028)}", "2026-2029"])
    return [minutes, hours, dom, month, dow, year]


@pytest.mark.parametrize("seed", range(12))
def test_next_fire_matches_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        fields = random_expression(rng)
        schedule = parse_rule_schedule(f"cron({' '.join(fields)})")
        after = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            minutes=rng.randint(0, 2 * 365 * 24 * 60)
        )
        horizon = 4 * 366
        expected = reference_next(fields, after, horizon)
        got = schedule.next_fire(after)
        if expected is None:
            assert got is None or got > after + timedelta(days=horizon - 1), fields
        else:
            assert got == expected, (fields, after)
