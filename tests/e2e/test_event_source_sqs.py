"""SQS event source mappings end to end: boto3 creates queues, a Python function and a mapping
on a real server; the function (calling SQS through its injected endpoint) reports every event
it receives to a results queue, which the test reads. Compared with AWS's recordings
(tests/fixtures/aws-recorded/lambda/test_lambda_integration_sqs.snapshot.json)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import LaminaServer, create_python_function, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import recorded  # noqa: E402

FILE = "test_lambda_integration_sqs"

REPORTER = """
import json, os
import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody=json.dumps(event))
    mode = os.environ.get("MODE", "ok")
    if mode == "fail":
        raise RuntimeError("failed attempt")
    if mode == "partial":
        first = [r for r in event["Records"] if r["attributes"]["ApproximateReceiveCount"] == "1"]
        failed = [r["messageId"] for r in first if json.loads(r["body"]).get("fail")]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    return None
"""


class Setup:
    def __init__(self, server: LaminaServer) -> None:
        self.lam = server.client()
        self.sqs = server.client("sqs")

    def queue(self, **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=unique("q"), Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return url, arn

    def function(self, results_url: str, mode: str = "ok") -> str:
        return create_python_function(
            self.lam,
            REPORTER,
            Timeout=10,
            Environment={"Variables": {"RESULTS": results_url, "MODE": mode}},
        )

    def mapping(self, function: str, source_arn: str, **settings: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.lam.create_event_source_mapping(
            FunctionName=function, EventSourceArn=source_arn, **settings
        )
        return created

    def wait_state(self, uuid: str, state: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.time() + timeout
        while True:
            got: dict[str, Any] = self.lam.get_event_source_mapping(UUID=uuid)
            if got["State"] == state:
                return got
            assert time.time() < deadline, got["State"]
            time.sleep(0.05)

    def events(self, results_url: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The next ``count`` events the function reported."""
        out: list[dict[str, Any]] = []
        deadline = time.time() + timeout
        while len(out) < count and time.time() < deadline:
            got = self.sqs.receive_message(
                QueueUrl=results_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
            )
            for message in got.get("Messages", []):
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=results_url, ReceiptHandle=message["ReceiptHandle"]
                )
        assert len(out) == count, out
        return out

    def waiting(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture(scope="module")
def setup(server: LaminaServer) -> Setup:
    return Setup(server)


def _until(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline
        time.sleep(0.1)


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    return type(value).__name__


def test_messages_reach_the_function_in_the_recorded_shape(setup: Setup) -> None:
    results, _ = setup.queue()
    source_url, source_arn = setup.queue()
    function = setup.function(results)
    created = setup.mapping(function, source_arn, BatchSize=1)
    want = recorded(
        "test_failing_lambda_retries_after_visibility_timeout", "event_source_mapping", file=FILE
    )
    assert created["State"] == "Creating"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    enabled = setup.wait_state(created["UUID"], "Enabled")
    assert set(enabled) - {"ResponseMetadata"} == set(want) - {"ResponseMetadata"}
    assert enabled["BatchSize"] == 1 and enabled["StateTransitionReason"] == "USER_INITIATED"
    setup.sqs.send_message(
        QueueUrl=source_url,
        MessageBody=json.dumps({"foo": "bar"}),
        MessageAttributes={
            "Title": {"DataType": "String", "StringValue": "The Whistler"},
            "Author": {"DataType": "String", "StringValue": "John Grisham"},
            "WeeksOn": {"DataType": "Number", "StringValue": "6"},
        },
    )
    (event,) = setup.events(results, 1)
    record = event["Records"][0]
    expected = recorded(
        "test_message_body_and_attributes_passed_correctly", "first_attempt", file=FILE
    )["Messages"][0]["Body"]["event"]["Records"][0]
    assert _keys(record) == _keys(expected)
    assert record["messageAttributes"] == expected["messageAttributes"]
    assert record["md5OfMessageAttributes"] == expected["md5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == source_arn
    assert record["awsRegion"] == "us-east-1" and record["body"] == '{"foo": "bar"}'
    _until(lambda: setup.waiting(source_url) == 0)
    setup.lam.delete_event_source_mapping(UUID=created["UUID"])


def test_function_errors_retry_after_the_visibility_timeout_then_redrive(setup: Setup) -> None:
    results, _ = setup.queue()
    dlq_url, dlq_arn = setup.queue()
    source_url, source_arn = setup.queue(
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    function = setup.function(results, mode="fail")
    created = setup.mapping(function, source_arn, BatchSize=1)
    setup.wait_state(created["UUID"], "Enabled")
    setup.sqs.send_message(QueueUrl=source_url, MessageBody='{"fail_attempts": 2}')
    first, second = setup.events(results, 2)
    counts = [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in (first, second)]
    assert counts == ["1", "2"]
    dead = setup.sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=10)["Messages"]
    assert [m["Body"] for m in dead] == ['{"fail_attempts": 2}']
    setup.lam.delete_event_source_mapping(UUID=created["UUID"])


def test_partial_batch_failures_retry_only_the_reported_messages(setup: Setup) -> None:
    results, _ = setup.queue()
    source_url, source_arn = setup.queue(VisibilityTimeout="1")
    for i, fail in enumerate((False, True, True, False)):
        setup.sqs.send_message(
            QueueUrl=source_url, MessageBody=json.dumps({"message": i, "fail": fail})
        )
    function = setup.function(results, mode="partial")
    created = setup.mapping(
        function, source_arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    assert created["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    setup.wait_state(created["UUID"], "Enabled")
    first, second = setup.events(results, 2)
    body = [sorted(json.loads(r["body"])["message"] for r in e["Records"]) for e in (first, second)]
    assert body == [[0, 1, 2, 3], [1, 2]]
    _until(lambda: setup.waiting(source_url) == 0)
    setup.lam.delete_event_source_mapping(UUID=created["UUID"])


def test_filters_deliver_matching_messages_and_delete_the_rest(setup: Setup) -> None:
    results, _ = setup.queue()
    source_url, source_arn = setup.queue()
    setup.sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"my-number": 101}))
    setup.sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"my-number": 100}))
    setup.sqs.send_message(QueueUrl=source_url, MessageBody="plain-string")
    function = setup.function(results)
    pattern = json.dumps({"body": {"my-number": [{"numeric": [">", 100]}]}})
    created = setup.mapping(
        function,
        source_arn,
        MaximumBatchingWindowInSeconds=1,
        FilterCriteria={"Filters": [{"Pattern": pattern}]},
    )
    assert created["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}
    setup.wait_state(created["UUID"], "Enabled")
    (event,) = setup.events(results, 1)
    assert [r["body"] for r in event["Records"]] == ['{"my-number": 101}']
    _until(lambda: setup.waiting(source_url) == 0)
    with pytest.raises(setup.lam.exceptions.InvalidParameterValueException) as caught:
        setup.mapping(function, source_arn, FilterCriteria={"Filters": [{"Pattern": "nope"}]})
    want = recorded(
        "test_sqs_invalid_event_filter[simple string]",
        "create_event_source_mapping_exception",
        file=FILE,
    )
    assert caught.value.response["Error"] == want["Error"]
    setup.lam.delete_event_source_mapping(UUID=created["UUID"])


def test_disabled_mappings_do_not_poll_until_enabled(setup: Setup) -> None:
    results, _ = setup.queue()
    source_url, source_arn = setup.queue()
    function = setup.function(results)
    created = setup.mapping(function, source_arn, Enabled=False, BatchSize=1)
    want = recorded("test_fifo_message_group_parallelism", "create_esm_disabled", file=FILE)
    assert created["State"] == want["State"] == "Disabled"
    setup.sqs.send_message(QueueUrl=source_url, MessageBody="waiting")
    time.sleep(1.5)
    assert setup.waiting(source_url) == 1
    enabling = setup.lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)
    assert enabling["State"] == "Enabling"
    assert enabling["ResponseMetadata"]["HTTPStatusCode"] == 202
    setup.wait_state(created["UUID"], "Enabled")
    (event,) = setup.events(results, 1)
    assert event["Records"][0]["body"] == "waiting"
    deleting = setup.lam.delete_event_source_mapping(UUID=created["UUID"])
    assert deleting["State"] == "Deleting"

    def gone() -> bool:
        try:
            setup.lam.get_event_source_mapping(UUID=created["UUID"])
        except setup.lam.exceptions.ResourceNotFoundException:
            return True
        return False

    _until(gone)


