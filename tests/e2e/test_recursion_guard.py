"""Recursive loop detection end to end (docs/invocation.md, "Recursive loops"): real
functions that loop through Lamina, through the Invoke API and through an SQS queue, are
stopped after 16 invocations of the same chain; ``RecursiveLoop=Allow`` lets a loop go on
(bounded by the test). Recorded: the recursion config answers (``TestLambdaRecursion``)."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, LaminaServer, create_python_function, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import recorded  # noqa: E402

# Each invocation reports its hop number to the "hops" queue, then goes on (up to "stop").
LOOPER = """
import json, os
import boto3

lam = boto3.client("lambda")
sqs = boto3.client("sqs")


def handler(event, context):
    if "detail" in event:  # from the looping event bus
        event = event["detail"]
    if "Records" in event:  # from the looping queue or topic
        record = event["Records"][0]
        event = json.loads(record["Sns"]["Message"] if "Sns" in record else record["body"])
    n = event.get("n", 0) + 1
    sqs.send_message(QueueUrl=event["hops"], MessageBody=json.dumps({"n": n}))
    if n >= event.get("stop", 1000):
        return n
    nxt = json.dumps(dict(event, n=n))
    if event.get("via") == "sqs":
        sqs.send_message(QueueUrl=event["loop"], MessageBody=nxt)
    elif event.get("via") in ("sns", "sns-sqs"):
        boto3.client("sns").publish(TopicArn=event["loop"], Message=nxt)
    elif event.get("via") == "events":
        entry = {"EventBusName": event["loop"], "Source": "loop", "DetailType": "hop"}
        boto3.client("events").put_events(Entries=[dict(entry, Detail=nxt)])
    else:
        lam.invoke(FunctionName=context.function_name, InvocationType="Event", Payload=nxt)
    return n
"""


def eventually(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


class Queues:
    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs

    def make(self, **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=unique("q"), Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return url, arn

    def drain(self, url: str, seconds: float) -> list[dict[str, Any]]:
        """Every message arriving within ``seconds`` (bodies as JSON)."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in got:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out


@pytest.fixture(scope="module")
def setup(server: LaminaServer) -> tuple[Any, Queues]:
    return server.client(), Queues(server.client("sqs"))


def hop_numbers(messages: list[dict[str, Any]]) -> list[int]:
    return sorted(int(m["n"]) for m in messages)


def test_recursion_config_answers_as_recorded(lam: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return 1\n")
    default = recorded(
        "TestLambdaRecursion::test_put_function_recursion_config_default_terminate",
        "get_recursion_default_terminate_response",
    )
    got = lam.get_function_recursion_config(FunctionName=name)
    assert got["RecursiveLoop"] == default["RecursiveLoop"]
    allow = recorded("TestLambdaRecursion::test_put_function_recursion_config_allow")
    put = lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    assert put["RecursiveLoop"] == allow["put_recursion_config_response"]["RecursiveLoop"]
    got = lam.get_function_recursion_config(FunctionName=name)
    assert got["RecursiveLoop"] == allow["get_recursion_config_response"]["RecursiveLoop"]
    invalid = recorded(
        "TestLambdaRecursion::test_put_function_recursion_config_invalid_value",
        "put_recursion_invalid_value_error",
    )
    raw = boto_without_validation(lam)
    with pytest.raises(ClientError) as info:
        raw.put_function_recursion_config(FunctionName=name, RecursiveLoop="InvalidValue")
    assert info.value.response["Error"] == invalid["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        lam.get_function_recursion_config(FunctionName=unique("missing"))
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    lam.delete_function(FunctionName=name)


def boto_without_validation(lam: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=lam.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def test_invoke_with_a_long_lineage_is_refused(lam: Any) -> None:
    """A synchronous Invoke whose trace header already counts 16 invocations of the function
    gets AWS's RecursiveInvocationException (400); Allow lets it run."""
    name = create_python_function(
        lam, "import os\ndef handler(e, c):\n    return os.environ['_X_AMZN_TRACE_ID']\n"
    )
    first = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    lineage = dict(f.split("=", 1) for f in first.split(";"))["Lineage"]
    key, count = lineage.split(":")
    assert count == "1"

    def with_header(value: str) -> Any:
        client = boto_without_validation(lam)

        def add(request: Any, **_: Any) -> None:
            request.headers["X-Amzn-Trace-Id"] = value

        client.meta.events.register("before-sign.lambda.Invoke", add)
        return client

    root = "Root=1-5759e988-bd862e3fe1be46a994272793"
    fifteen = with_header(f"{root};Lineage={key}:15")
    seen = json.loads(fifteen.invoke(FunctionName=name)["Payload"].read())
    assert f"Lineage={key}:16" in seen and root in seen  # the 16th runs, same trace
    sixteen = with_header(f"{root};Lineage={key}:16")
    with pytest.raises(ClientError) as info:
        sixteen.invoke(FunctionName=name)
    error = info.value.response
    assert error["Error"]["Code"] == "RecursiveInvocationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Another function's count does not matter.
    assert sixteen.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    seen = json.loads(sixteen.invoke(FunctionName=name)["Payload"].read())
    assert f"Lineage={key}:17" in seen
    lam.delete_function(FunctionName=name)


def test_self_invoking_function_is_stopped_after_16(setup: tuple[Any, Queues]) -> None:
    lam, queues = setup
    hops_url, _ = queues.make()
    failures_url, failures_arn = queues.make()
    name = create_python_function(lam, LOOPER, Timeout=30)
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"hops": hops_url}))
    failure = eventually(lambda: queues.drain(failures_url, 1))
    assert failure[0]["requestContext"]["condition"] == "RecursiveInvocationException"
    assert failure[0]["requestPayload"]["n"] == 16
    assert hop_numbers(queues.drain(hops_url, 3)) == list(range(1, 17))
    lam.delete_function(FunctionName=name)


