"""SNS topics and EventBridge buses as destinations of asynchronous invocations: the record
reaches a queue subscribed to the topic (or targeted by a rule on the bus) as AWS sends it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from support import LaminaServer, create_python_function, unique

OK = "def handler(event, context):\n    return {'done': event}\n"
FAIL = "def handler(event, context):\n    raise ValueError('no thanks')\n"


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


def _queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=unique("dest"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _receive_one(sqs: Any, url: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        if got.get("Messages"):
            message: dict[str, Any] = got["Messages"][0]
            return message
    raise AssertionError("nothing arrived")


def _send_event(lam: Any, name: str, payload: dict[str, Any]) -> str:
    answer = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))
    assert answer["StatusCode"] == 202
    request_id: str = answer["ResponseMetadata"]["RequestId"]
    return request_id


def test_a_failure_record_goes_to_a_topic(server: LaminaServer, lam: Any, sqs: Any) -> None:
    sns = server.client("sns")
    topic = sns.create_topic(Name=unique("failures"))["TopicArn"]
    url, queue_arn = _queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    name = create_python_function(lam, FAIL)
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": topic}},
    )
    request_id = _send_event(lam, name, {"order": 7})
    envelope = json.loads(_receive_one(sqs, url)["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    record = json.loads(envelope["Message"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"order": 7}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "no thanks"


def test_a_success_record_goes_to_an_event_bus(server: LaminaServer, lam: Any, sqs: Any) -> None:
    events = server.client("events")
    bus = unique("results")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    url, queue_arn = _queue(sqs)
    rule = unique("lambda-results")
    events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps(
            {"source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Success"]}
        ),
    )
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    name = create_python_function(lam, OK)
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": bus_arn}}
    )
    request_id = _send_event(lam, name, {"n": 1})
    event = json.loads(_receive_one(sqs, url)["Body"])
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    function_arn = event["detail"]["requestContext"]["functionArn"]
    assert event["resources"] == [bus_arn, function_arn] and function_arn.endswith(
        f":{name}:$LATEST"
    )
    assert event["detail"]["requestContext"]["requestId"] == request_id
    assert event["detail"]["responsePayload"] == {"done": {"n": 1}}


def test_a_topic_as_dead_letter_queue_gets_the_event_and_aws_attributes(
    server: LaminaServer, lam: Any, sqs: Any
) -> None:
    sns = server.client("sns")
    topic = sns.create_topic(Name=unique("dlq"))["TopicArn"]
    url, queue_arn = _queue(sqs)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    name = create_python_function(lam, FAIL, DeadLetterConfig={"TargetArn": topic})
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    request_id = _send_event(lam, name, {"lost": True})
    message = _receive_one(sqs, url)
    assert json.loads(message["Body"]) == {"lost": True}
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == request_id
    assert attributes["ErrorCode"]["StringValue"] == "200"
    assert attributes["ErrorMessage"]["StringValue"] == "no thanks"
