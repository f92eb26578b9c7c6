"""The message engine and the message API handlers, against a real SQS database (no server).

Answers and errors are compared with the responses recorded against AWS
(tests/fixtures/aws-recorded/sqs). Time-dependent rules run on a settable clock.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqs_recorded import assert_recorded_error, recorded_sqs

from lamina.api.sqs_message_api import sqs_message_handlers
from lamina.api.sqs_queue_api import sqs_queue_handlers
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.domain.sqs.errors import (
    MessageNotInflight,
    QueueDoesNotExist,
    ReceiptHandleIsInvalid,
)
from lamina.domain.sqs.queue import QueueCounts
from lamina.services.sqs.messages import MessageEngine
from lamina.services.sqs.service import SqsService
from lamina.store.sqs_store import SqliteSqsStore

ACCOUNT = "111111111111"
BASE = "http://127.0.0.1:9000"
CTX = RequestContext("req-1", ACCOUNT, "us-east-1")
Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


class Clock:
    """Milliseconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


class Harness:
    """One SqsService (queue registry + message engine) over a temporary database."""

    def __init__(self, path: Path, payload_budget_bytes: int = 1 << 20) -> None:
        self.path = path
        self.budget = payload_budget_bytes
        self.clock = Clock()
        self.loop = asyncio.new_event_loop()
        self._open()

    def _open(self) -> None:
        self.service = SqsService(
            SqliteSqsStore(self.path),
            base_url=BASE,
            engine_factory=lambda store, registry: MessageEngine(
                store, registry, clock=self.clock, payload_budget_bytes=self.budget
            ),
        )
        self.loop.run_until_complete(self.service.start())
        engine = self.service.engine
        assert isinstance(engine, MessageEngine)
        self.engine = engine
        self.handlers: dict[str, Handler] = {
            **sqs_queue_handlers(self.service),
            **sqs_message_handlers(self.service),
        }

    def restart(self) -> None:
        self.loop.run_until_complete(self.service.stop())
        self._open()

    def close(self) -> None:
        self.loop.run_until_complete(self.service.stop())
        self.loop.close()

    def call(self, operation: str, **params: Any) -> Any:
        return self.loop.run_until_complete(self.handlers[operation](CTX, params))

    def error(self, operation: str, **params: Any) -> AwsError:
        with pytest.raises(AwsError) as caught:
            self.call(operation, **params)
        return caught.value

    def queue(self, name: str, **attributes: str) -> str:
        url: str = self.call("CreateQueue", QueueName=name, Attributes=attributes)["QueueUrl"]
        return url

    def counts(self, url: str) -> QueueCounts:
        return self.engine.counts(self.service.queues.by_url(CTX, url))

    def receive(self, url: str, **params: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.call("ReceiveMessage", QueueUrl=url, **params).get(
            "Messages", []
        )
        return messages


@pytest.fixture
def sqs(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "sqs.sqlite3")
    yield harness
    harness.close()


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


# --- send and receive --------------------------------------------------------------------


def test_send_receive_delete_round_trip(sqs: Harness) -> None:
    url = sqs.queue("q")
    sent = sqs.call("SendMessage", QueueUrl=url, MessageBody="message")
    assert sent["MD5OfMessageBody"] == "78e731027d8fd50ed642340b7c9a63b3"
    assert set(sent) == {"MessageId", "MD5OfMessageBody"}
    assert sqs.counts(url) == QueueCounts(visible=1)
    [message] = sqs.receive(url)
    assert message["MessageId"] == sent["MessageId"]
    assert set(message) == {"MessageId", "ReceiptHandle", "MD5OfBody", "Body"}
    assert sqs.counts(url) == QueueCounts(not_visible=1)
    assert sqs.receive(url) == []
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.counts(url) == QueueCounts()
    # Deleting again (an already deleted message) succeeds, as on SQS.
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_message_attribute_names_select_as_recorded(sqs: Harness) -> None:
    recorded = recorded_sqs("test_receive_message_message_attribute_names_filters[sqs]")
    url = sqs.queue("attrs", VisibilityTimeout="0")
    sent = sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="msg",
        MessageAttributes={
            "Help.Me": _string("Me"),
            "Hello": _string("There"),
            "General": _string("Kenobi"),
        },
    )
    assert (
        sent["MD5OfMessageAttributes"]
        == recorded["send_message_response"]["MD5OfMessageAttributes"]
    )
    cases = {
        "all_wildcard_asterisk": ["*"],
        "all_wildcard": [".*"],
        "only_non_existing_names": ["Foo", "Help"],
        "only_existing": ["Hello", "General"],
        "existing_and_non_existing": ["Foo", "Hello"],
        "prefix_filter": ["Hel.*"],
    }
    for key, names in cases.items():
        [message] = sqs.receive(url, MessageAttributeNames=names)
        expected = recorded[key]
        assert message.get("MessageAttributes") == expected.get("MessageAttributes"), key
        assert message.get("MD5OfMessageAttributes") == expected.get("MD5OfMessageAttributes")
    [message] = sqs.receive(url, MessageAttributeNames=["All"])
    assert message["MessageAttributes"] == recorded["all_name"]["Messages"][0]["MessageAttributes"]
    [message] = sqs.receive(url, MessageAttributeNames=["AWS."])
    assert "MessageAttributes" not in message


