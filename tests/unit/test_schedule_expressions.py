"""Schedule expressions: AWS's recorded valid/invalid cases (PutRule and Scheduler), and when
each kind of expression fires (rate, cron forms, at, time zones and daylight saving)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lamina.domain.schedules import (
    RULE_SCHEDULE_INVALID,
    InvalidRuleSchedule,
    InvalidSchedulerExpression,
    RateSchedule,
    SchedulerValidationException,
    parse_rule_schedule,
    parse_scheduler_expression,
)

UTC = timezone.utc
CASES = json.loads(
    (
        Path(__file__).parent.parent / "fixtures/aws-recorded/events/schedule_expression_cases.json"
    ).read_text()
)
RULES = CASES["events_put_rule"]
SCHEDULER = CASES["scheduler_create_schedule"]


@pytest.mark.parametrize("expression", RULES["valid"])
def test_put_rule_accepts_what_aws_accepted(expression: str) -> None:
    assert parse_rule_schedule(expression).expression == expression


@pytest.mark.parametrize("expression", RULES["invalid"])
def test_put_rule_rejects_what_aws_rejected_with_its_message(expression: str) -> None:
    with pytest.raises(InvalidRuleSchedule) as raised:
        parse_rule_schedule(expression)
    error = raised.value
    assert (error.code, error.status, error.message) == (
        RULES["error_for_invalid"]["code"],
        RULES["error_for_invalid"]["http_status"],
        RULES["error_for_invalid"]["message"],
    )
    assert error.message == RULE_SCHEDULE_INVALID


@pytest.mark.parametrize("expression", SCHEDULER["valid"])
def test_scheduler_accepts_what_aws_accepted(expression: str) -> None:
    assert parse_scheduler_expression(expression, "UTC").expression == expression


@pytest.mark.parametrize("expression", SCHEDULER["invalid"])
def test_scheduler_rejects_what_aws_rejected_with_its_message(expression: str) -> None:
    with pytest.raises(InvalidSchedulerExpression) as raised:
        parse_scheduler_expression(expression, None)
    expected = SCHEDULER["error_for_invalid"]
    assert raised.value.code == expected["code"]
    assert raised.value.status == expected["http_status"]
    assert raised.value.message == expected["message"].format(expression=expression)


def test_scheduler_rejects_an_unknown_time_zone() -> None:
    with pytest.raises(SchedulerValidationException):
        parse_scheduler_expression("rate(1 minute)", "Mars/Olympus_Mons")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (expression, after (UTC), the next fires)
NEXT_FIRES = [
    ("cron(0 10 * * ? *)", "2026-12-07T10:00", ["2026-12-08T10:00", "2026-12-09T10:00"]),
    ("cron(0 18 ? * MON-FRI *)", "2026-12-11T18:00", ["2026-12-14T18:00"]),  # Fri -> Mon
    ("cron(0/15 * * * ? *)", "2026-12-07T01:44:59", ["2026-12-07T01:45", "2026-12-07T02:00"]),
    ("cron(0 8 L * ? *)", "2027-02-01T00:00", ["2027-02-28T08:00", "2027-03-31T08:00"]),
    ("cron(0 8 L 2 ? *)", "2027-03-01T00:00", ["2028-02-29T08:00"]),  # leap year
    # 15W: 2026-08-15 is a Saturday -> Friday 14th; 2026-11-15 a Sunday -> Monday 16th.
    ("cron(0 9 15W * ? *)", "2026-08-01T00:00", ["2026-08-14T09:00", "2026-09-15T09:00"]),
    ("cron(0 9 15W 11 ? *)", "2026-01-01T00:00", ["2026-11-16T09:00"]),
    # 1W on Saturday 2026-08-01 -> Monday 3rd (never the previous month).
    ("cron(0 9 1W 8 ? *)", "2026-01-01T00:00", ["2026-08-03T09:00"]),
    # LW: the last weekday; 2026-05-31 is a Sunday -> Friday 29th.
    ("cron(0 9 LW 5 ? *)", "2026-01-01T00:00", ["2026-05-29T09:00"]),
    # 6L: the last Friday; SAT#3: the third Saturday; day-of-week 1 = Sunday.
    ("cron(15 10 ? * 6L *)", "2026-12-01T00:00", ["2026-12-25T10:15", "2027-01-29T10:15"]),
    ("cron(0 2 ? * SAT#3 *)", "2026-12-01T00:00", ["2026-12-19T02:00", "2027-01-16T02:00"]),
    ("cron(0 0 ? * 1 *)", "2026-12-07T00:00", ["2026-12-13T00:00"]),  # Sunday
    ("cron(0 0 ? * 5#5 *)", "2026-12-01T00:00", ["2026-12-31T00:00", "2027-04-29T00:00"]),
    ("cron(0 22-2 * * ? *)", "2026-12-07T02:00", ["2026-12-07T22:00", "2026-12-07T23:00"]),
    ("cron(0 0 1 JAN ? 2027-2028)", "2026-06-01T00:00", ["2027-01-01T00:00", "2028-01-01T00:00"]),
    ("cron(0 0 1 JAN ? 2027)", "2027-01-01T00:00", []),
    ("cron(15 10 ? * 6L 2002-2005)", "2026-01-01T00:00", []),
    ("cron(0 0 30 2 ? *)", "2026-01-01T00:00", []),
]


@pytest.mark.parametrize(("expression", "after", "fires"), NEXT_FIRES)
def test_cron_next_fires(expression: str, after: str, fires: list[str]) -> None:
    schedule = parse_rule_schedule(expression)
    moment = at(after)
    for expected in fires:
        nxt = schedule.next_fire(moment)
        assert nxt == at(expected)
        moment = nxt
    if not fires:
        assert schedule.next_fire(moment) is None


def test_rate_counts_from_its_anchor_or_from_the_previous_fire() -> None:
    rate = parse_rule_schedule("rate(5 minutes)")
    assert isinstance(rate, RateSchedule)
    assert rate.next_fire(at("2026-12-07T01:02:03")) == at("2026-12-07T01:07:03")
    anchored = rate.anchored(at("2026-12-07T01:00"))
    assert anchored.next_fire(at("2026-12-07T00:00")) == at("2026-12-07T01:05")
    assert anchored.next_fire(at("2026-12-07T01:05")) == at("2026-12-07T01:10")
    assert anchored.next_fire(at("2026-12-07T01:07:30")) == at("2026-12-07T01:10")
    assert parse_rule_schedule("rate(1 day)").next_fire(at("2026-12-07T00:00")) == at(
        "2026-12-08T00:00"
    )
    assert parse_rule_schedule("rate(2 hours)").next_fire(at("2026-12-07T00:00")) == at(
        "2026-12-07T02:00"
    )


def test_at_fires_once_at_its_wall_clock_time_in_its_zone() -> None:
    schedule = parse_scheduler_expression("at(2027-01-15T09:30:00)", "America/New_York")
    assert schedule.next_fire(at("2027-01-01T00:00")) == at("2027-01-15T14:30")
    assert schedule.next_fire(at("2027-01-15T14:30")) is None
    utc = parse_scheduler_expression("at(2027-01-15T09:30:00)", None)
    assert utc.next_fire(at("2027-01-01T00:00")) == at("2027-01-15T09:30")


def test_cron_in_a_zone_follows_its_wall_clock() -> None:
    schedule = parse_scheduler_expression("cron(0 9 * * ? *)", "Europe/Paris")
    # Winter: UTC+1; summer: UTC+2.
    assert schedule.next_fire(at("2027-01-10T12:00")) == at("2027-01-11T08:00")
    assert schedule.next_fire(at("2027-07-10T12:00")) == at("2027-07-11T07:00")


def test_dst_spring_forward_skips_a_time_that_does_not_exist() -> None:
    # 2027-03-14: New York goes from 02:00 to 03:00; 02:30 does not exist that day.
    schedule = parse_scheduler_expression("cron(30 2 * * ? *)", "America/New_York")
    first = schedule.next_fire(at("2027-03-13T00:00"))
    assert first == at("2027-03-13T07:30")  # 02:30 EST
    assert schedule.next_fire(first) == at("2027-03-15T06:30")  # 02:30 EDT, the 14th skipped


def test_dst_fall_back_fires_a_repeated_time_once() -> None:
    # 2027-11-07: New York goes from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
    schedule = parse_scheduler_expression("cron(30 1 * * ? *)", "America/New_York")
    first = schedule.next_fire(at("2027-11-07T00:00"))
    assert first == at("2027-11-07T05:30")  # 01:30 EDT, the first occurrence
    assert schedule.next_fire(first) == at("2027-11-08T06:30")  # not 06:30 on the 7th
    hourly = parse_scheduler_expression("cron(0 * * * ? *)", "America/New_York")
    fires = [at("2027-11-07T03:30")]
    for _ in range(4):
        nxt = hourly.next_fire(fires[-1])
        assert nxt is not None
        fires.append(nxt)
    # 00:00 EDT, 01:00 EDT, (01:00 EST is the same wall time: once), 02:00 EST, 03:00 EST.
    assert fires[1:] == [
        at("2027-11-07T04:00"),
        at("2027-11-07T05:00"),
        at("2027-11-07T07:00"),
        at("2027-11-07T08:00"),
    ]


def test_rate_ignores_zones() -> None:
    schedule = parse_scheduler_expression("rate(1 hour)", "America/New_York")
    assert schedule.next_fire(at("2027-03-14T06:30")) == at("2027-03-14T06:30") + timedelta(hours=1)


def test_zone_aware_inputs_in_other_zones_are_the_same_instant() -> None:
    schedule = parse_rule_schedule("cron(0 10 * * ? *)")
    paris = datetime(2026, 12, 7, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))  # 09:30 UTC
    assert schedule.next_fire(paris) == at("2026-12-07T10:00")


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 0 ? * MON#6 *)",  # no sixth week
        "cron(0 0 32W * ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 0 *)",  # 0 is not a day (1 = Sunday)
        "cron(0 0 1 13 ? *)",
        "cron(0 0 1 1 ? 1969)",
        "cron(0 0 1 1 ? 2200)",
        "cron(0 0 1 1 ? 2030-2020)",  # years never wrap
        "cron(0 0 ? ? ? *)",
        "cron(0 0 1 1 ? * *)",
        "cron(0 0 1,,2 1 ? *)",
        "cron(0/0 0 1 1 ? *)",
        "cron(0  0 1 1 ? *)",
        "cron(0 0 ? * MON#1,TUE#2 *)",
        "rate(1000001 minutes)",
    ],
)
def test_more_invalid_cron_forms(expression: str) -> None:
    with pytest.raises(InvalidRuleSchedule):
        parse_rule_schedule(expression)
