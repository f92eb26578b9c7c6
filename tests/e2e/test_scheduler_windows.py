"""Scheduler's timing members through a real server, on its advanced clock: ``cron()`` in a
``ScheduleExpressionTimezone``, ``StartDate``/``EndDate`` bounds with
``ActionAfterCompletion: DELETE`` of a recurring schedule, and a ``FLEXIBLE`` time window."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, unique
from test_scheduler_delivery import OFF, ROLE, advance, drain, new_queue, server_now


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    """A server of its own: advancing its clock affects no other test."""
    server = LaminaServer(tmp_path_factory.mktemp("windows") / "data")
    server.start()
    yield server
    server.stop()


def seconds_to_next_utc_hour(server: LaminaServer) -> float:
    """Seconds from the server's now to its next UTC hour (at least 10: closer, the clock
    is first advanced past that hour). Call it before creating the schedule."""
    now = server_now(server)
    seconds = 3600 - (60 * now.minute + now.second + now.microsecond / 1e6)
    if seconds < 10:
        advance(server, seconds + 1)
        return seconds_to_next_utc_hour(server)
    return seconds


def test_cron_follows_its_time_zone(clocked: LaminaServer) -> None:
    """Minute 30 in Kolkata (UTC+05:30) is minute 0 in UTC: the schedule fires on the UTC
    hour, not at minute 30 of UTC."""
    url, arn = new_queue(clocked)
    sch = clocked.client("scheduler")
    name = unique("tz")
    to_hour = seconds_to_next_utc_hour(clocked)
    sch.create_schedule(
        Name=name,
        ScheduleExpression="cron(30 * * * ? *)",
        ScheduleExpressionTimezone="Asia/Kolkata",
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "kolkata"},
    )
    # The clock runs on meanwhile: stop a few seconds short of the hour.
    advance(clocked, to_hour - 5)  # passes UTC minute 30 if it was ahead: no fire
    assert drain(clocked, url) == []
    advance(clocked, 7)
    assert [m["Body"] for m in drain(clocked, url, wait=10)] == ["kolkata"]
    sch.delete_schedule(Name=name)


def test_bounded_recurring_schedule_deletes_itself_after_its_last_fire(
    clocked: LaminaServer,
) -> None:
    url, arn = new_queue(clocked)
    sch = clocked.client("scheduler")
    name = unique("bounded")
    now = server_now(clocked)
    sch.create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        StartDate=now + timedelta(minutes=1),
        EndDate=now + timedelta(minutes=3, seconds=30),
        ActionAfterCompletion="DELETE",
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "bounded"},
    )
    assert drain(clocked, url, wait=1) == []  # not before its StartDate
    advance(clocked, 5 * 60)  # fires at StartDate, +1 min, +2 min; EndDate stops it
    assert [m["Body"] for m in drain(clocked, url, wait=10)] == ["bounded"] * 3
    with pytest.raises(ClientError) as raised:
        sch.get_schedule(Name=name)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_flexible_window_fires_once_within_the_window(clocked: LaminaServer) -> None:
    url, arn = new_queue(clocked)
    sch = clocked.client("scheduler")
    name = unique("flex")
    to_hour = seconds_to_next_utc_hour(clocked)
    sch.create_schedule(
        Name=name,
        ScheduleExpression="cron(0 * * * ? *)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "flexible"},
    )
    advance(clocked, to_hour - 5)
    assert drain(clocked, url) == []  # never before the scheduled time
    advance(clocked, 10 * 60 + 6)  # the window's end
    assert [m["Body"] for m in drain(clocked, url, wait=10)] == ["flexible"]
    advance(clocked, 30 * 60)
    assert drain(clocked, url) == []  # once per scheduled time
    sch.delete_schedule(Name=name)


def test_the_clock_endpoint_reads_and_advances_with_any_method(clocked: LaminaServer) -> None:
    """docs/schedules.md: internal endpoints do not see the method, so GET and POST both read
    the clock, and both advance it when given ``advance``."""

    def call(method: str, query: str = "") -> dict[str, Any]:
        request = urllib.request.Request(f"{clocked.endpoint}/_lamina/clock{query}", method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    start = call("POST")["offset"]
    assert call("GET")["offset"] == start
    assert call("GET", "?advance=60")["offset"] == start + 60
    assert call("POST", "?advance=30")["offset"] == start + 90