def test_system_attribute_names_select_as_recorded(sqs: Harness) -> None:
    recorded = recorded_sqs("test_receive_message_attribute_names_filters[sqs]")
    url = sqs.queue("sys", VisibilityTimeout="0")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="msg")
    [message] = sqs.receive(url, AttributeNames=["All"])
    assert set(message["Attributes"]) == set(
        recorded["all_attributes"]["Messages"][0]["Attributes"]
    )
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["Attributes"]["SenderId"] == ACCOUNT
    [message] = sqs.receive(url, MessageSystemAttributeNames=["SenderId"])
    assert message["Attributes"] == {"SenderId": ACCOUNT}
    [message] = sqs.receive(url, AttributeNames=["All"])
    assert message["Attributes"]["ApproximateReceiveCount"] == "3"


def test_trace_header_and_binary_attributes(sqs: Harness) -> None:
    recorded = recorded_sqs("test_send_message_with_binary_attributes[sqs]", "binary-attrs-msg")
    url = sqs.queue("bin")
    value = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    trace = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
    sent = sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="test",
        MessageAttributes={"attr1": {"DataType": "Binary", "BinaryValue": value}},
        MessageSystemAttributes={"AWSTraceHeader": _string(trace)},
    )
    assert sent["MD5OfMessageAttributes"] == recorded["Messages"][0]["MD5OfMessageAttributes"]
    assert "MD5OfMessageSystemAttributes" in sent
    [message] = sqs.receive(url, MessageAttributeNames=["All"], AttributeNames=["AWSTraceHeader"])
    assert message["MessageAttributes"]["attr1"] == {"DataType": "Binary", "BinaryValue": value}
    assert message["Attributes"] == {"AWSTraceHeader": trace}


def test_send_errors_are_recorded_ones(sqs: Harness) -> None:
    url = sqs.queue("errors", MaximumMessageSize="1024")
    error = sqs.error("SendMessage", QueueUrl=url, MessageBody="a" * 1025)
    assert_recorded_error(
        error,
        recorded_sqs(
            "test_send_message_with_updated_maximum_message_size[sqs]", "send_oversized_message"
        ),
    )
    error = sqs.error("SendMessage", QueueUrl=url, MessageBody="")
    assert_recorded_error(error, recorded_sqs("test_send_empty_message[sqs]", "send_empty_message"))
    error = sqs.error(
        "SendMessage",
        QueueUrl=url,
        MessageBody="x",
        MessageAttributes={"ErrorDetails": _string("")},
    )
    assert_recorded_error(
        error,
        recorded_sqs("test_send_message_with_empty_string_attribute[sqs]", "empty-string-attr"),
    )
    for case, group in (("empty", ""), ("too_long", "a" * 129), ("spaces", "group 123")):
        error = sqs.error("SendMessage", QueueUrl=url, MessageBody="x", MessageGroupId=group)
        assert_recorded_error(
            error,
            recorded_sqs(
                f"test_send_message_to_standard_queue_with_invalid_message_group_id[{case}]",
                "error-response",
            ),
        )
    error = sqs.error("SendMessage", QueueUrl=url, MessageBody="bad \x00 char")
    assert error.code == "InvalidMessageContents"
    too_many = {f"a{i}": _string("v") for i in range(11)}
    error = sqs.error("SendMessage", QueueUrl=url, MessageBody="x", MessageAttributes=too_many)
    assert error.code == "InvalidParameterValueException"
    assert sqs.counts(url) == QueueCounts()  # nothing stored


