"""The message handlers behind both of SQS's wire protocols, in process: a real boto3 client
(JSON 1.0) and a client built from botocore's last query-protocol SQS model send every message
operation through the protocol codecs to the handlers, and parse the answers as they parse
AWS's; errors are compared with the [sqs] and [sqs_query] recordings."""

from __future__ import annotations

import asyncio
import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from codec_loopback import CLIENT_ARGS, attach
from sqs_recorded import recorded_sqs
from test_sqs_message_engine import CTX, Harness

from lamina.api.protocols import JsonCodec, QueryCodec, parse_form
from lamina.api.protocols.sqs_query_names import SQS_QUERY_NAMES, SQS_XML_NAMESPACE
from lamina.domain.errors import AwsError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data, query_sqs_session  # noqa: E402

SQS_MODEL = Loader().load_service_model("sqs", "service-2")
REQUEST_ID = "5d2b4f8e-0bd1-5c7e-9a3c-2f1b8d1e0a11"


@pytest.fixture(scope="module")
def old_data(pytestconfig: pytest.Config) -> Path:
    assert pytestconfig.cache is not None
    data: Path = old_botocore_data(Path(pytestconfig.cache.mkdir("old-botocore-sqs")))
    return data


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    sqs = Harness(tmp_path / "sqs.sqlite3")
    yield sqs
    sqs.close()


def _handle(sqs: Harness, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = sqs.loop.run_until_complete(sqs.handlers[operation](CTX, params))
    return result


def _json_client(sqs: Harness) -> Any:
    codec = JsonCodec(SQS_MODEL, error_namespace="com.amazonaws.sqs")
    client = boto3.client("sqs", **CLIENT_ARGS)

    def answer(
        headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        operation = codec.operation(headers["x-amz-target"])
        assert operation is not None
        try:
            return codec.render(operation, _handle(sqs, operation, codec.parse(operation, body)))
        except AwsError as error:
            return codec.render_error(error)

    attach(client, answer)
    return client


def _query_client(sqs: Harness, data: Path) -> Any:
    codec = QueryCodec(SQS_MODEL, xml_namespace=SQS_XML_NAMESPACE, names=SQS_QUERY_NAMES)
    client = query_sqs_session(data).create_client("sqs", **CLIENT_ARGS)

    def answer(
        headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        form = parse_form(body)
        try:
            operation = codec.operation(form)
            output = _handle(sqs, operation, codec.parse(operation, form))
            return codec.render(operation, output, REQUEST_ID)
        except AwsError as error:
            return codec.render_error(error, REQUEST_ID)

    attach(client, answer)
    return client


@pytest.fixture(params=["sqs", "sqs_query"])
def client(request: pytest.FixtureRequest, harness: Harness, old_data: Path) -> Any:
    made = _json_client(harness) if request.param == "sqs" else _query_client(harness, old_data)
    made.protocol_variant = request.param
    return made


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def _assert_recorded(actual: dict[str, Any], recorded: dict[str, Any]) -> None:
    assert (
        actual["ResponseMetadata"]["HTTPStatusCode"]
        == (recorded["ResponseMetadata"]["HTTPStatusCode"])
    )
    for member in ("Code", "Message", "Type", "QueryErrorCode"):
        assert actual["Error"].get(member) == recorded["Error"].get(member), member


def test_round_trip_with_every_attribute_kind(client: Any, harness: Harness) -> None:
    url = harness.queue("wire")
    binary = bytes(range(256))
    sent = client.send_message(
        QueueUrl=url,
        MessageBody="tab\t & <angle> \u00e9 \U0001f600",
        DelaySeconds=0,
        MessageAttributes={
            "Kind": {"DataType": "String", "StringValue": "created & <new>"},
            "Count": {"DataType": "Number", "StringValue": "12.5"},
            "Thumb": {"DataType": "Binary", "BinaryValue": binary},
        },
        MessageSystemAttributes={
            "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}
        },
    )
    assert {"MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes"} <= set(sent)
    assert "MD5OfMessageSystemAttributes" in sent
    received = client.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        VisibilityTimeout=0,
    )
    [message] = received["Messages"]
    assert message["Body"] == "tab\t & <angle> \u00e9 \U0001f600"
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"]["Thumb"]["BinaryValue"] == binary
    assert message["MessageAttributes"]["Count"] == {"DataType": "Number", "StringValue": "12.5"}
    assert message["Attributes"]["AWSTraceHeader"] == "Root=1-abc"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in client.receive_message(QueueUrl=url)


def test_batches_and_visibility(client: Any, harness: Harness) -> None:
    url = harness.queue("wire-batch", MaximumMessageSize="1024")
    sent = client.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "big", "MessageBody": "a" * 1025},
            {"Id": "ok", "MessageBody": "a"},
            {"Id": "ok2", "MessageBody": "b", "DelaySeconds": 0},
        ],
    )
    assert [entry["Id"] for entry in sent["Successful"]] == ["ok", "ok2"]
    expected = recorded_sqs("test_send_batch_message_size", "send-message-batch-result")
    assert sent["Failed"] == [dict(expected["Failed"][0], Id="big")]
    received = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    changed = client.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": received[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "bogus", "VisibilityTimeout": 0},
        ],
    )
    assert changed["Successful"] == [{"Id": "a"}]
    assert changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=received[1]["ReceiptHandle"], VisibilityTimeout=0
    )
    again = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    deleted = client.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(again)],
    )
    assert len(deleted["Successful"]) == 2 and "Failed" not in deleted
    client.purge_queue(QueueUrl=url)


