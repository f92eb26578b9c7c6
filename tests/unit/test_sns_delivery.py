"""The SNS service in process, with fake queues and functions: Publish's durable fan-out,
what each protocol receives (compared with AWS's recordings), filter policies, retries,
dead-letter queues, FIFO deduplication and a restart resuming undelivered notifications."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.context import RequestContext
from lamina.services.queue_ports import MessageAttribute, QueueNotFound
from lamina.services.sns.message_rules import MessageRequest
from lamina.services.sns.retry_policy import MANAGED_ATTEMPTS, http_policy, managed_delay
from lamina.services.sns.service import SnsService
from lamina.services.sns.topic_sink import SnsTopicSink
from lamina.services.topic_ports import TopicAttribute, TopicNotFound, TopicRejected
from lamina.store.sns_store import SqliteSnsStore

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sns"
CTX = RequestContext("req", "111111111111", "us-east-1")
QUEUE = "arn:aws:sqs:us-east-1:111111111111:q"
DLQ = "arn:aws:sqs:us-east-1:111111111111:dlq"
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:f"


@cache
def recorded(test: str, key: str) -> Any:
    data = json.loads((RECORDED / "test_sns.snapshot.json").read_text())
    [entry] = [v for k, v in data.items() if k.endswith("::" + test)]
    return entry["recorded-content"][key]


class FakeQueues:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Mapping[str, MessageAttribute] | None, str | None]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.gate: asyncio.Event | None = None

    async def send(
        self,
        arn: str,
        body: str,
        message_attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        message_group_id: str | None = None,
        deduplication_id: str | None = None,
        trace_header: str | None = None,
    ) -> str:
        if self.gate is not None:
            await self.gate.wait()
        pending = self.failures.get(arn)
        if pending:
            raise pending.pop(0)
        self.sent.append((arn, body, message_attributes, message_group_id))
        return "id"


class FakeFunctions:
    def __init__(self) -> None:
        self.invoked: list[tuple[str, dict[str, Any]]] = []

    async def invoke_async(
        self, function_arn: str, payload: bytes, *, trace_header: str | None = None
    ) -> str:
        self.invoked.append((function_arn, json.loads(payload)))
        return "rid"


def run(
    test: Callable[[SnsService, FakeQueues, FakeFunctions, Path], Awaitable[None]], tmp: Path
) -> None:
    async def main() -> None:
        queues, functions = FakeQueues(), FakeFunctions()
        service = SnsService(
            SqliteSnsStore(tmp / "sns.sqlite3", "kill"),
            queues,
            base_url="http://h:9",
            functions=functions,
        )
        await service.start()
        try:
            await test(service, queues, functions, tmp)
        finally:
            await service.stop()

    asyncio.run(main())


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def request(text: str = "hello", **kwargs: Any) -> MessageRequest:
    return MessageRequest(
        text,
        kwargs.get("subject"),
        kwargs.get("structure"),
        kwargs.get("attributes", {}),
        kwargs.get("group"),
        kwargs.get("dedup"),
    )


async def publish(service: SnsService, arn: str, req: MessageRequest) -> str:
    topic = service.publisher.publish_topic(CTX, arn, "TopicArn")
    service.publisher.check(topic, req)
    return (await service.publisher.publish(topic, [req]))[0].message_id


def test_sqs_envelope_has_aws_members_in_order(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        sub = await service.registry.subscribe(CTX, topic.arn, "sqs", QUEUE, {})
        attrs = {"attr1": TopicAttribute("Number", "99.12")}
        message_id = await publish(
            service, topic.arn, request("This is a test message", attributes=attrs)
        )
        await until(lambda: queues.sent)
        arn, text, attributes, _group = queues.sent[0]
        envelope = json.loads(text)
        expected = recorded("test_subscribe_sqs_queue", "messages")["Messages"][0]["Body"]
        assert list(envelope) == list(expected)  # same members, same order
        assert envelope["MessageId"] == message_id and envelope["TopicArn"] == topic.arn
        assert envelope["MessageAttributes"] == expected["MessageAttributes"]
        assert envelope["UnsubscribeURL"].endswith(f"SubscriptionArn={sub.arn}")
        assert text.startswith('{\n  "Type" : "Notification",')  # AWS's layout
        assert (arn, attributes) == (QUEUE, None)

    run(body, tmp_path)


def test_raw_delivery_sends_the_message_with_sqs_attributes(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        await service.registry.subscribe(
            CTX, topic.arn, "sqs", QUEUE, {"RawMessageDelivery": "true"}
        )
        attrs = {
            "an-attribute-key": TopicAttribute("String", "an-attribute-value"),
            "binary-attribute": TopicAttribute("Binary", "AgME"),
        }
        await publish(service, topic.arn, request("text", attributes=attrs))
        await until(lambda: queues.sent)
        _arn, text, attributes, _group = queues.sent[0]
        assert text == "text"
        assert attributes == {
            "an-attribute-key": MessageAttribute("String", string_value="an-attribute-value"),
            "binary-attribute": MessageAttribute("Binary", binary_value=b"\x02\x03\x04"),
        }

    run(body, tmp_path)


def test_lambda_event_matches_the_recorded_notification(tmp_path: Path) -> None:
    async def body(service: SnsService, _: FakeQueues, functions: FakeFunctions, __: Path) -> None:
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        sub = await service.registry.subscribe(CTX, topic.arn, "lambda", FUNCTION, {})
        await publish(service, topic.arn, request("Hello world.", subject="[Subject] Test subject"))
        await until(lambda: functions.invoked)
        arn, event = functions.invoked[0]
        record = event["Records"][0]
        assert arn == FUNCTION
        assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
        assert record["EventSubscriptionArn"] == sub.arn
        expected = recorded("test_python_lambda_subscribe_sns_topic", "notification")
        assert sorted(record["Sns"]) == sorted(expected)
        assert record["Sns"]["Subject"] == expected["Subject"]
        assert record["Sns"]["MessageAttributes"] == {}

    run(body, tmp_path)


def test_filter_policies_decide_delivery(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        policy = json.dumps({"attr1": [{"numeric": [">", 0, "<=", 100]}]})
        await service.registry.subscribe(CTX, topic.arn, "sqs", QUEUE, {"FilterPolicy": policy})
        body_policy = json.dumps({"order": {"kind": ["big"]}})
        await service.registry.subscribe(
            CTX,
            topic.arn,
            "sqs",
            DLQ,
            {"FilterPolicy": body_policy, "FilterPolicyScope": "MessageBody"},
        )
        await publish(
            service, topic.arn, request("a", attributes={"attr1": TopicAttribute("Number", "101")})
        )
        await publish(
            service,
            topic.arn,
            request("b", attributes={"attr1": TopicAttribute("Number", "99.12")}),
        )
        await publish(service, topic.arn, request(json.dumps({"order": {"kind": "small"}})))
        await publish(service, topic.arn, request(json.dumps({"order": {"kind": "big"}})))
        await until(lambda: len(queues.sent) >= 2)
        await asyncio.sleep(0.05)
        delivered = sorted((arn, json.loads(text)["Message"]) for arn, text, _, _ in queues.sent)
        assert delivered == [(DLQ, '{"order": {"kind": "big"}}'), (QUEUE, "b")]

    run(body, tmp_path)


def test_transient_failures_are_retried_then_permanent_ones_dead_lettered(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        await service.registry.subscribe(CTX, topic.arn, "sqs", QUEUE, {})
        queues.failures[QUEUE] = [RuntimeError("down"), RuntimeError("down")]
        await publish(service, topic.arn, request("retried"))
        await until(lambda: queues.sent)
        assert json.loads(queues.sent[0][1])["Message"] == "retried"
        gone = "arn:aws:sqs:us-east-1:111111111111:gone"
        redrive = json.dumps({"deadLetterTargetArn": DLQ})
        await service.registry.subscribe(CTX, topic.arn, "sqs", gone, {"RedrivePolicy": redrive})
        queues.failures[gone] = [QueueNotFound(gone)]
        queues.sent.clear()
        await publish(service, topic.arn, request("dead"))
        await until(lambda: len(queues.sent) >= 2)
        assert sorted(arn for arn, *_ in queues.sent) == [DLQ, QUEUE]
        await until(lambda: service.deliverer.pending() == 0)

    run(body, tmp_path)


def test_fifo_deduplication_keeps_one_message(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        topic = await service.registry.create_topic(
            CTX, "t.fifo", {"FifoTopic": "true", "ContentBasedDeduplication": "true"}, {}
        )
        await service.registry.subscribe(CTX, topic.arn, "sqs", QUEUE + ".fifo", {})
        first = await publish(service, topic.arn, request("same", group="g"))
        second = await publish(service, topic.arn, request("same", group="g"))
        assert first == second
        await until(lambda: queues.sent)
        await asyncio.sleep(0.05)
        assert len(queues.sent) == 1 and queues.sent[0][3] == "g"
        envelope = json.loads(queues.sent[0][1])
        assert list(envelope)[:3] == ["Type", "MessageId", "SequenceNumber"]

    run(body, tmp_path)


def test_a_restart_delivers_what_was_accepted(tmp_path: Path) -> None:
    async def accept(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        queues.gate = asyncio.Event()  # never opened: nothing is delivered before the stop
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        await service.registry.subscribe(CTX, topic.arn, "sqs", QUEUE, {})
        for n in range(5):
            await publish(service, topic.arn, request(f"m{n}"))

    run(accept, tmp_path)

    async def resume(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        await until(lambda: len(queues.sent) == 5)
        assert sorted(json.loads(text)["Message"] for _, text, _, _ in queues.sent) == [
            f"m{n}" for n in range(5)
        ]
        await until(lambda: service.deliverer.pending() == 0)

    run(resume, tmp_path)

    async def nothing_left(
        service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path
    ) -> None:
        await asyncio.sleep(0.1)
        assert queues.sent == [] and service.deliverer.pending() == 0
        assert len(service.registry.list_topics(CTX, None)[0]) == 1

    run(nothing_left, tmp_path)


def test_deleting_a_topic_takes_its_pending_deliveries(tmp_path: Path) -> None:
    async def accept(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        queues.gate = asyncio.Event()
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        await service.registry.subscribe(CTX, topic.arn, "sqs", QUEUE, {})
        await publish(service, topic.arn, request("m"))
        await service.registry.delete_topic(topic.arn)

    run(accept, tmp_path)
    store = SqliteSnsStore(tmp_path / "sns.sqlite3", "kill")
    try:
        pending = store.load_pending(0)
        assert (pending.deliveries, pending.messages) == ([], [])
    finally:
        store.close()


def test_managed_retry_schedule_is_awss() -> None:
    delays = [managed_delay(n) for n in range(1, 17)]
    assert delays[:5] == [0, 0, 0, 1, 1]
    assert delays[5] == 1 and delays[14] == pytest.approx(20) and delays[15] == 20
    assert managed_delay(MANAGED_ATTEMPTS - 1) == 20 and managed_delay(MANAGED_ATTEMPTS) is None


def test_http_retry_policy_follows_the_delivery_policy() -> None:
    default = http_policy(None, None)
    assert [default.delay(n) for n in range(1, 5)] == [20, 20, 20, None]
    custom = http_policy(
        json.dumps(
            {
                "healthyRetryPolicy": {
                    "minDelayTarget": 1,
                    "maxDelayTarget": 9,
                    "numRetries": 6,
                    "numNoDelayRetries": 1,
                    "numMaxDelayRetries": 1,
                    "backoffFunction": "linear",
                }
            }
        ),
        None,
    )
    # 1 at once, a backoff phase of 4 from 1 s to 9 s (linear), 1 at the maximum, then none.
    delays = [custom.delay(n) for n in range(1, 8)]
    assert delays[:6] == pytest.approx([0, 1, 1 + 8 / 3, 1 + 16 / 3, 9, 9])
    assert delays[6] is None


def test_an_http_redirect_is_a_client_error_dead_lettered_at_once(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        posts: list[bytes] = []

        async def endpoint(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            posts.append(head)
            redirect = b"x-amz-sns-message-type: Notification" in head
            writer.write(
                b"HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/\r\n"
                b"Content-Length: 0\r\n\r\n"
                if redirect
                else b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            )
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(endpoint, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            topic = await service.registry.create_topic(CTX, "t", {}, {})
            redrive = json.dumps({"deadLetterTargetArn": DLQ})
            sub = await service.registry.subscribe(
                CTX, topic.arn, "http", f"http://127.0.0.1:{port}/", {"RedrivePolicy": redrive}
            )
            await until(lambda: posts)  # the SubscriptionConfirmation
            await service.registry.confirm(CTX, topic.arn, sub.token)
            await publish(service, topic.arn, request("moved"))
            await until(lambda: queues.sent)
        assert [arn for arn, *_ in queues.sent] == [DLQ]
        assert json.loads(queues.sent[0][1])["Message"] == "moved"
        assert len(posts) == 2  # the confirmation and one notification: no retry, no redirect

    run(body, tmp_path)


def test_topic_sink_publishes_like_publish(tmp_path: Path) -> None:
    async def body(service: SnsService, queues: FakeQueues, _: FakeFunctions, __: Path) -> None:
        sink = SnsTopicSink(service.registry, service.publisher)
        topic = await service.registry.create_topic(CTX, "t", {}, {})
        await service.registry.subscribe(
            CTX, topic.arn, "sqs", QUEUE, {"RawMessageDelivery": "true"}
        )
        message_id = await sink.publish(topic.arn, "from a rule", subject="s")
        await until(lambda: queues.sent)
        assert queues.sent[0][1] == "from a rule" and len(message_id) == 36
        with pytest.raises(TopicNotFound):
            await sink.publish(topic.arn + "-missing", "m")
        with pytest.raises(TopicNotFound):
            await sink.publish("not-an-arn", "m")
        with pytest.raises(TopicRejected):
            await sink.publish(topic.arn, "")

    run(body, tmp_path)
