"""Scheduler schedules fire for real: the test advances the server's clock
(``POST /_lamina/clock?advance=``) and checks what real functions and queues received.
Nothing here sleeps more than a receive's short wait."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, create_python_function, unique

from lamina.wiring.scheduler import CLOCK_OFFSET_ENV

ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler-role"
OFF = {"Mode": "OFF"}
HANDLER = (
    "def handler(event, context):\n"
    "    return {'handled': event, 'function': context.function_name}\n"
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    """A server of its own: advancing its clock affects no other test."""
    server = LaminaServer(tmp_path_factory.mktemp("scheduler") / "data")
    server.start()
    yield server
    server.stop()


def advance(server: LaminaServer, seconds: float) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.endpoint}/_lamina/clock?advance={seconds}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        clock: dict[str, Any] = json.loads(response.read())
    return clock


def server_now(server: LaminaServer) -> datetime:
    with urllib.request.urlopen(f"{server.endpoint}/_lamina/clock", timeout=10) as response:
        return datetime.fromtimestamp(json.loads(response.read())["now"], timezone.utc)


def new_queue(server: LaminaServer, fifo: bool = False) -> tuple[str, str]:
    sqs = server.client("sqs")
    name = unique("q") + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def drain(server: LaminaServer, url: str, wait: float = 0.0) -> list[dict[str, Any]]:
    """Every message now in the queue (waiting up to ``wait`` seconds for the first)."""
    sqs = server.client("sqs")
    out: list[dict[str, Any]] = []
    deadline = time.time() + wait
    while True:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1 if time.time() < deadline and not out else 0,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        out += got
        if not got and (out or time.time() >= deadline):
            return out


def test_rate_schedule_invokes_a_real_function(srv: LaminaServer) -> None:
    lam = srv.client("lambda")
    url, queue_arn = new_queue(srv)
    name = create_python_function(lam, HANDLER)
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn}}
    )
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    sch = srv.client("scheduler")
    schedule = unique("fn")
    sch.create_schedule(
        Name=schedule,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        Target={"Arn": function_arn, "RoleArn": ROLE, "Input": '{"from": "scheduler"}'},
    )
    # A rate schedule without a StartDate fires at once, then every minute.
    for minute in range(2):
        if minute:
            advance(srv, 60)
        [message] = drain(srv, url, wait=30)
        record = json.loads(message["Body"])
        assert record["requestPayload"] == {"from": "scheduler"}
        assert record["responsePayload"] == {"handled": {"from": "scheduler"}, "function": name}
        assert record["requestContext"]["condition"] == "Success"
    sch.delete_schedule(Name=schedule)
    advance(srv, 120)
    assert drain(srv, url, wait=3) == []  # a deleted schedule fires no more


def test_rate_schedule_delivers_input_to_a_queue_once_per_due_time(srv: LaminaServer) -> None:
    url, arn = new_queue(srv)
    sch = srv.client("scheduler")
    schedule = unique("sqs")
    sch.create_schedule(
        Name=schedule,
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "plain text input"},
    )
    assert [m["Body"] for m in drain(srv, url, wait=10)] == ["plain text input"]  # at once
    advance(srv, 4 * 60)
    assert drain(srv, url) == []
    advance(srv, 61)
    assert [m["Body"] for m in drain(srv, url)] == ["plain text input"]
    advance(srv, 10 * 60)  # two more due times in one advance: two deliveries
    assert [m["Body"] for m in drain(srv, url)] == ["plain text input"] * 2
    sch.update_schedule(
        Name=schedule,
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE},
        State="DISABLED",
    )
    advance(srv, 10 * 60)
    assert drain(srv, url) == []  # disabled
    sch.delete_schedule(Name=schedule)


def test_fifo_queue_target_gets_the_message_group(srv: LaminaServer) -> None:
    url, arn = new_queue(srv, fifo=True)
    sch = srv.client("scheduler")
    schedule = unique("fifo")
    sch.create_schedule(
        Name=schedule,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": arn,
            "RoleArn": ROLE,
            "Input": '{"n": 1}',
            "SqsParameters": {"MessageGroupId": "the-group"},
        },
    )
    [message] = drain(srv, url, wait=10)
    assert message["Body"] == '{"n": 1}'
    assert message["Attributes"]["MessageGroupId"] == "the-group"
    sch.delete_schedule(Name=schedule)


def test_one_time_schedule_with_delete_is_gone_after_firing(srv: LaminaServer) -> None:
    url, arn = new_queue(srv)
    sch = srv.client("scheduler")
    schedule = unique("once")
    # In New York's wall-clock time, two minutes from the server's now.
    zone_now = server_now(srv).astimezone(timezone(timedelta(hours=-5)))
    when = (zone_now + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S")
    sch.create_schedule(
        Name=schedule,
        ScheduleExpression=f"at({when})",
        ScheduleExpressionTimezone="Etc/GMT+5",
        FlexibleTimeWindow=OFF,
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "once"},
    )
    advance(srv, 60)
    assert drain(srv, url) == []
    assert sch.get_schedule(Name=schedule)["ActionAfterCompletion"] == "DELETE"
    advance(srv, 90)
    assert [m["Body"] for m in drain(srv, url)] == ["once"]
    with pytest.raises(ClientError) as raised:
        sch.get_schedule(Name=schedule)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_failed_deliveries_are_retried_then_dead_lettered(srv: LaminaServer) -> None:
    dlq_url, dlq_arn = new_queue(srv)
    sch = srv.client("scheduler")
    schedule = unique("dlq")
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('missing')}"
    sch.create_schedule(
        Name=schedule,
        ScheduleExpression="cron(0 * * * ? *)",
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": missing,
            "RoleArn": ROLE,
            "Input": "lost",
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    now = server_now(srv)
    advance(srv, 3600 - 60 * now.minute - now.second + 1)  # the hour: the fire fails
    assert drain(srv, dlq_url) == []  # retries follow after 1 s and 2 s
    advance(srv, 1)
    assert drain(srv, dlq_url) == []
    advance(srv, 2)
    [message] = drain(srv, dlq_url)
    assert message["Body"] == "lost"
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "ERROR_CODE": "AWS.SimpleQueueService.NonExistentQueue",
        "ERROR_MESSAGE": attributes["ERROR_MESSAGE"],
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "2",
        "SCHEDULE_ARN": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule}",
        "TARGET_ARN": missing,
    }
    sch.delete_schedule(Name=schedule)


def test_bad_clock_advances_are_refused(srv: LaminaServer) -> None:
    for bad in ("-5", "0", "soon", "nan"):
        request = urllib.request.Request(
            f"{srv.endpoint}/_lamina/clock?advance={bad}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == 400
    before = server_now(srv)
    from_page = urllib.request.Request(
        f"{srv.endpoint}/_lamina/clock?advance=3600",
        method="POST",
        headers={"Origin": "https://example.com"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(from_page, timeout=10)
    assert raised.value.code == 403  # web pages never reach /_lamina/
    assert server_now(srv) - before < timedelta(minutes=1)


def test_a_schedule_due_while_the_server_was_down_fires_once(
    own_server: Any, tmp_path: Path
) -> None:
    data = tmp_path / "down"
    first: LaminaServer = own_server(data=data)
    url, arn = new_queue(first)
    first.client("scheduler").create_schedule(
        Name="while-down",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "caught up"},
    )
    assert [m["Body"] for m in drain(first, url, wait=10)] == ["caught up"]  # at once
    first.stop(9)
    # Back ten minutes later (its clock starts 600 s ahead): ten due times passed while it
    # was down, and it fires once for all of them, at start, without any advance.
    os.environ[CLOCK_OFFSET_ENV] = "600"
    try:
        second: LaminaServer = own_server(data=data)
    finally:
        del os.environ[CLOCK_OFFSET_ENV]
    assert [m["Body"] for m in drain(second, url, wait=10)] == ["caught up"]
    advance(second, 30)
    assert drain(second, url) == []
    advance(second, 60)  # then once a minute again
    assert [m["Body"] for m in drain(second, url)] == ["caught up"]


def test_topic_and_event_bus_targets_deliver(srv: LaminaServer) -> None:
    sch = srv.client("scheduler")
    topic_url, topic_queue = new_queue(srv)
    bus_url, bus_queue = new_queue(srv)
    sns = srv.client("sns")
    topic = sns.create_topic(Name=unique("topic"))["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=topic_queue,
        Attributes={"RawMessageDelivery": "true"},
    )
    events = srv.client("events")
    source = unique("my.app")
    rule = unique("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": bus_queue}])
    to_topic, to_bus = unique("to-topic"), unique("to-bus")
    at = (server_now(srv) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    sch.create_schedule(
        Name=to_topic,
        ScheduleExpression=f"at({at})",
        FlexibleTimeWindow=OFF,
        Target={"Arn": topic, "RoleArn": ROLE, "Input": "via the topic"},
    )
    sch.create_schedule(
        Name=to_bus,
        ScheduleExpression=f"at({at})",
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
            "RoleArn": ROLE,
            "Input": '{"tick": 1}',
            "EventBridgeParameters": {"DetailType": "Tick", "Source": source},
        },
    )
    advance(srv, 61)
    assert [m["Body"] for m in drain(srv, topic_url, wait=10)] == ["via the topic"]
    [message] = drain(srv, bus_url, wait=10)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"], event["detail"]) == (source, "Tick", {"tick": 1})
    assert event["resources"] == [f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{to_bus}"]


def test_pending_retries_survive_a_sigkill(own_server: Any, tmp_path: Path) -> None:
    """A delivery that failed and waits for its retry is stored: after a SIGKILL the next
    start resumes its retries where they were (attempts counted on), then dead-letters."""
    data = tmp_path / "retries"
    first: LaminaServer = own_server(data=data)
    dlq_url, dlq_arn = new_queue(first)
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('missing')}"
    first.client("scheduler").create_schedule(
        Name="retried",
        ScheduleExpression="cron(0 * * * ? *)",
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": missing,
            "RoleArn": ROLE,
            "Input": "kept",
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    now = server_now(first)
    clock = advance(first, 3600 - 60 * now.minute - now.second + 0.5)  # the hour: it fails
    first.stop(9)  # a retry waits (due 1 s later): only the database knows it now
    os.environ[CLOCK_OFFSET_ENV] = str(clock["offset"])
    try:
        second: LaminaServer = own_server(data=data)
    finally:
        del os.environ[CLOCK_OFFSET_ENV]
    advance(second, 10)  # retries 1 (overdue at start), 2 and 3 all fail
    [message] = drain(second, dlq_url, wait=10)
    assert message["Body"] == "kept"
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RETRY_ATTEMPTS"] == "3"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["TARGET_ARN"] == missing
    assert drain(second, dlq_url, wait=2) == []  # once
