"""Scheduled rules through a real server: each ``Scheduled Event`` carries its due time (on
the advanced test clock), and a rule that was due while the server was down (SIGKILL) fires
once at start for everything it missed, then follows its expression again."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support import LaminaServer, unique
from test_eventbridge_delivery import new_queue

from lamina.wiring.scheduler import CLOCK_OFFSET_ENV

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/events"
CRON_TEST = (
    "tests/aws/services/events/test_events_schedule.py::TestScheduleCron::"
    "test_schedule_cron_target_sqs"
)


def recorded_scheduled_event() -> dict[str, Any]:
    """The Scheduled Event AWS delivered to a cron rule's queue (recorded, normalised)."""
    snapshot = json.loads((RECORDED / "test_events_schedule.snapshot.json").read_text())
    (message,) = snapshot[CRON_TEST]["recorded-content"]["message"]
    body: dict[str, Any] = message["Body"]
    return body


def as_recorded(event: dict[str, Any], rule: str) -> dict[str, Any]:
    """``event`` with its volatile members replaced as the recording's normaliser did."""
    resources = [
        "arn:<partition>:events:<region>:111111111111:rule/<rule-name>"
        for arn in event["resources"]
        if arn.endswith(f":rule/{rule}")
    ]
    return {
        **event,
        "id": "<uuid:2>",
        "account": "111111111111",
        "time": "date",
        "region": "<region>",
        "resources": resources,
    }


def advance(server: LaminaServer, seconds: float) -> datetime:
    """Advance the server's schedule clock; its new now."""
    request = urllib.request.Request(
        f"{server.endpoint}/_lamina/clock?advance={seconds}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return datetime.fromtimestamp(json.loads(response.read())["now"], UTC)


def scheduled_events(sqs: Any, url: str, wait: float = 1.0) -> list[dict[str, Any]]:
    """The events now in the queue (deleted), waiting up to ``wait`` s for the first."""
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0 if out else int(wait)
        ).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            out.append(json.loads(message["Body"]))
        if not got:
            return sorted(out, key=lambda event: str(event["time"]))


def event_time(event: dict[str, Any]) -> datetime:
    return datetime.strptime(str(event["time"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_scheduled_events_carry_their_due_times_and_catch_up_once_after_downtime(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    data = tmp_path / "rules"
    first = own_server(data=data)
    sqs = first.client("sqs")
    url, queue_arn = new_queue(sqs)
    events = first.client("events")
    rule = unique("minutely")
    rule_arn = events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])

    now = advance(first, 150)  # two due times passed: one event each, at its due time
    fired = scheduled_events(sqs, url, wait=10)
    assert [(e["source"], e["detail-type"], e["resources"]) for e in fired] == [
        ("aws.events", "Scheduled Event", [rule_arn])
    ] * 2
    times = [event_time(e) for e in fired]
    assert times[1] - times[0] == timedelta(minutes=1)
    assert now - timedelta(seconds=95) <= times[0] and times[1] <= now
    assert now - datetime.now(UTC) > timedelta(seconds=140)  # the test clock's time, not the wall's

    first.stop(signal.SIGKILL)
    # Back about ten minutes later: the rule missed nine due times, fires once at start.
    os.environ[CLOCK_OFFSET_ENV] = "750"
    try:
        second = own_server(data=data)
    finally:
        del os.environ[CLOCK_OFFSET_ENV]
    sqs = second.client("sqs")
    (caught_up,) = scheduled_events(sqs, url, wait=10)
    assert event_time(caught_up) == times[1] + timedelta(minutes=1)  # the first one missed
    assert scheduled_events(sqs, url, wait=0) == []
    now = advance(second, 60)  # then once a minute again, on the rule's phase
    (following,) = scheduled_events(sqs, url, wait=10)
    assert (event_time(following) - times[0]).total_seconds() % 60 == 0
    assert now - timedelta(seconds=60) < event_time(following) <= now


def test_a_cron_rule_fires_at_its_minute_with_that_time(
    own_server: Callable[..., LaminaServer],
) -> None:
    server = own_server()
    sqs = server.client("sqs")
    url, queue_arn = new_queue(sqs)
    events = server.client("events")
    rule = unique("quarter")
    events.put_rule(Name=rule, ScheduleExpression="cron(15 * * * ? *)")
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
    with urllib.request.urlopen(f"{server.endpoint}/_lamina/clock", timeout=10) as response:
        now = datetime.fromtimestamp(json.loads(response.read())["now"], UTC)
    due = now.replace(minute=15, second=0, microsecond=0)
    if due <= now:
        due += timedelta(hours=1)
    advance(server, (due - now).total_seconds() - 5)  # the clock runs on meanwhile
    assert scheduled_events(sqs, url, wait=0) == []
    advance(server, 6)
    (fired,) = scheduled_events(sqs, url, wait=10)
    assert event_time(fired) == due
    assert as_recorded(fired, rule) == recorded_scheduled_event()
    assert list(fired) == list(recorded_scheduled_event())  # AWS's member order
    events.disable_rule(Name=rule)
    advance(server, 3600)
    assert scheduled_events(sqs, url, wait=1) == []