def test_receive_parameter_errors_are_recorded_ones(sqs: Harness) -> None:
    url = sqs.queue("receive-errors")
    assert_recorded_error(
        sqs.error("ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=11),
        recorded_sqs(
            "test_send_receive_max_number_of_messages[sqs]", "send_max_number_of_messages"
        ),
    )
    recorded = recorded_sqs("test_send_receive_wait_time_seconds[sqs]")
    assert_recorded_error(
        sqs.error("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=21),
        recorded["recieve_message_error_too_large"],
    )
    assert_recorded_error(
        sqs.error("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=-1),
        recorded["recieve_message_error_too_small"],
    )


def test_batch_send_rules(sqs: Harness) -> None:
    url = sqs.queue("batch", MaximumMessageSize="1024")
    entries = [{"Id": str(i), "MessageBody": "x"} for i in range(20)]
    assert_recorded_error(
        sqs.error("SendMessageBatch", QueueUrl=url, Entries=entries),
        recorded_sqs(
            "test_too_many_entries_in_batch_request[sqs]", "test_too_many_entries_in_batch_request"
        ),
    )
    assert_recorded_error(
        sqs.error("SendMessageBatch", QueueUrl=url, Entries=[{"Id": "a:b", "MessageBody": "x"}]),
        recorded_sqs("test_invalid_batch_id[sqs]", "test_invalid_batch_id"),
    )
    big = [{"Id": "1", "MessageBody": "a" * 1048576}, {"Id": "2", "MessageBody": "a"}]
    assert_recorded_error(
        sqs.error("SendMessageBatch", QueueUrl=url, Entries=big),
        recorded_sqs(
            "test_send_message_batch_with_oversized_contents[sqs]", "send_oversized_message_batch"
        ),
    )
    assert sqs.error("SendMessageBatch", QueueUrl=url, Entries=[]).code == "EmptyBatchRequest"
    twice = [{"Id": "1", "MessageBody": "a"}, {"Id": "1", "MessageBody": "b"}]
    assert sqs.error("SendMessageBatch", QueueUrl=url, Entries=twice).code == (
        "BatchEntryIdsNotDistinct"
    )
    recorded = recorded_sqs("test_send_batch_message_size", "send-message-batch-result")
    result = sqs.call(
        "SendMessageBatch",
        QueueUrl=url,
        Entries=[{"Id": "big", "MessageBody": "a" * 1025}, {"Id": "ok", "MessageBody": "a"}],
    )
    [failed] = result["Failed"]
    expected = dict(recorded["Failed"][0], Id="big")
    assert failed == expected
    [ok] = result["Successful"]
    assert ok["Id"] == "ok" and ok["MD5OfMessageBody"] == "0cc175b9c0f1b6a831c399e269772661"
    assert sqs.counts(url) == QueueCounts(visible=1)


def test_visibility_timeout_and_receive_count(sqs: Harness) -> None:
    url = sqs.queue("vis", VisibilityTimeout="10")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="m")
    [first] = sqs.receive(url, AttributeNames=["ApproximateReceiveCount"])
    sqs.clock.advance(9.9)
    assert sqs.receive(url) == []
    sqs.clock.advance(0.2)
    [second] = sqs.receive(url, AttributeNames=["ApproximateReceiveCount"], VisibilityTimeout=5)
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    # The old handle is stale: deleting with it succeeds but keeps the message.
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert sqs.counts(url) == QueueCounts(not_visible=1)
    # ChangeMessageVisibility to 0 makes it visible at once.
    sqs.call(
        "ChangeMessageVisibility",
        QueueUrl=url,
        ReceiptHandle=second["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    assert sqs.counts(url) == QueueCounts(visible=1)
    error = sqs.error(
        "ChangeMessageVisibility",
        QueueUrl=url,
        ReceiptHandle=first["ReceiptHandle"],
        VisibilityTimeout=5,
    )
    assert isinstance(error, MessageNotInflight)
    error = sqs.error("DeleteMessage", QueueUrl=url, ReceiptHandle="garbage")
    assert isinstance(error, ReceiptHandleIsInvalid)


def test_standard_delete_after_visibility_expired_deletes(sqs: Harness) -> None:
    url = sqs.queue("late-delete", VisibilityTimeout="1")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="m")
    [message] = sqs.receive(url)
    sqs.clock.advance(2)
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.counts(url) == QueueCounts()


def test_delays_queue_and_message(sqs: Harness) -> None:
    url = sqs.queue("delayed", DelaySeconds="5")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="queue delay")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="own delay", DelaySeconds=1)
    sqs.call("SendMessage", QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
    assert sqs.counts(url) == QueueCounts(visible=1, delayed=2)
    assert [m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)] == ["no delay"]
    sqs.clock.advance(1)
    assert [m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)] == ["own delay"]
    sqs.clock.advance(4)
    assert [m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)] == ["queue delay"]


