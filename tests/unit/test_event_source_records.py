"""The SQS event a function receives, compared with the events AWS delivered (recorded)."""

from __future__ import annotations

import json

from aws_recorded import recorded

from lamina.services.event_sources.sqs_records import (
    encode_event,
    encode_record,
    filter_view,
    sqs_record,
)
from lamina.services.queue_ports import MessageAttribute, ReceivedMessage

FILE = "test_lambda_integration_sqs"
ARN = "arn:aws:sqs:us-east-1:111111111111:source"


def _message(**overrides: object) -> ReceivedMessage:
    values: dict[str, object] = {
        "message_id": "m-1",
        "receipt_handle": "rh-1",
        "body": '{"foo": "bar"}',
        "md5_of_body": "9bb58f26192e4ba00f01e2e7b136bbd8",
        "attributes": {
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "2",
            "SentTimestamp": "1",
            "ApproximateReceiveCount": "1",
        },
    }
    values.update(overrides)
    return ReceivedMessage(**values)  # type: ignore[arg-type]


def _shape(value: object) -> object:
    """Keys (recursively) and value types: what must match a recorded record exactly."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_record_has_the_recorded_keys_in_the_recorded_order() -> None:
    want = recorded("test_sqs_event_source_mapping", "events", file=FILE)[0]["Records"][0]
    got = sqs_record(_message(), ARN, "us-east-1")
    assert list(got) == list(want)
    assert list(got["attributes"]) == list(want["attributes"])
    assert got["md5OfMessageAttributes"] is None
    assert got["eventSource"] == "aws:sqs"
    assert got["eventSourceARN"] == ARN and got["awsRegion"] == "us-east-1"
    assert got["messageAttributes"] == {}


def test_message_attributes_in_lambdas_camel_case_shape() -> None:
    recorded_event = recorded(
        "test_message_body_and_attributes_passed_correctly", "first_attempt", file=FILE
    )["Messages"][0]["Body"]["event"]
    want = recorded_event["Records"][0]
    message = _message(
        message_attributes={
            "WeeksOn": MessageAttribute("Number", "6"),
            "Author": MessageAttribute("String", "John Grisham"),
            "Title": MessageAttribute("String", "The Whistler"),
        },
        md5_of_message_attributes="d25a6aea97eb8f585bfa92d314504a92",
    )
    got = sqs_record(message, ARN, "us-east-1")
    assert got["messageAttributes"] == want["messageAttributes"]
    assert got["md5OfMessageAttributes"] == want["md5OfMessageAttributes"]
    assert _shape(got) == _shape({**want, "md5OfMessageAttributes": "x"})


def test_binary_attribute_is_base64() -> None:
    message = _message(message_attributes={"b": MessageAttribute("Binary", None, b"\x00\xff")})
    got = sqs_record(message, ARN, "us-east-1")["messageAttributes"]["b"]
    assert got == {
        "binaryValue": "AP8=",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }


def test_fifo_attributes_follow_lambdas_order() -> None:
    want = recorded("test_report_batch_item_failures", "first_invocation", file=FILE)
    recorded_attrs = want["Messages"][0]["Body"]["event"]["Records"][0]["attributes"]
    attrs = {k: "v" for k in recorded_attrs}
    got = sqs_record(_message(attributes=attrs), ARN, "us-east-1")["attributes"]
    assert set(got) == set(recorded_attrs)
    assert list(got) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "SenderId",
        "MessageDeduplicationId",
        "ApproximateFirstReceiveTimestamp",
    ]


def test_event_envelope_is_valid_json() -> None:
    records = [sqs_record(_message(message_id=f"m{i}"), ARN, "r") for i in range(3)]
    event = json.loads(encode_event([encode_record(r) for r in records]))
    assert [r["messageId"] for r in event["Records"]] == ["m0", "m1", "m2"]
    assert json.loads(encode_event([])) == {"Records": []}


def test_filter_view_parses_json_bodies_only() -> None:
    assert filter_view({"body": '{"a": 1}'})["body"] == {"a": 1}
    assert filter_view({"body": "[1, 2]"})["body"] == [1, 2]
    assert filter_view({"body": "plain"})["body"] == "plain"
    assert filter_view({"body": "{not json"})["body"] == "{not json"
    assert filter_view({"body": "42"})["body"] == "42"
