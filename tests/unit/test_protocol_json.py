"""The JSON 1.0/1.1 codec against botocore itself: every SQS operation sent by a real boto3
client and answered through the codec, SQS's query-compatible errors as AWS recorded them
(shared/aws-recorded/sqs/test_sqs.snapshot.json), malformed bodies, CloudWatch Logs (1.1),
and Lambda's rest-json error envelope."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from codec_loopback import CLIENT_ARGS, attach
from sqs_wire_cases import (
    BODY,
    FIFO_URL,
    INPUTS,
    MESSAGE_ATTRIBUTES,
    OUTPUTS,
    QUEUE_URL,
    recorded_sqs_error,
)

from lamina.api.protocols import REST_JSON, JsonCodec
from lamina.api.protocols.errors import MissingParameter, SerializationException
from lamina.domain.errors import AwsError, ResourceNotFoundException, UnknownOperation

SQS_MODEL = Loader().load_service_model("sqs", "service-2")
LOGS_MODEL = Loader().load_service_model("logs", "service-2")


class QueueDoesNotExist(AwsError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"
    status = 400
    message_key = "message"
    typed = False


class InvalidAttributeName(AwsError):
    code = "InvalidAttributeName"
    status = 400
    message_key = "message"
    typed = False


class InternalError(AwsError):
    code = "InternalError"
    query_code = "InternalError"
    status = 500
    message_key = "message"
    typed = False


@pytest.fixture(scope="module")
def sqs_codec() -> JsonCodec:
    return JsonCodec(SQS_MODEL, error_namespace="com.amazonaws.sqs")


def _client_through(codec: JsonCodec, service: str, handler: Any) -> Any:
    """A boto3 client whose requests ``handler(operation, params)`` answers via ``codec``."""
    client = boto3.client(service, **CLIENT_ARGS)

    def answer(
        headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        operation = codec.operation(headers["x-amz-target"])
        assert operation is not None
        assert headers["content-type"] == codec.content_type
        try:
            return codec.render(operation, handler(operation, codec.parse(operation, body)))
        except AwsError as error:
            return codec.render_error(error)

    attach(client, answer)
    return client


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    return response


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@pytest.mark.parametrize("operation", sorted(SQS_MODEL["operations"]))
def test_every_sqs_operation_round_trips_through_boto3(
    sqs_codec: JsonCodec, operation: str
) -> None:
    seen: list[dict[str, Any]] = []

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        assert op == operation
        seen.append(params)
        return OUTPUTS.get(op, {})

    client = _client_through(sqs_codec, "sqs", handler)
    result = getattr(client, _snake(operation))(**INPUTS[operation])
    assert seen == [INPUTS[operation]]
    assert _strip(result) == OUTPUTS.get(operation, {})


def test_receive_message_takes_message_system_attribute_names(sqs_codec: JsonCodec) -> None:
    body = json.dumps({"QueueUrl": QUEUE_URL, "MessageSystemAttributeNames": ["All"]}).encode()
    assert sqs_codec.parse("ReceiveMessage", body)["MessageSystemAttributeNames"] == ["All"]


def test_binary_attributes_arrive_as_bytes(sqs_codec: JsonCodec) -> None:
    body = json.dumps(
        {
            "QueueUrl": QUEUE_URL,
            "MessageBody": "x",
            "MessageAttributes": {
                "B": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\x01").decode()}
            },
        }
    ).encode()
    parsed = sqs_codec.parse("SendMessage", body)
    assert parsed["MessageAttributes"]["B"]["BinaryValue"] == b"\x00\x01"


def test_sqs_error_reaches_boto3_with_the_legacy_code(sqs_codec: JsonCodec) -> None:
    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise QueueDoesNotExist("The specified queue does not exist.")

    client = _client_through(sqs_codec, "sqs", handler)
    with pytest.raises(client.exceptions.QueueDoesNotExist) as caught:
        client.get_queue_url(QueueName="nope")
    error, status = recorded_sqs_error("test_non_existent_queue", "queue-does-not-exist")
    assert caught.value.response["Error"] == error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_error_without_legacy_code_keeps_its_code(sqs_codec: JsonCodec) -> None:
    status, headers, body = sqs_codec.render_error(
        InvalidAttributeName("Unknown Attribute FifoQueue.")
    )
    assert status == 400
    assert (b"x-amzn-query-error", b"InvalidAttributeName;Sender") in headers
    assert json.loads(body) == {
        "__type": "com.amazonaws.sqs#InvalidAttributeName",
        "message": "Unknown Attribute FifoQueue.",
    }

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise InvalidAttributeName("Unknown Attribute FifoQueue.")

    client = _client_through(sqs_codec, "sqs", handler)
    with pytest.raises(ClientError) as caught:
        client.set_queue_attributes(QueueUrl=QUEUE_URL, Attributes={"FifoQueue": "true"})
    recorded = recorded_sqs_error("test_set_unsupported_attribute_fifo[sqs]", "invalid-attr-name-1")
    assert (caught.value.response["Error"], 400) == recorded


def test_server_errors_are_receiver_faults(sqs_codec: JsonCodec) -> None:
    status, headers, _ = sqs_codec.render_error(InternalError("boom"))
    assert status == 500
    assert (b"x-amzn-query-error", b"InternalError;Receiver") in headers


def test_missing_required_member_is_missing_parameter(sqs_codec: JsonCodec) -> None:
    with pytest.raises(MissingParameter) as caught:
        sqs_codec.parse("SendMessage", json.dumps({"QueueUrl": QUEUE_URL}).encode())
    status, headers, body = sqs_codec.render_error(caught.value)
    client = boto3.client("sqs", **CLIENT_ARGS)
    parser_error = _parse_error(client, "SendMessage", status, headers, body)
    assert (parser_error, status) == recorded_sqs_error(
        "test_send_empty_message[sqs]", "send_empty_message"
    )


def test_missing_member_of_a_batch_entry(sqs_codec: JsonCodec) -> None:
    body = {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1"}]}
    with pytest.raises(MissingParameter, match="parameter MessageBody"):
        sqs_codec.parse("SendMessageBatch", json.dumps(body).encode())


def _parse_error(client: Any, operation: str, status: int, headers: Any, body: bytes) -> Any:
    from botocore.parsers import create_parser

    shape = client.meta.service_model.operation_model(operation).output_shape
    response = {
        "status_code": status,
        "headers": {k.decode(): v.decode() for k, v in headers},
        "body": body,
    }
    return create_parser("json").parse(response, shape)["Error"]


@pytest.mark.parametrize(
    ("body", "operation"),
    [
        (b"{", "ListQueues"),
        (b"[]", "ListQueues"),
        (b'"QueueUrl"', "ListQueues"),
        (b"null", "ListQueues"),
        (b"\xff\xfe", "ListQueues"),
        (b"[" * 100_000, "ListQueues"),
        (b'{"QueueNamePrefix": 1}', "ListQueues"),
        (b'{"MaxResults": "10"}', "ListQueues"),
        (b'{"MaxResults": true}', "ListQueues"),
        (b'{"MaxResults": 2147483648}', "ListQueues"),
        (b'{"MaxResults": 1.5}', "ListQueues"),
        (b'{"QueueName": "q", "Attributes": []}', "CreateQueue"),
        (b'{"QueueName": "q", "Attributes": {"A": 1}}', "CreateQueue"),
        (b'{"QueueUrl": "u", "AttributeNames": "All"}', "GetQueueAttributes"),
        (b'{"QueueUrl": "u", "Entries": [{"Id": 1, "ReceiptHandle": "r"}]}', "DeleteMessageBatch"),
        (
            b'{"QueueUrl": "u", "MessageBody": "b", "MessageAttributes": '
            b'{"A": {"DataType": "Binary", "BinaryValue": "not base64!"}}}',
            "SendMessage",
        ),
    ],
)
def test_malformed_bodies_are_serialization_exceptions(
    sqs_codec: JsonCodec, body: bytes, operation: str
) -> None:
    with pytest.raises(SerializationException) as caught:
        sqs_codec.parse(operation, body)
    status, headers, out = sqs_codec.render_error(caught.value)
    assert status == 400
    assert json.loads(out)["__type"] == "com.amazon.coral.service#SerializationException"
    assert not [h for h in headers if h[0] == b"x-amzn-query-error"]
    client = boto3.client("sqs", **CLIENT_ARGS)
    assert _parse_error(client, operation, status, headers, out)["Code"] == "SerializationException"


def test_empty_body_unknown_and_null_members(sqs_codec: JsonCodec) -> None:
    assert sqs_codec.parse("ListQueues", b"") == {}
    assert sqs_codec.parse("ListQueues", b"  ") == {}
    body = b'{"QueueNamePrefix": null, "Surprise": {"x": 1}, "MaxResults": 5}'
    assert sqs_codec.parse("ListQueues", body) == {"MaxResults": 5}
    with pytest.raises(MissingParameter, match="QueueUrl"):
        sqs_codec.parse("SendMessage", b"")


def test_operation_from_target(sqs_codec: JsonCodec) -> None:
    assert sqs_codec.target_prefix == "AmazonSQS"
    assert sqs_codec.operation("AmazonSQS.SendMessage") == "SendMessage"
    assert sqs_codec.operation("AmazonSQS.Nope") is None
    assert sqs_codec.operation("Logs_20140328.SendMessage") is None
    assert sqs_codec.operation("AmazonSQS") is None
    assert sqs_codec.operation("") is None


def test_unknown_operation_error_keeps_its_code(sqs_codec: JsonCodec) -> None:
    status, headers, body = sqs_codec.render_error(UnknownOperation(""))
    client = boto3.client("sqs", **CLIENT_ARGS)
    assert status == 400
    assert _parse_error(client, "ListQueues", status, headers, body)["Code"] == (
        "UnknownOperationException"
    )


def test_render_writes_compact_json_without_request_id(sqs_codec: JsonCodec) -> None:
    status, headers, body = sqs_codec.render("SendMessage", OUTPUTS["SendMessage"])
    assert status == 200
    assert headers == [(b"content-type", b"application/x-amz-json-1.0")]
    assert json.loads(body) == OUTPUTS["SendMessage"]
    assert sqs_codec.render("DeleteQueue", {})[2] == b"{}"
    moment = datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=timezone.utc)
    rendered = json.loads(sqs_codec.render("X", {"t": moment, "b": b"\x00\xff", "s": "\ud800"})[2])
    assert rendered == {"t": moment.timestamp(), "b": "AP8=", "s": "\ud800"}
    assert "é".encode() in sqs_codec.render("X", {"s": "é"})[2]


def test_error_headers_and_extra_members_are_kept() -> None:
    class Throttled(AwsError):
        code = "RequestThrottled"
        status = 403
        message_key = "message"

    error = Throttled("slow down", Reason="Rate")
    error.headers["Retry-After"] = "1"
    codec = JsonCodec(SQS_MODEL)
    status, headers, body = codec.render_error(error)
    assert (b"Retry-After", b"1") in headers
    assert json.loads(body) == {
        "__type": "RequestThrottled",
        "message": "slow down",
        "Reason": "Rate",
    }


# --- CloudWatch Logs (JSON 1.1) -----------------------------------------------------------

LOGS_INPUTS: dict[str, dict[str, Any]] = {
    "PutLogEvents": {
        "logGroupName": "/aws/lambda/f",
        "logStreamName": "2024/01/01/[$LATEST]abc",
        "logEvents": [{"timestamp": 1700000000000, "message": "hello\tworld"}] * 3,
        "sequenceToken": "t",
    },
    "FilterLogEvents": {
        "logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f",
        "logStreamNames": ["a", "b"],
        "startTime": 0,
        "endTime": 2**62,
        "filterPattern": '"ERROR"',
        "limit": 100,
        "interleaved": True,
    },
    "DescribeLogGroups": {"logGroupNamePrefix": "/aws/lambda/", "limit": 50},
    "PutRetentionPolicy": {"logGroupName": "/aws/lambda/f", "retentionInDays": 7},
    "CreateLogGroup": {"logGroupName": "g", "tags": {"a": "b"}},
}
LOGS_OUTPUTS: dict[str, dict[str, Any]] = {
    "PutLogEvents": {
        "nextSequenceToken": "n",
        "rejectedLogEventsInfo": {"tooOldLogEventEndIndex": 1},
    },
    "FilterLogEvents": {
        "events": [
            {
                "logStreamName": "a",
                "timestamp": 1700000000000,
                "message": "ERROR x",
                "ingestionTime": 1700000000001,
                "eventId": "1",
            }
        ],
        "searchedLogStreams": [{"logStreamName": "a", "searchedCompletely": True}],
        "nextToken": "tok",
    },
    "DescribeLogGroups": {
        "logGroups": [{"logGroupName": "/aws/lambda/f", "creationTime": 1, "storedBytes": 0}]
    },
}


@pytest.mark.parametrize("operation", sorted(LOGS_INPUTS))
def test_logs_operations_round_trip_as_json_1_1(operation: str) -> None:
    codec = JsonCodec(LOGS_MODEL)
    assert codec.content_type == "application/x-amz-json-1.1"
    seen: list[dict[str, Any]] = []

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        return LOGS_OUTPUTS.get(op, {})

    client = _client_through(codec, "logs", handler)
    result = getattr(client, _snake(operation))(**LOGS_INPUTS[operation])
    assert seen == [LOGS_INPUTS[operation]]
    assert _strip(result) == LOGS_OUTPUTS.get(operation, {})


def test_logs_errors_have_no_query_header() -> None:
    codec = JsonCodec(LOGS_MODEL)

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ResourceNotFoundException("The specified log group does not exist.")

    client = _client_through(codec, "logs", handler)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.delete_log_group(logGroupName="g")
    assert caught.value.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "The specified log group does not exist.",
    }
    _, headers, body = codec.render_error(ResourceNotFoundException("m"))
    assert json.loads(body) == {"__type": "ResourceNotFoundException", "Message": "m"}
    assert b"x-amzn-query-error" not in [h[0] for h in headers]


# --- rest-json (Lambda) --------------------------------------------------------------------


def test_rest_json_error_envelope() -> None:
    status, headers, body = REST_JSON.render_error(ResourceNotFoundException("Function not found"))
    assert status == 404
    assert (b"x-amzn-errortype", b"ResourceNotFoundException") in headers
    assert json.loads(body) == {"Type": "User", "Message": "Function not found"}


# --- cost on the hot path -------------------------------------------------------------------


def test_send_message_parse_and_render_cost(sqs_codec: JsonCodec) -> None:
    params = {
        "QueueUrl": FIFO_URL,
        "MessageBody": BODY,
        "MessageAttributes": {
            "Kind": MESSAGE_ATTRIBUTES["Kind"],
            "Count": MESSAGE_ATTRIBUTES["Count"],
        },
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
    }
    body = json.dumps(params).encode()
    output = OUTPUTS["SendMessage"]
    sqs_codec.render("SendMessage", output)
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        sqs_codec.parse("SendMessage", body)
        sqs_codec.render("SendMessage", output)
    per_call_us = (time.perf_counter() - start) / rounds * 1e6
    print(f"SendMessage JSON parse+render: {per_call_us:.1f} us")
    assert per_call_us < 500  # generous: a shared 2-core machine; typical is ~10 us