def test_batch_delete_and_visibility_outcomes(sqs: Harness) -> None:
    url = sqs.queue("batch-ack")
    sqs.call(
        "SendMessageBatch",
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)],
    )
    received = sqs.receive(url, MaxNumberOfMessages=10)
    assert len(received) == 3
    result = sqs.call(
        "ChangeMessageVisibilityBatch",
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": received[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "bogus", "VisibilityTimeout": 0},
        ],
    )
    assert result["Successful"] == [{"Id": "a"}]
    assert result["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    result = sqs.call(
        "DeleteMessageBatch",
        QueueUrl=url,
        Entries=[
            {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)
        ]
        + [{"Id": "bad", "ReceiptHandle": "bogus"}],
    )
    assert [entry["Id"] for entry in result["Successful"]] == ["d0", "d1", "d2"]
    assert result["Failed"] == [
        {
            "Id": "bad",
            "SenderFault": True,
            "Code": "ReceiptHandleIsInvalid",
            "Message": 'The input receipt handle "bogus" is not a valid receipt handle.',
        }
    ]
    assert_recorded_error(
        sqs.error(
            "DeleteMessageBatch",
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": "h"} for i in range(20)],
        ),
        recorded_sqs("test_delete_message_batch_with_too_large_batch[sqs]", "error_response"),
    )


def test_purge_once_per_minute(sqs: Harness) -> None:
    url = sqs.queue("purge")
    for _ in range(3):
        sqs.call("SendMessage", QueueUrl=url, MessageBody="m")
    sqs.call("PurgeQueue", QueueUrl=url)
    assert sqs.counts(url) == QueueCounts()
    error = sqs.error("PurgeQueue", QueueUrl=url)
    recorded = copy.deepcopy(
        recorded_sqs("test_successive_purge_calls_fail[sqs]", "purge_queue_error")
    )
    recorded["Error"]["Message"] = recorded["Error"]["Message"].replace("<queue-name>", "purge")
    assert_recorded_error(error, recorded)
    sqs.clock.advance(60)
    sqs.call("PurgeQueue", QueueUrl=url)


def test_retention_expiry(sqs: Harness) -> None:
    url = sqs.queue("retained", MessageRetentionPeriod="60")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="old")
    sqs.clock.advance(30)
    sqs.call("SendMessage", QueueUrl=url, MessageBody="new")
    sqs.clock.advance(31)
    assert len(sqs.engine.expire(sqs.clock())[0]) == 1
    assert [m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)] == ["new"]


