"""EventBridge deliveries through a real server: PutEvents to a real Lambda function (its
handler sees the event), to SQS queues (plain, FIFO, transformed input), through another
bus, a failing target's dead-letter queue, and accepted events surviving a SIGKILL."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import REGION, LaminaServer, create_python_function, unique

RECORDER = "import json\ndef handler(event, context):\n    print('RECORD ' + json.dumps(event))\n"
RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/events"
SNAPSHOT = json.loads((RECORDED / "test_events.snapshot.json").read_text())
ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def events(server: LaminaServer) -> Any:
    return server.client("events")


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def new_queue(sqs: Any, fifo: bool = False) -> tuple[str, str]:
    name = unique("ebq") + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def receive(sqs: Any, url: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got.extend(
            sqs.receive_message(
                QueueUrl=url,
                WaitTimeSeconds=1,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
        )
    assert len(got) >= count, f"{len(got)} of {count} messages arrived"
    return got


def rule_to(
    events: Any, target: dict[str, Any], pattern: dict[str, Any], bus: str = "default"
) -> str:
    rule = unique("rule")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    answer = events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "t", **target}])
    assert answer["FailedEntryCount"] == 0
    return rule


def entry(source: str, **extra: Any) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": "core.update-account-command",
        "Detail": json.dumps(
            {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}}
        ),
        **extra,
    }


def envelope_shape(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its volatile members as the recordings show them."""
    return {**event, "id": "<id>", "time": "date", "account": "111111111111", "region": "<region>"}


def test_lambda_target_handler_sees_the_event(server: LaminaServer, events: Any) -> None:
    lam = server.client()
    name = create_python_function(lam, RECORDER)
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    source = unique("src")
    rule_to(events, {"Arn": function_arn}, {"source": [source]})
    answer = events.put_events(Entries=[entry(source)])
    assert answer["FailedEntryCount"] == 0
    event_id = answer["Entries"][0]["EventId"]

    def received() -> dict[str, Any] | None:
        try:
            found = server.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")
        except ClientError:
            return None
        for log_event in found["events"]:
            if log_event["message"].startswith("RECORD "):
                return dict(json.loads(log_event["message"][len("RECORD ") :]))
        return None

    event = eventually(received)
    assert event["id"] == event_id
    recorded = SNAPSHOT[
        "tests/aws/services/events/test_events.py::TestEventRule::"
        "test_process_to_multiple_matching_rules_single_target"
    ]["recorded-content"]["events"][0]
    assert envelope_shape(event) == {**envelope_shape(recorded), "source": source}
    assert list(event) == list(recorded)
    assert event["account"] == ACCOUNT and event["region"] == REGION


def test_sqs_target_receives_the_event_with_its_time(events: Any, sqs: Any) -> None:
    url, arn = new_queue(sqs)
    source = unique("src")
    rule_to(
        events, {"Arn": arn}, {"source": [source], "detail-type": ["core.update-account-command"]}
    )
    when = datetime(2022, 7, 13, 13, 48, 1, tzinfo=UTC)
    answer = events.put_events(Entries=[entry(source, Time=when), entry("not-matching")])
    (message,) = receive(sqs, url)
    body = json.loads(message["Body"])
    assert body["id"] == answer["Entries"][0]["EventId"]
    assert body["time"] == "2022-07-13T13:48:01Z"
    assert body["detail"] == {
        "command": "update-account",
        "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
    }
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_fifo_queue_with_message_group(events: Any, sqs: Any) -> None:
    url, arn = new_queue(sqs, fifo=True)
    source = unique("src")
    rule_to(
        events, {"Arn": arn, "SqsParameters": {"MessageGroupId": "group-1"}}, {"source": [source]}
    )
    events.put_events(Entries=[entry(source)])
    (message,) = receive(sqs, url)
    assert message["Attributes"]["MessageGroupId"] == "group-1"


def test_input_transformer_output(events: Any, sqs: Any) -> None:
    url, arn = new_queue(sqs)
    source = unique("src")
    transformer = {
        "InputPathsMap": {"userId": "$.detail.payload.acc_id", "payload": "$.detail.payload"},
        "InputTemplate": (
            '{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}'
        ),
    }
    rule_to(events, {"Arn": arn, "InputTransformer": transformer}, {"source": [source]})
    events.put_events(Entries=[entry(source)])
    (message,) = receive(sqs, url)
    want = SNAPSHOT_INPUTS_BODY
    assert json.loads(message["Body"]) == want


SNAPSHOT_INPUTS_BODY = json.loads((RECORDED / "test_events_inputs.snapshot.json").read_text())[
    "tests/aws/services/events/test_events_inputs.py::TestInputTransformer::"
    'test_input_transformer_nested_keys_replacement[{"method": "PUT", "path": '
    '"users-service/users/<userId>", "bod": <payload>}]'
]["recorded-content"]["input-transformed-messages"][0]["Body"]


