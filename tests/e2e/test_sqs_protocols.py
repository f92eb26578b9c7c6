"""SQS's two wire protocols against a real server: a current boto3 client (JSON 1.0) and a
client built from botocore's last query-protocol SQS model (as older SDKs and the AWS CLI v1
of their time send) work on the same queues and messages, and get AWS's recorded errors
(tests/fixtures/aws-recorded/sqs/test_sqs.snapshot.json, [sqs] and [sqs_query])."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from support import REGION, LaminaServer, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data, query_sqs_session  # noqa: E402

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sqs"


def recorded_error(test: str, key: str) -> tuple[dict[str, Any], int]:
    """The ``Error`` and status AWS answered in SQS test ``test`` under ``key``."""
    snapshot = json.loads((RECORDED / "test_sqs.snapshot.json").read_text())
    (content,) = [v["recorded-content"] for k, v in snapshot.items() if k.endswith("::" + test)]
    return content[key]["Error"], content[key]["ResponseMetadata"]["HTTPStatusCode"]


BODY = '{"order": 42, "note": "tab\\t & <angle>"}\r\nline two \u00e9 \U0001f600'
ATTRIBUTES: dict[str, Any] = {
    "Kind": {"DataType": "String", "StringValue": "created & <new>"},
    "Count": {"DataType": "Number", "StringValue": "12.5"},
    "Thumb": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
    "Trace": {"DataType": "String.trace", "StringValue": "a\r\nb"},
}


@pytest.fixture(scope="module")
def query_sqs(server: LaminaServer, pytestconfig: pytest.Config) -> Any:
    data = old_botocore_data(pytestconfig.cache.mkdir("old-botocore-sqs"))
    client = query_sqs_session(data).create_client(
        "sqs",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    assert client.meta.service_model.protocol == "query"
    return client


@pytest.fixture(scope="module")
def json_sqs(server: LaminaServer) -> Any:
    client = server.client("sqs")
    assert client.meta.service_model.protocol == "json"
    return client


def _received(client: Any, url: str) -> dict[str, Any]:
    answer = client.receive_message(
        QueueUrl=url,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=2,
    )
    assert len(answer["Messages"]) == 1
    message: dict[str, Any] = answer["Messages"][0]
    return message


@pytest.mark.parametrize("direction", ["query-to-json", "json-to-query"])
def test_a_message_crosses_protocols_intact(query_sqs: Any, json_sqs: Any, direction: str) -> None:
    sender, receiver = (
        (query_sqs, json_sqs) if direction == "query-to-json" else (json_sqs, query_sqs)
    )
    url = sender.create_queue(QueueName=unique("proto"), tags={"team": "a & b"})["QueueUrl"]
    assert receiver.get_queue_url(QueueName=url.rsplit("/", 1)[1])["QueueUrl"] == url
    sent = sender.send_message(QueueUrl=url, MessageBody=BODY, MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == hashlib.md5(BODY.encode()).hexdigest()
    message = _received(receiver, url)
    assert message["Body"] == BODY
    assert message["MessageId"] == sent["MessageId"]
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert receiver.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a & b"}
    both = [
        c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]) for c in (sender, receiver)
    ]
    assert both[0]["Attributes"] == both[1]["Attributes"]
    receiver.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sender.delete_queue(QueueUrl=url)


def test_batches_over_the_query_protocol(query_sqs: Any, json_sqs: Any) -> None:
    url = query_sqs.create_queue(QueueName=unique("batch"))["QueueUrl"]
    entries = [
        {"Id": f"m{i}", "MessageBody": f"body {i}", "MessageAttributes": ATTRIBUTES}
        for i in range(3)
    ]
    sent = query_sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(entry["Id"] for entry in sent["Successful"]) == ["m0", "m1", "m2"]
    assert sent.get("Failed", []) == []
    got = query_sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=2
    )["Messages"]
    while len(got) < 3:
        more = json_sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=2
        )
        got.extend(more.get("Messages", []))
    assert sorted(m["Body"] for m in got) == ["body 0", "body 1", "body 2"]
    assert all(m["MessageAttributes"] == ATTRIBUTES for m in got)
    deleted = query_sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    assert len(deleted["Successful"]) == 3
    query_sqs.delete_queue(QueueUrl=url)


def test_nonexistent_queue_errors_as_recorded(query_sqs: Any, json_sqs: Any) -> None:
    with pytest.raises(json_sqs.exceptions.QueueDoesNotExist) as on_json:
        json_sqs.get_queue_url(QueueName=unique("missing"))
    with pytest.raises(query_sqs.exceptions.QueueDoesNotExist) as on_query:
        query_sqs.get_queue_url(QueueName=unique("missing"))
    for caught, key in (
        (on_json, "queue-does-not-exist"),
        (on_query, "queue-does-not-exist-query"),
    ):
        error, status = recorded_error("test_non_existent_queue", key)
        assert caught.value.response["Error"] == error
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_empty_message_errors_as_recorded(query_sqs: Any, json_sqs: Any) -> None:
    url = json_sqs.create_queue(QueueName=unique("empty"))["QueueUrl"]
    for client, variant in ((json_sqs, "sqs"), (query_sqs, "sqs_query")):
        with pytest.raises(client.exceptions.ClientError) as caught:
            client.send_message(QueueUrl=url, MessageBody="")
        response = caught.value.response
        recorded = recorded_error(f"test_send_empty_message[{variant}]", "send_empty_message")
        assert (response["Error"], response["ResponseMetadata"]["HTTPStatusCode"]) == recorded
    json_sqs.delete_queue(QueueUrl=url)