# --- dead letters --------------------------------------------------------------------------


def test_dead_letter_redrive_as_recorded(sqs: Harness) -> None:
    recorded = recorded_sqs("test_dead_letter_queue_message_attributes")
    dlq_url = sqs.queue("dlq")
    dlq_arn = sqs.service.queues.by_url(CTX, dlq_url).arn
    policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 1}}'
    url = sqs.queue("source", RedrivePolicy=policy, VisibilityTimeout="1")
    sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="message-1",
        MessageAttributes={"MyAttribute": _string("foobar")},
    )
    [first] = sqs.receive(url, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.clock.advance(1)
    assert sqs.receive(url) == []  # the receive that would exceed 1 moves it
    assert sqs.counts(url) == QueueCounts()
    [moved] = sqs.receive(dlq_url, AttributeNames=["All"], MessageAttributeNames=["All"])
    expected = recorded["dlq-messages"][0]
    assert moved["MessageId"] == first["MessageId"]
    assert moved["MD5OfMessageAttributes"] == expected["MD5OfMessageAttributes"]
    assert moved["Attributes"]["ApproximateReceiveCount"] == "2"
    source_arn = sqs.service.queues.by_url(CTX, url).arn
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == source_arn
    assert moved["Attributes"]["SentTimestamp"] == first["Attributes"]["SentTimestamp"]


# --- FIFO ----------------------------------------------------------------------------------


def test_fifo_send_errors_are_recorded_ones(sqs: Harness) -> None:
    url = sqs.queue("errors.fifo", FifoQueue="true")
    recorded = recorded_sqs("test_posting_to_fifo_requires_deduplicationid_group_id[sqs]")
    assert_recorded_error(
        sqs.error("SendMessage", QueueUrl=url, MessageBody="x"), recorded["missing-parameter"]
    )
    assert_recorded_error(
        sqs.error("SendMessage", QueueUrl=url, MessageBody="x", MessageGroupId="g"),
        recorded["invalid-parameter-value"],
    )
    assert_recorded_error(
        sqs.error(
            "SendMessage",
            QueueUrl=url,
            MessageBody="x",
            MessageGroupId="g",
            MessageDeduplicationId="d",
            DelaySeconds=2,
        ),
        recorded_sqs("test_fifo_queue_send_message_with_delay_seconds_fails[sqs]", "send_message"),
    )
    assert_recorded_error(
        sqs.error(
            "SendMessageBatch",
            QueueUrl=url,
            Entries=[{"Id": "1", "MessageBody": "x", "MessageDeduplicationId": "d"}],
        ),
        recorded_sqs(
            "test_send_batch_missing_message_group_id_for_fifo_queue[sqs]",
            "test_missing_message_group_id_for_fifo_queue",
        ),
    )
    assert_recorded_error(
        sqs.error(
            "SendMessageBatch",
            QueueUrl=url,
            Entries=[{"Id": "1", "MessageBody": "x", "MessageGroupId": "g"}],
        ),
        recorded_sqs(
            "test_send_batch_missing_deduplication_id_for_fifo_queue[sqs]",
            "test_missing_deduplication_id_for_fifo_queue",
        ),
    )
    for case, value in (("empty", ""), ("too_long", "a" * 129), ("spaces", "group 123")):
        error = sqs.error(
            "SendMessage",
            QueueUrl=url,
            MessageBody="x",
            MessageGroupId="g",
            MessageDeduplicationId=value,
        )
        assert_recorded_error(
            error, recorded_sqs(f"test_message_deduplication_id_invalid[{case}]", "error-response")
        )


def test_fifo_order_group_lock_and_sequence(sqs: Harness) -> None:
    url = sqs.queue("order.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sequence = []
    for group, body in (("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3"), ("b", "b2")):
        sent = sqs.call("SendMessage", QueueUrl=url, MessageBody=body, MessageGroupId=group)
        sequence.append(int(sent["SequenceNumber"]))
    assert sequence == sorted(sequence) and len(sent["SequenceNumber"]) == 20
    first = sqs.receive(url, MaxNumberOfMessages=2, AttributeNames=["All"])
    assert [m["Body"] for m in first] == ["a1", "a2"]
    assert first[0]["Attributes"]["MessageGroupId"] == "a"
    assert "SequenceNumber" in first[0]["Attributes"]
    # Group a is locked while a1/a2 are in flight: only group b is served.
    assert [m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)] == ["b1", "b2"]
    assert sqs.receive(url, MaxNumberOfMessages=10) == []
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert sqs.receive(url) == []  # a2 still in flight
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)] == ["a3"]