def test_errors_as_recorded_on_each_protocol(client: Any, harness: Harness) -> None:
    variant = client.protocol_variant
    url = harness.queue("wire-errors")
    fifo_url = harness.queue("wire-errors.fifo", FifoQueue="true")
    _assert_recorded(
        _error(lambda: client.receive_message(QueueUrl=url, MaxNumberOfMessages=11)),
        recorded_sqs(
            f"test_send_receive_max_number_of_messages[{variant}]", "send_max_number_of_messages"
        ),
    )
    _assert_recorded(
        _error(lambda: client.send_message(QueueUrl=url, MessageBody="")),
        recorded_sqs(f"test_send_empty_message[{variant}]", "send_empty_message"),
    )
    posting = recorded_sqs(f"test_posting_to_fifo_requires_deduplicationid_group_id[{variant}]")
    _assert_recorded(
        _error(lambda: client.send_message(QueueUrl=fifo_url, MessageBody="x")),
        posting["missing-parameter"],
    )
    _assert_recorded(
        _error(lambda: client.send_message(QueueUrl=fifo_url, MessageBody="x", MessageGroupId="g")),
        posting["invalid-parameter-value"],
    )
    _assert_recorded(
        _error(
            lambda: client.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": "h"} for i in range(20)]
            )
        ),
        recorded_sqs(
            f"test_delete_message_batch_with_too_large_batch[{variant}]", "error_response"
        ),
    )
    client.purge_queue(QueueUrl=url)
    purge = copy.deepcopy(
        recorded_sqs(f"test_successive_purge_calls_fail[{variant}]", "purge_queue_error")
    )
    purge["Error"]["Message"] = purge["Error"]["Message"].replace("<queue-name>", "wire-errors")
    _assert_recorded(_error(lambda: client.purge_queue(QueueUrl=url)), purge)
    missing = _error(lambda: client.send_message(QueueUrl=url + "-gone", MessageBody="x"))
    assert missing["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_move_task_shapes(client: Any, harness: Harness) -> None:
    dlq_url = harness.queue("wire-dlq")
    dlq_arn = harness.service.queues.by_url(CTX, dlq_url).arn
    harness.queue(
        "wire-source",
        RedrivePolicy=f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 1}}',
    )
    handle = client.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    harness.loop.run_until_complete(asyncio.sleep(0.05))
    [task] = client.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 0
    assert isinstance(task["StartedTimestamp"], int)
    error = _error(lambda: client.cancel_message_move_task(TaskHandle=handle))
    assert error["Error"]["Message"] == "Task does not exist."