def test_allow_lets_a_loop_go_on(setup: tuple[Any, Queues]) -> None:
    lam, queues = setup
    hops_url, _ = queues.make()
    name = create_python_function(lam, LOOPER, Timeout=30)
    lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    lam.invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"hops": hops_url, "stop": 20}),
    )
    hops: list[dict[str, Any]] = []

    def twenty_hops() -> bool:
        hops.extend(queues.drain(hops_url, 1))
        return len(hops) >= 20

    eventually(twenty_hops)
    hops += queues.drain(hops_url, 2)
    assert hop_numbers(hops) == list(range(1, 21))
    lam.delete_function(FunctionName=name)


def test_sqs_loop_is_stopped_after_16(server: LaminaServer, setup: tuple[Any, Queues]) -> None:
    lam, queues = setup
    hops_url, _ = queues.make()
    dead_url, dead_arn = queues.make()
    loop_url, loop_arn = queues.make(
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "1"}),
    )
    name = create_python_function(lam, LOOPER, Timeout=30)
    lam.create_event_source_mapping(FunctionName=name, EventSourceArn=loop_arn, BatchSize=1)
    queues.sqs.send_message(
        QueueUrl=loop_url,
        MessageBody=json.dumps({"hops": hops_url, "loop": loop_url, "via": "sqs"}),
    )
    # The 17th invocation never runs: its message goes to the queue's dead-letter queue.
    dead = eventually(lambda: queues.drain(dead_url, 1))
    assert dead[0]["n"] == 16
    assert hop_numbers(queues.drain(hops_url, 3)) == list(range(1, 17))
    metrics = urllib.request.urlopen(server.endpoint + "/_lamina/metrics").read().decode()
    dropped = [
        line
        for line in metrics.splitlines()
        if line.startswith("lamina_recursive_invocations_dropped_total")
        and f'function="{name}"' in line
    ]
    assert dropped and float(dropped[0].rsplit(" ", 1)[1]) >= 1
    assert ACCOUNT in loop_arn


def test_sns_loop_is_stopped_after_16(server: LaminaServer, setup: tuple[Any, Queues]) -> None:
    lam, queues = setup
    sns = server.client("sns")
    hops_url, _ = queues.make()
    failures_url, failures_arn = queues.make()
    topic = sns.create_topic(Name=unique("loop"))["TopicArn"]
    name = create_python_function(lam, LOOPER, Timeout=30)
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    sns.publish(TopicArn=topic, Message=json.dumps({"hops": hops_url, "loop": topic, "via": "sns"}))
    failure = eventually(lambda: queues.drain(failures_url, 1))
    assert failure[0]["requestContext"]["condition"] == "RecursiveInvocationException"
    stopped = json.loads(failure[0]["requestPayload"]["Records"][0]["Sns"]["Message"])
    assert stopped["n"] == 16
    assert hop_numbers(queues.drain(hops_url, 3)) == list(range(1, 17))
    lam.delete_function(FunctionName=name)


def test_event_bus_loop_is_stopped_after_16(
    server: LaminaServer, setup: tuple[Any, Queues]
) -> None:
    lam, queues = setup
    events = server.client("events")
    hops_url, _ = queues.make()
    failures_url, failures_arn = queues.make()
    bus = unique("loop")
    events.create_event_bus(Name=bus)
    name = create_python_function(lam, LOOPER, Timeout=30)
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    events.put_rule(Name="hops", EventBusName=bus, EventPattern=json.dumps({"source": ["loop"]}))
    events.put_targets(Rule="hops", EventBusName=bus, Targets=[{"Id": "f", "Arn": function_arn}])
    first = {"hops": hops_url, "loop": bus, "via": "events"}
    events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "loop",
                "DetailType": "hop",
                "Detail": json.dumps(first),
            }
        ]
    )
    failure = eventually(lambda: queues.drain(failures_url, 1))
    assert failure[0]["requestContext"]["condition"] == "RecursiveInvocationException"
    assert failure[0]["requestPayload"]["detail"]["n"] == 16
    assert hop_numbers(queues.drain(hops_url, 3)) == list(range(1, 17))
    lam.delete_function(FunctionName=name)


def test_loop_through_a_topic_and_a_queue_is_stopped(
    server: LaminaServer, setup: tuple[Any, Queues]
) -> None:
    """function -> SNS -> SQS -> event source mapping -> function: the header travels
    through the topic's delivery into the message's AWSTraceHeader."""
    lam, queues = setup
    sns = server.client("sns")
    hops_url, _ = queues.make()
    dead_url, dead_arn = queues.make()
    loop_url, loop_arn = queues.make(
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "1"}),
    )
    topic = sns.create_topic(Name=unique("loop"))["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=loop_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    name = create_python_function(lam, LOOPER, Timeout=30)
    lam.create_event_source_mapping(FunctionName=name, EventSourceArn=loop_arn, BatchSize=1)
    first = {"hops": hops_url, "loop": topic, "via": "sns-sqs"}
    sns.publish(TopicArn=topic, Message=json.dumps(first))
    dead = eventually(lambda: queues.drain(dead_url, 1))
    assert dead[0]["n"] == 16
    assert hop_numbers(queues.drain(hops_url, 3)) == list(range(1, 17))