def test_api_errors_as_recorded(setup: Setup) -> None:
    unknown = "6b0a6d3e-1c3e-4c3f-9e35-5bfb0a7e0a5b"
    with pytest.raises(setup.lam.exceptions.ResourceNotFoundException) as caught:
        setup.lam.get_event_source_mapping(UUID=unknown)
    want = recorded("test_event_source_mapping_exceptions", "get_unknown_uuid")
    assert caught.value.response["Error"] == want["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(setup.lam.exceptions.InvalidParameterValueException) as caught:
        setup.lam.create_event_source_mapping(
            FunctionName="doesnotexist", EventSourceArn="arn:aws:sqs:us-east-1:000000000000:q"
        )
    want = recorded("test_event_source_mapping_exceptions", "create_unknown_params")
    assert caught.value.response["Error"] == want["Error"]
    results, _ = setup.queue()
    _, source_arn = setup.queue()
    function = setup.function(results)
    with pytest.raises(setup.lam.exceptions.InvalidParameterValueException) as caught:
        setup.mapping(function, source_arn, BatchSize=11)
    want = recorded(
        "test_event_source_mapping_default_batch_size",
        "invalid-create-event-source-mapping",
        file=FILE,
    )
    assert caught.value.response["Error"] == want["Error"]
    with pytest.raises(setup.lam.exceptions.InvalidParameterValueException) as caught:
        setup.mapping(function, source_arn.replace(":q-", ":missing-"))
    want = recorded("test_esm_with_not_existing_sqs_queue", "error", file=FILE)
    assert caught.value.response["Error"] == want["Error"]
    created = setup.mapping(function, source_arn, Tags={"testtag": "value"})
    arn = created["EventSourceMappingArn"]
    assert setup.lam.list_tags(Resource=arn)["Tags"] == {"testtag": "value"}
    setup.lam.tag_resource(Resource=arn, Tags={"A": "tag-a"})
    setup.lam.untag_resource(Resource=arn, TagKeys=["testtag"])
    assert setup.lam.list_tags(Resource=arn)["Tags"] == {"A": "tag-a"}
    with pytest.raises(setup.lam.exceptions.ResourceConflictException):
        setup.mapping(function, source_arn)
    listed = setup.lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [created["UUID"]]
    setup.wait_state(created["UUID"], "Enabled")
    setup.lam.delete_event_source_mapping(UUID=created["UUID"])


def test_mappings_survive_a_restart(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = own_server(data=data)
    setup = Setup(first)
    results, _ = setup.queue()
    source_url, source_arn = setup.queue()
    function = setup.function(results)
    created = setup.mapping(function, source_arn, BatchSize=1)
    setup.wait_state(created["UUID"], "Enabled")
    first.stop()
    second = own_server(data=data)
    setup = Setup(second)
    assert setup.lam.get_event_source_mapping(UUID=created["UUID"])["State"] == "Enabled"
    setup.sqs.send_message(QueueUrl=source_url, MessageBody="after restart")
    (event,) = setup.events(results, 1)
    assert event["Records"][0]["body"] == "after restart"


def test_deleting_the_function_keeps_the_mapping_as_aws_does(setup: Setup) -> None:
    results, _ = setup.queue()
    source_url, source_arn = setup.queue()
    function = setup.function(results)
    created = setup.mapping(function, source_arn, BatchSize=1)
    setup.wait_state(created["UUID"], "Enabled")
    setup.lam.delete_function(FunctionName=function)
    want = recorded(
        "test_event_source_mapping_lifecycle_delete_function", "get_response_post_delete"
    )
    got = setup.lam.get_event_source_mapping(UUID=created["UUID"])
    assert got["State"] == want["State"] == "Enabled"
    setup.sqs.send_message(QueueUrl=source_url, MessageBody="nobody home")
    time.sleep(1.5)
    attributes = setup.sqs.get_queue_attributes(
        QueueUrl=source_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"  # not consumed while it is gone
    setup.lam.delete_event_source_mapping(UUID=created["UUID"])