def test_bus_to_bus(events: Any, sqs: Any) -> None:
    url, arn = new_queue(sqs)
    bus = unique("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("src")
    rule_to(events, {"Arn": bus_arn}, {"source": [source]})
    rule_to(events, {"Arn": arn}, {"source": [source]}, bus=bus)
    event_id = events.put_events(Entries=[entry(source)])["Entries"][0]["EventId"]
    (message,) = receive(sqs, url)
    assert json.loads(message["Body"])["id"] == event_id


def test_failing_target_goes_to_the_dead_letter_queue(events: Any, sqs: Any) -> None:
    dlq_url, dlq_arn = new_queue(sqs)
    source = unique("src")
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{unique('gone')}"
    rule = rule_to(
        events, {"Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}, {"source": [source]}
    )
    event_id = events.put_events(Entries=[entry(source)])["Entries"][0]["EventId"]
    (message,) = receive(sqs, dlq_url)
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert missing.rsplit(":", 1)[1] in attributes["ERROR_MESSAGE"]


def _client(server: LaminaServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def test_accepted_events_survive_sigkill(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    """Producers put events until the server is SIGKILLed; after a restart on the same data
    directory, every event PutEvents acknowledged reaches the queue."""
    data = tmp_path / "kill-data"
    first = own_server(data=data)
    sqs = first.client("sqs")
    url, arn = new_queue(sqs)
    rule_to(first.client("events"), {"Arn": arn}, {"source": ["load"]})
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def produce() -> None:
        client = _client(first, "events")
        while not stop.is_set():
            try:
                answer = client.put_events(Entries=[entry("load") for _ in range(10)])
            except Exception:  # noqa: BLE001 - the server died under this request
                return
            with lock:
                acknowledged.update(e["EventId"] for e in answer["Entries"] if "EventId" in e)

    producers = [threading.Thread(target=produce) for _ in range(4)]
    for producer in producers:
        producer.start()
    time.sleep(1.5)
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    stop.set()
    for producer in producers:
        producer.join(15)
    assert len(acknowledged) >= 100
    second = own_server(data=data)
    sqs = second.client("sqs")
    received: set[str] = set()
    deadline = time.monotonic() + 60
    while not acknowledged <= received and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10
        ).get("Messages", []):
            received.add(json.loads(message["Body"])["id"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert acknowledged - received == set()


def test_sns_topic_target(server: LaminaServer, events: Any, sqs: Any) -> None:
    sns = server.client("sns")
    topic_arn = sns.create_topic(Name=unique("ebt"))["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    source = unique("src")
    rule_to(events, {"Arn": topic_arn}, {"source": [source]})
    event_id = events.put_events(Entries=[entry(source)])["Entries"][0]["EventId"]
    (message,) = receive(sqs, url)
    notification = json.loads(message["Body"])
    assert notification["TopicArn"] == topic_arn
    assert json.loads(notification["Message"])["id"] == event_id


def test_scheduled_rule_invokes_the_function(own_server: Callable[..., LaminaServer]) -> None:
    """A ``rate()`` rule fires when the schedules' clock is advanced: the function's handler
    receives AWS's ``Scheduled Event``."""
    server = own_server()
    lam = server.client()
    name = create_python_function(lam, RECORDER)
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    events = server.client("events")
    rule_arn = events.put_rule(Name=unique("every"), ScheduleExpression="rate(5 minutes)")[
        "RuleArn"
    ]
    events.put_targets(Rule=rule_arn.rsplit("/", 1)[1], Targets=[{"Id": "f", "Arn": function_arn}])
    request = urllib.request.Request(f"{server.endpoint}/_lamina/clock?advance=300", method="POST")
    with urllib.request.urlopen(request, timeout=60):
        pass

    def received() -> dict[str, Any] | None:
        try:
            found = server.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")
        except ClientError:
            return None
        for log_event in found["events"]:
            if log_event["message"].startswith("RECORD "):
                return dict(json.loads(log_event["message"][len("RECORD ") :]))
        return None

    event = eventually(received)
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "aws.events",
        "Scheduled Event",
        {},
    )
    assert event["resources"] == [rule_arn]
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]


def test_bus_in_another_region(server: LaminaServer, events: Any) -> None:
    """A target bus in another region routes the event on that region's rules."""
    other = "eu-west-1"
    remote_events = server.client("events", region=other)
    remote_sqs = server.client("sqs", region=other)
    url, arn = new_queue(remote_sqs)
    assert f":{other}:" in arn
    bus_arn = remote_events.create_event_bus(Name=unique("far"))["EventBusArn"]
    source = unique("src")
    rule_to(remote_events, {"Arn": arn}, {"source": [source]}, bus=bus_arn.rsplit("/", 1)[1])
    rule_to(events, {"Arn": bus_arn}, {"source": [source]})
    event_id = events.put_events(Entries=[entry(source)])["Entries"][0]["EventId"]
    (message,) = receive(remote_sqs, url)
    body = json.loads(message["Body"])
    assert body["id"] == event_id and body["region"] == REGION
