"""SQS message operations end to end: boto3 against a real server on both of SQS's protocols
(JSON, what current SDKs speak; query, what older SDKs and AWS CLI v1 spoke), compared with
the responses recorded against AWS (tests/fixtures/aws-recorded/sqs)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import REGION, LaminaServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data, query_sqs_session  # noqa: E402

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sqs"
PROTOCOLS = ["sqs", "sqs_query"]


def recorded(test: str, key: str | None = None, file: str = "test_sqs") -> Any:
    data = json.loads((RECORDED / f"{file}.snapshot.json").read_text())
    matches = [v for k, v in data.items() if k.endswith("::" + test)]
    assert len(matches) == 1, test
    content = matches[0]["recorded-content"]
    return content if key is None else content[key]


@pytest.fixture(scope="module")
def old_models(pytestconfig: pytest.Config) -> Path:
    assert pytestconfig.cache is not None
    data: Path = old_botocore_data(Path(pytestconfig.cache.mkdir("old-botocore")))
    return data


@pytest.fixture(params=PROTOCOLS)
def sqs(request: pytest.FixtureRequest, server: LaminaServer, old_models: Path) -> Any:
    config = Config(retries={"max_attempts": 1}, read_timeout=60)
    protocol = request.param
    session = query_sqs_session(old_models) if protocol == "sqs_query" else boto3.Session()._session
    client = session.create_client(
        "sqs",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )
    client.protocol_variant = protocol
    return client


def variant(sqs: Any, test: str) -> str:
    return f"{test}[{sqs.protocol_variant}]"


def new_queue(sqs: Any, suffix: str = "", **attributes: str) -> str:
    name = f"m-{uuid.uuid4().hex[:10]}{suffix}"
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def assert_error(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """The client saw what AWS answered: status, codes, message, fault."""
    assert (
        actual["ResponseMetadata"]["HTTPStatusCode"]
        == expected["ResponseMetadata"]["HTTPStatusCode"]
    )
    for member in ("Code", "Message", "Type", "QueryErrorCode"):
        assert actual["Error"].get(member) == expected["Error"].get(member), member


def strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_send_receive_delete_with_attributes_as_recorded(sqs: Any) -> None:
    content = recorded(variant(sqs, "test_receive_message_message_attribute_names_filters"))
    url = new_queue(sqs, VisibilityTimeout="0")
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="msg",
        MessageAttributes={
            "Help.Me": {"DataType": "String", "StringValue": "Me"},
            "Hello": {"DataType": "String", "StringValue": "There"},
            "General": {"DataType": "String", "StringValue": "Kenobi"},
        },
    )
    expected = content["send_message_response"]
    assert sent["MD5OfMessageBody"] == expected["MD5OfMessageBody"]
    assert sent["MD5OfMessageAttributes"] == expected["MD5OfMessageAttributes"]
    empty = sqs.receive_message(QueueUrl=url, MessageAttributeNames=[])
    [message] = empty["Messages"]
    assert set(message) == set(content["empty_filter"]["Messages"][0])
    for key, names in (
        ("all_wildcard", [".*"]),
        ("only_existing", ["Hello", "General"]),
        ("existing_and_non_existing", ["Foo", "Hello"]),
        ("prefix_filter", ["Hel.*"]),
        ("only_non_existing_names", ["Foo", "Help"]),
    ):
        [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=names)["Messages"]
        wanted = content[key]
        assert message.get("MessageAttributes") == wanted.get("MessageAttributes"), key
        assert message.get("MD5OfMessageAttributes") == wanted.get("MD5OfMessageAttributes")
    [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    all_attributes = recorded(variant(sqs, "test_receive_message_attribute_names_filters"))
    assert set(message["Attributes"]) == set(
        all_attributes["all_attributes"]["Messages"][0]["Attributes"]
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_binary_and_system_attributes(sqs: Any) -> None:
    content = recorded(variant(sqs, "test_send_message_with_binary_attributes"))
    url = new_queue(sqs)
    value = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    trace = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
    sqs.send_message(
        QueueUrl=url,
        MessageBody="test",
        MessageAttributes={"attr1": {"DataType": "Binary", "BinaryValue": value}},
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    [message] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["AWSTraceHeader"]
    )["Messages"]
    expected = content["binary-attrs-msg"]["Messages"][0]
    assert message["MD5OfMessageAttributes"] == expected["MD5OfMessageAttributes"]
    assert message["MessageAttributes"]["attr1"]["BinaryValue"] == value
    assert message["Attributes"] == {"AWSTraceHeader": trace}
    assert message["MD5OfBody"] == hashlib.md5(b"test").hexdigest()


def test_errors_as_recorded(sqs: Any) -> None:
    url = new_queue(sqs, MaximumMessageSize="1024")
    assert_error(
        error_of(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)),
        recorded(
            variant(sqs, "test_send_receive_max_number_of_messages"),
            "send_max_number_of_messages",
        ),
    )
    wait = recorded(variant(sqs, "test_send_receive_wait_time_seconds"))
    assert_error(
        error_of(lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)),
        wait["recieve_message_error_too_large"],
    )
    assert_error(
        error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="a" * 1025)),
        recorded(
            variant(sqs, "test_send_message_with_updated_maximum_message_size"),
            "send_oversized_message",
        ),
    )
    assert_error(
        error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="")),
        recorded(variant(sqs, "test_send_empty_message"), "send_empty_message"),
    )
    entries = [{"Id": str(i), "MessageBody": "x"} for i in range(20)]
    assert_error(
        error_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=entries)),
        recorded(
            variant(sqs, "test_too_many_entries_in_batch_request"),
            "test_too_many_entries_in_batch_request",
        ),
    )
    assert_error(
        error_of(
            lambda: sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": "invalid:id", "MessageBody": "x"}]
            )
        ),
        recorded(variant(sqs, "test_invalid_batch_id"), "test_invalid_batch_id"),
    )
    big = [{"Id": "1", "MessageBody": "a" * 1048576}, {"Id": "2", "MessageBody": "a"}]
    assert_error(
        error_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=big)),
        recorded(
            variant(sqs, "test_send_message_batch_with_oversized_contents"),
            "send_oversized_message_batch",
        ),
    )
    handles = [{"Id": str(i), "ReceiptHandle": "h"} for i in range(20)]
    assert_error(
        error_of(lambda: sqs.delete_message_batch(QueueUrl=url, Entries=handles)),
        recorded(variant(sqs, "test_delete_message_batch_with_too_large_batch"), "error_response"),
    )
    sqs.purge_queue(QueueUrl=url)
    purge = recorded(variant(sqs, "test_successive_purge_calls_fail"), "purge_queue_error")
    purge["Error"]["Message"] = purge["Error"]["Message"].replace(
        "<queue-name>", url.rsplit("/", 1)[1]
    )
    assert_error(error_of(lambda: sqs.purge_queue(QueueUrl=url)), purge)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # nothing was stored


def test_batch_partial_failure_as_recorded(sqs: Any) -> None:
    url = new_queue(sqs, MaximumMessageSize="1024")
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "big", "MessageBody": "a" * 1025}, {"Id": "ok", "MessageBody": "a"}],
    )
    expected = recorded("test_send_batch_message_size", "send-message-batch-result")
    assert result["Failed"] == [dict(expected["Failed"][0], Id="big")]
    [ok] = result["Successful"]
    assert (ok["Id"], ok["MD5OfMessageBody"]) == ("ok", "0cc175b9c0f1b6a831c399e269772661")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "ReceiptHandle": received[0]["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "not-a-handle"},
        ],
    )
    assert deleted["Successful"] == [{"Id": "good"}]
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert deleted["Failed"][0]["SenderFault"] is True


def test_fifo_rules_as_recorded(sqs: Any) -> None:
    url = new_queue(sqs, ".fifo", FifoQueue="true", VisibilityTimeout="1")
    content = recorded(variant(sqs, "test_posting_to_fifo_requires_deduplicationid_group_id"))
    assert_error(
        error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x")),
        content["missing-parameter"],
    )
    assert_error(
        error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")),
        content["invalid-parameter-value"],
    )
    first = sqs.send_message(
        QueueUrl=url, MessageBody="foobar", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    again = sqs.send_message(
        QueueUrl=url, MessageBody="other", MessageGroupId="g", MessageDeduplicationId="d1"
    )
    assert again["MessageId"] == first["MessageId"]
    sqs.send_message(
        QueueUrl=url, MessageBody="second", MessageGroupId="g", MessageDeduplicationId="d2"
    )
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "foobar"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # group locked
    time.sleep(1.3)
    handle = message["ReceiptHandle"]
    expired = recorded(variant(sqs, "test_fifo_delete_after_visibility_timeout"))
    expected = expired["delete_after_timeout_fifo"]
    expected["Error"]["Message"] = expected["Error"]["Message"].replace(
        "<receipt-handle:1>", handle
    )
    assert_error(error_of(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)), expected)
    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert bodies == ["foobar", "second"]


def test_long_poll_wakes_on_send(sqs: Any) -> None:
    url = new_queue(sqs)
    result: dict[str, Any] = {}

    def poll() -> None:
        result["response"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        result["at"] = time.monotonic()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive()
    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    poller.join(5)
    assert result["response"]["Messages"][0]["Body"] == "wake up"
    assert result["at"] - sent_at < 0.5


def test_dead_letter_redrive_and_move_back(sqs: Any) -> None:
    dlq_url = new_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = new_queue(sqs, RedrivePolicy=policy, VisibilityTimeout="1")
    source_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for body in ("message-1", "message-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 2
    time.sleep(1.2)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    moved = sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    expected = recorded("test_dead_letter_queue_message_attributes", "dlq-messages")
    assert sorted(m["Body"] for m in moved) == ["message-1", "message-2"]
    assert set(moved[0]["Attributes"]) >= set(expected[1]["Attributes"])
    assert moved[0]["Attributes"]["DeadLetterQueueSourceArn"] == source_arn
    assert moved[0]["Attributes"]["ApproximateReceiveCount"] == "2"

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    deadline = time.monotonic() + 5
    while True:
        [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        if task["Status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    shape = recorded(
        "test_move_task_workflow_with_default_destination",
        "list-message-move-task-response",
        file="test_sqs_move_task",
    )["Results"][0]
    assert set(task) == set(shape)
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 2)
    back = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in back) == ["message-1", "message-2"]
    error = error_of(lambda: sqs.cancel_message_move_task(TaskHandle="not-a-handle"))
    expected_error = recorded(
        "test_cancel_with_invalid_task_handle", "error", file="test_sqs_move_task"
    )
    if sqs.protocol_variant == "sqs_query":  # recorded on JSON only: the query has no shape code
        del expected_error["Error"]["QueryErrorCode"]
    assert_error(error, expected_error)


def test_change_visibility_and_batch(sqs: Any) -> None:
    url = new_queue(sqs, VisibilityTimeout="30")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]
    )
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 3
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    result = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": received[1]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "bogus", "VisibilityTimeout": 0},
        ],
    )
    assert result["Successful"] == [{"Id": "a"}]
    assert result["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    assert sorted(m["Body"] for m in again["Messages"]) == ["m0", "m1"]
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "2" for m in again["Messages"])
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "3"
    assert counts["ApproximateNumberOfMessages"] == "0"


def _raw_json_request(server: LaminaServer, target: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        f"X-Amz-Target: AmazonSQS.{target}\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/sqs/aws4_request,"
        " SignedHeaders=host;x-amz-date, Signature=0000\r\n"
        f"X-Amz-Date: 20261206T000000Z\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc for CPU time")
def test_thousand_idle_long_polls_cost_no_cpu(server: LaminaServer) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    assert server.process is not None
    pid = server.process.pid

    async def call(target: str, body: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(_raw_json_request(server, target, body))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(
            int(h.split(b":")[1]) for h in lines if h.lower().startswith(b"content-length")
        )
        data = await reader.readexactly(length)
        writer.close()
        return lines[0].split(b" ")[1], json.loads(data)

    async def scenario() -> tuple[float, list[tuple[bytes, dict[str, Any]]]]:
        _, created = await call("CreateQueue", {"QueueName": f"idle-{uuid.uuid4().hex[:8]}"})
        url = created["QueueUrl"]
        polls = [
            asyncio.ensure_future(call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 6}))
            for _ in range(1000)
        ]
        await asyncio.sleep(2)
        before = _cpu_seconds(pid)
        await asyncio.sleep(2)
        idle_cpu = _cpu_seconds(pid) - before
        await call("SendMessage", {"QueueUrl": url, "MessageBody": "one"})
        return idle_cpu, await asyncio.gather(*polls)

    idle_cpu, results = asyncio.run(scenario())
    assert idle_cpu < 0.2, f"{idle_cpu:.3f} s of CPU in 2 s with 1000 idle long polls"
    assert {status for status, _ in results} == {b"200"}
    assert sum(len(out.get("Messages", [])) for _, out in results) == 1


def test_the_number_of_messages_held_is_bounded(own_server: Any) -> None:
    """Every message costs memory: beyond --queue-max-messages (all queues together, those
    loaded at start included) SendMessage answers a retryable RequestThrottled and stores
    nothing; a deleted message makes room again."""
    server = own_server("--queue-max-messages", "3")
    sqs = server.client("sqs")
    first = sqs.create_queue(QueueName="bounded-a")["QueueUrl"]
    second = sqs.create_queue(QueueName="bounded-b")["QueueUrl"]
    sqs.send_message(QueueUrl=first, MessageBody="1")
    sqs.send_message_batch(
        QueueUrl=second,
        Entries=[{"Id": "a", "MessageBody": "2"}, {"Id": "b", "MessageBody": "3"}],
    )
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=first, MessageBody="4")
    error = refused.value.response
    assert error["Error"]["Code"] == "RequestThrottled"
    assert "--queue-max-messages" in error["Error"]["Message"]
    counts = sqs.get_queue_attributes(
        QueueUrl=first, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert counts == {"ApproximateNumberOfMessages": "1"}
    [message] = sqs.receive_message(QueueUrl=first)["Messages"]
    sqs.delete_message(QueueUrl=first, ReceiptHandle=message["ReceiptHandle"])
    sqs.send_message(QueueUrl=first, MessageBody="4")
    # Messages loaded at start count too.
    data = server.data_dir
    server.stop()
    again = own_server("--queue-max-messages", "3", data=data)
    with pytest.raises(ClientError) as still:
        again.client("sqs").send_message(QueueUrl=first, MessageBody="5")
    assert still.value.response["Error"]["Code"] == "RequestThrottled"