def test_fifo_expired_receipt_handle_as_recorded(sqs: Harness) -> None:
    recorded = recorded_sqs("test_fifo_delete_after_visibility_timeout[sqs]")
    url = sqs.queue("expired.fifo", FifoQueue="true", VisibilityTimeout="1")
    sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="foobar",
        MessageGroupId="g",
        MessageDeduplicationId="d",
    )
    [message] = sqs.receive(url)
    sqs.clock.advance(1.5)
    handle = message["ReceiptHandle"]
    error = sqs.error("DeleteMessage", QueueUrl=url, ReceiptHandle=handle)
    expected = copy.deepcopy(recorded["delete_after_timeout_fifo"])
    expected["Error"]["Message"] = expected["Error"]["Message"].replace(
        "<receipt-handle:1>", handle
    )
    assert_recorded_error(error, expected)


def test_fifo_deduplication_window_and_scope(sqs: Harness) -> None:
    url = sqs.queue("dedup.fifo", FifoQueue="true")
    first = sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="1",
        MessageGroupId="g1",
        MessageDeduplicationId="same",
    )
    again = sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="2",
        MessageGroupId="g2",
        MessageDeduplicationId="same",
    )
    assert again["MessageId"] == first["MessageId"]
    assert sqs.counts(url) == QueueCounts(visible=1)
    sqs.clock.advance(301)
    sqs.call(
        "SendMessage",
        QueueUrl=url,
        MessageBody="3",
        MessageGroupId="g1",
        MessageDeduplicationId="same",
    )
    assert sqs.counts(url) == QueueCounts(visible=2)

    scoped = sqs.queue(
        "scoped.fifo",
        FifoQueue="true",
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
        ContentBasedDeduplication="true",
    )
    for group in ("g1", "g2", "g1"):
        sqs.call("SendMessage", QueueUrl=scoped, MessageBody="Test", MessageGroupId=group)
    assert sqs.counts(scoped) == QueueCounts(visible=2)


def test_fifo_receive_request_attempt_id_replays(sqs: Harness) -> None:
    url = sqs.queue("attempt.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for body in ("x", "y"):
        sqs.call("SendMessage", QueueUrl=url, MessageBody=body, MessageGroupId="g")
    first = sqs.receive(url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="try-1")
    again = sqs.receive(url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="try-1")
    assert [m["ReceiptHandle"] for m in again] == [m["ReceiptHandle"] for m in first]
    assert sqs.receive(url, ReceiveRequestAttemptId="try-2") == []


# --- waiting, deletion, restarts -------------------------------------------------------------


def test_long_poll_wakes_when_a_message_arrives(sqs: Harness) -> None:
    url = sqs.queue("long")
    receive = sqs.handlers["ReceiveMessage"]
    send = sqs.handlers["SendMessage"]

    async def scenario() -> tuple[float, Any]:
        waiting = asyncio.ensure_future(receive(CTX, {"QueueUrl": url, "WaitTimeSeconds": 10}))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        started = time.perf_counter()
        await send(CTX, {"QueueUrl": url, "MessageBody": "now"})
        result = await waiting
        return time.perf_counter() - started, result

    elapsed, result = sqs.loop.run_until_complete(scenario())
    assert result["Messages"][0]["Body"] == "now"
    assert elapsed < 0.5


def test_thousand_idle_long_polls(sqs: Harness) -> None:
    url = sqs.queue("idle")
    receive = sqs.handlers["ReceiveMessage"]
    send = sqs.handlers["SendMessage"]

    async def scenario() -> tuple[int, float, int]:
        polls = [
            asyncio.ensure_future(receive(CTX, {"QueueUrl": url, "WaitTimeSeconds": 2}))
            for _ in range(1000)
        ]
        await asyncio.sleep(0.3)
        cpu_before = time.process_time()
        await asyncio.sleep(0.5)
        idle_cpu = time.process_time() - cpu_before
        await send(CTX, {"QueueUrl": url, "MessageBody": "one"})
        results = await asyncio.gather(*polls)
        received = sum(len(r.get("Messages", [])) for r in results)
        return (
            received,
            idle_cpu,
            len(sqs.engine.index(sqs.service.queues.by_url(CTX, url)).waiters),
        )

    received, idle_cpu, left = sqs.loop.run_until_complete(scenario())
    assert received == 1
    assert idle_cpu < 0.1  # no polling loop: waiting costs (almost) nothing
    assert left == 0


def test_deleted_queue_drops_messages_and_fails_waiters(sqs: Harness) -> None:
    url = sqs.queue("doomed")
    sqs.call("SendMessage", QueueUrl=url, MessageBody="m")
    receive = sqs.handlers["ReceiveMessage"]

    async def scenario() -> BaseException | None:
        other = sqs.queue  # noqa: F841 - keep the harness referenced
        empty_url = sqs.handlers["CreateQueue"]
        made = await empty_url(CTX, {"QueueName": "doomed-empty"})
        waiting = asyncio.ensure_future(
            receive(CTX, {"QueueUrl": made["QueueUrl"], "WaitTimeSeconds": 5})
        )
        await asyncio.sleep(0.1)
        await sqs.handlers["DeleteQueue"](CTX, {"QueueUrl": made["QueueUrl"]})
        try:
            await asyncio.wait_for(waiting, 2)
        except AwsError as error:
            return error
        return None

    assert isinstance(sqs.loop.run_until_complete(scenario()), QueueDoesNotExist)
    sqs.call("DeleteQueue", QueueUrl=url)
    assert sqs.service.store.load_messages(sqs.clock()).messages == []


def test_restart_keeps_messages_in_flight_state_and_dedup(sqs: Harness) -> None:
    url = sqs.queue("durable", VisibilityTimeout="100")
    fifo_url = sqs.queue("durable.fifo", FifoQueue="true")
    for body in ("a", "b", "c"):
        sqs.call("SendMessage", QueueUrl=url, MessageBody=body)
    sqs.call(
        "SendMessage",
        QueueUrl=fifo_url,
        MessageBody="f",
        MessageGroupId="g",
        MessageDeduplicationId="once",
    )
    [in_flight] = sqs.receive(url)
    sqs.restart()
    assert sqs.counts(url) == QueueCounts(visible=2, not_visible=1)
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=in_flight["ReceiptHandle"])
    assert sqs.counts(url) == QueueCounts(visible=2)
    sqs.call(
        "SendMessage",
        QueueUrl=fifo_url,
        MessageBody="f2",
        MessageGroupId="g",
        MessageDeduplicationId="once",
    )
    assert sqs.counts(fifo_url) == QueueCounts(visible=1)
    assert sorted(m["Body"] for m in sqs.receive(url, MaxNumberOfMessages=10)) == ["b", "c"]


def test_payloads_beyond_the_memory_budget_are_read_from_sqlite(tmp_path: Path) -> None:
    sqs = Harness(tmp_path / "sqs.sqlite3", payload_budget_bytes=100)
    try:
        dlq_url = sqs.queue("budget-dlq")
        dlq_arn = sqs.service.queues.by_url(CTX, dlq_url).arn
        policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 1}}'
        url = sqs.queue("budget", RedrivePolicy=policy, VisibilityTimeout="1")
        bodies = [f"{i}-" + "x" * 40 for i in range(5)]
        for body in bodies:
            sqs.call(
                "SendMessage",
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes={"n": _string(body[:2])},
            )
        assert sqs.engine.budget.used <= 100
        received = sqs.receive(url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        assert sorted(m["Body"] for m in received) == bodies
        assert all(m["MessageAttributes"]["n"]["StringValue"] == m["Body"][:2] for m in received)
        sqs.clock.advance(1)
        assert sqs.receive(url, MaxNumberOfMessages=10) == []  # all moved to the DLQ
        moved = sqs.receive(dlq_url, MaxNumberOfMessages=10)
        assert sorted(m["Body"] for m in moved) == bodies
        for message in moved:
            sqs.call("DeleteMessage", QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
        assert sqs.engine.budget.used == 0
    finally:
        sqs.close()


def test_fifo_dedup_outlives_delete_and_groups_come_back(sqs: Harness) -> None:
    url = sqs.queue("again.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sqs.call("SendMessage", QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g")
    [message] = sqs.receive(url)
    sqs.call("DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.call("SendMessage", QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g")
    assert sqs.receive(url) == []  # deduplicated although the first was deleted
    sqs.call("SendMessage", QueueUrl=url, MessageBody="Message 2", MessageGroupId="g")
    assert [m["Body"] for m in sqs.receive(url)] == ["Message 2"]


def test_fifo_scope_switch_keeps_queue_wide_ids(sqs: Harness) -> None:
    url = sqs.queue("switch.fifo", FifoQueue="true")
    for group, body in (("g1", "Test1"), ("g2", "Test2")):
        sqs.call(
            "SendMessage",
            QueueUrl=url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId="same",
        )
    assert sqs.counts(url) == QueueCounts(visible=1)
    sqs.call(
        "SetQueueAttributes",
        QueueUrl=url,
        Attributes={
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )
    sqs.call(
        "SendMessage", QueueUrl=url, MessageBody="Test3", MessageGroupId="g3",
        MessageDeduplicationId="same",
    )  # fmt: skip
    assert sqs.counts(url) == QueueCounts(visible=1)
    for group in ("g1", "g2"):
        sqs.call(
            "SendMessage",
            QueueUrl=url,
            MessageBody="Test4",
            MessageGroupId=group,
            MessageDeduplicationId="new",
        )
    assert sqs.counts(url) == QueueCounts(visible=3)


def test_stopping_answers_waiting_receives(sqs: Harness) -> None:
    url = sqs.queue("stopping")
    receive = sqs.handlers["ReceiveMessage"]

    async def scenario() -> tuple[float, Any]:
        waiting = asyncio.ensure_future(receive(CTX, {"QueueUrl": url, "WaitTimeSeconds": 20}))
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        await sqs.engine.stop()
        result = await asyncio.wait_for(waiting, 2)
        return time.perf_counter() - started, result

    elapsed, result = sqs.loop.run_until_complete(scenario())
    assert result == {} and elapsed < 0.5


def test_fifo_head_made_visible_is_received_while_later_messages_are_in_flight(
    sqs: Harness,
) -> None:
    recorded = recorded_sqs(
        "test_fifo_group_visibility_extends_with_change_message_visibility[sqs-1-visible]"
    )
    url = sqs.queue("heads.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for body in ("foo", "bar", "baz"):
        sqs.call("SendMessage", QueueUrl=url, MessageBody=body, MessageGroupId="g")
    received = sqs.receive(url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in received] == ["foo", "bar", "baz"]
    assert sqs.receive(url, MaxNumberOfMessages=10) == []
    sqs.call(
        "ChangeMessageVisibility",
        QueueUrl=url,
        ReceiptHandle=received[0]["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    again = sqs.receive(url, MaxNumberOfMessages=10)
    expected = recorded["some-messages-invisible"]["Messages"]
    assert [m["Body"] for m in again] == [m["Body"] for m in expected] == ["foo"]
