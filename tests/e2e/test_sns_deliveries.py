"""SNS deliveries end to end: a real server, real functions, real queues and a real HTTP
endpoint, driven with boto3. What each subscriber receives is compared with AWS's
recordings (tests/fixtures/aws-recorded/sns)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, LaminaServer, create_python_function, unique

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sns"

RECORDER = (
    "import json\n"
    "def handler(event, context):\n"
    "    print('SNSEVENT ' + json.dumps(event))\n"
    "    return {}\n"
)

PUBLISHER = (
    "import boto3\n"
    "def handler(event, context):\n"
    "    sns = boto3.client('sns')\n"
    "    return sns.publish(TopicArn=event['topic'], Message=event['message'])['MessageId']\n"
)


@cache
def recorded(test: str, key: str) -> Any:
    data = json.loads((RECORDED / "test_sns.snapshot.json").read_text())
    [entry] = [v for k, v in data.items() if k.endswith("::" + test)]
    return entry["recorded-content"][key]


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def sns(server: LaminaServer) -> Any:
    return server.client("sns")


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


def make_queue(sqs: Any, name: str | None = None, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name or unique("q"), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def receive(sqs: Any, url: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def sns_events(server: LaminaServer, name: str) -> list[dict[str, Any]]:
    try:
        events = server.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")[
            "events"
        ]
    except ClientError:
        return []
    return [
        json.loads(e["message"][len("SNSEVENT ") :])
        for e in events
        if e["message"].startswith("SNSEVENT ")
    ]


def test_lambda_subscriber_gets_awss_sns_event(server: LaminaServer, sns: Any) -> None:
    lam = server.client()
    name = create_python_function(lam, RECORDER)
    function_arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    topic = sns.create_topic(Name=unique("fn"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    message_id = sns.publish(
        TopicArn=topic,
        Message="Hello world.",
        Subject="[Subject] Test subject",
        MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}},
    )["MessageId"]
    [event] = eventually(lambda: sns_events(server, name))
    [record] = event["Records"]
    assert (record["EventSource"], record["EventVersion"], record["EventSubscriptionArn"]) == (
        "aws:sns",
        "1.0",
        sub,
    )
    notification = record["Sns"]
    expected = recorded("test_python_lambda_subscribe_sns_topic", "notification")
    assert sorted(notification) == sorted(expected)
    assert notification["Type"] == "Notification" and notification["MessageId"] == message_id
    assert (notification["Subject"], notification["Message"]) == (
        expected["Subject"],
        expected["Message"],
    )
    assert notification["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"}}
    assert notification["SignatureVersion"] == "1" and notification["Timestamp"].endswith("Z")
    assert notification["UnsubscribeUrl"].endswith(f"Action=Unsubscribe&SubscriptionArn={sub}")
    # Without a subject, Subject is null (as AWS sends it to functions).
    sns.publish(TopicArn=topic, Message="second")
    events = eventually(
        lambda: [
            e for e in sns_events(server, name) if e["Records"][0]["Sns"]["Message"] == "second"
        ]
    )
    assert events[0]["Records"][0]["Sns"]["Subject"] is None


def test_sqs_subscribers_get_the_envelope_or_the_raw_message(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=unique("q"))["TopicArn"]
    enveloped_url, enveloped_arn = make_queue(sqs)
    raw_url, raw_arn = make_queue(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=enveloped_arn)["SubscriptionArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"}
    )
    attributes = {
        "an-attribute-key": {"DataType": "String", "StringValue": "an-attribute-value"},
        "binary-attribute": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
    }
    message_id = sns.publish(TopicArn=topic, Message="text", MessageAttributes=attributes)[
        "MessageId"
    ]
    [enveloped] = receive(sqs, enveloped_url)
    body = json.loads(enveloped["Body"])
    expected = recorded("test_message_attributes_not_missing", "json-delivery-msg-attrs")[
        "Messages"
    ][0]["Body"]
    assert list(body) == list(expected)
    assert body["MessageAttributes"] == expected["MessageAttributes"]
    assert (body["MessageId"], body["TopicArn"], body["Message"]) == (message_id, topic, "text")
    assert body["UnsubscribeURL"].endswith(f"SubscriptionArn={sub}")
    [raw] = receive(sqs, raw_url)
    expected_raw = recorded("test_message_attributes_not_missing", "raw-delivery-msg-attrs")[
        "Messages"
    ][0]
    assert raw["Body"] == expected_raw["Body"]
    assert raw["MessageAttributes"] == {
        "an-attribute-key": {"DataType": "String", "StringValue": "an-attribute-value"},
        "binary-attribute": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
    }


def test_message_structure_json_picks_the_protocols_message(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=unique("json"))["TopicArn"]
    url, arn = make_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "default field", "sqs": '{"field": "value"}'}),
    )
    sns.publish(
        TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "default field"})
    )
    messages = [json.loads(m["Body"])["Message"] for m in receive(sqs, url, 2)]
    assert sorted(messages) == sorted(
        [
            recorded("test_message_structure_json_to_sqs", "get-msg-json-sqs")["Messages"][0][
                "Body"
            ]["Message"],
            recorded("test_message_structure_json_to_sqs", "get-msg-json-default")["Messages"][0][
                "Body"
            ]["Message"],
        ]
    )


def test_filter_policies_decide_delivery(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=unique("filter"))["TopicArn"]
    attr_url, attr_arn = make_queue(sqs)
    body_url, body_arn = make_queue(sqs)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=attr_arn,
        Attributes={
            "FilterPolicy": json.dumps({"attr1": [{"numeric": [">", 0, "<=", 100]}]}),
            "RawMessageDelivery": "true",
        },
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=body_arn,
        Attributes={
            "FilterPolicy": json.dumps({"detail": {"kind": [{"prefix": "big"}]}}),
            "FilterPolicyScope": "MessageBody",
            "RawMessageDelivery": "true",
        },
    )

    def number(value: str) -> dict[str, Any]:
        return {"attr1": {"DataType": "Number", "StringValue": value}}

    sns.publish(TopicArn=topic, Message="too big", MessageAttributes=number("101"))
    sns.publish(TopicArn=topic, Message="just right", MessageAttributes=number("99.12"))
    sns.publish(TopicArn=topic, Message="no attribute")
    sns.publish(TopicArn=topic, Message=json.dumps({"detail": {"kind": "small"}}))
    sns.publish(TopicArn=topic, Message=json.dumps({"detail": {"kind": "bigger"}}))
    assert [m["Body"] for m in receive(sqs, attr_url, 1)] == ["just right"]
    assert [json.loads(m["Body"]) for m in receive(sqs, body_url, 1)] == [
        {"detail": {"kind": "bigger"}}
    ]
    # Nothing else arrives.
    assert (
        receive(sqs, attr_url, 1, timeout=1.5) == []
        and receive(sqs, body_url, 1, timeout=0.5) == []
    )


def test_fifo_topic_to_fifo_queue(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(
        Name=unique("f") + ".fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"},
    )["TopicArn"]
    url, arn = make_queue(
        sqs, unique("fq") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true"
    )
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    first = sns.publish(TopicArn=topic, Message="one", MessageGroupId="g1")
    again = sns.publish(TopicArn=topic, Message="one", MessageGroupId="g1")
    sns.publish(TopicArn=topic, Message="two", MessageGroupId="g1")
    assert first["MessageId"] == again["MessageId"] and first["SequenceNumber"].isdigit()
    messages = receive(sqs, url, 2)
    assert [m["Body"] for m in messages] == ["one", "two"]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"g1"}
    assert receive(sqs, url, 1, timeout=1.5) == []


def test_dead_letter_queue_takes_undeliverable_messages(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=unique("dlq"))["TopicArn"]
    dlq_url, dlq_arn = make_queue(sqs)
    gone = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{unique('never-created')}"
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=gone,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})},
    )
    message_id = sns.publish(TopicArn=topic, Message="lost")["MessageId"]
    [dead] = receive(sqs, dlq_url)
    assert json.loads(dead["Body"])["MessageId"] == message_id


class Endpoint:
    """A tiny HTTP endpoint that records what SNS posts to it."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.requests.append((dict(self.headers), body))
                status = received.statuses.pop(0) if received.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sns"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def of_type(self, kind: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return [
            (h, json.loads(b)) for h, b in self.requests if h.get("x-amz-sns-message-type") == kind
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    found = Endpoint()
    yield found
    found.close()


def test_http_subscription_handshake_then_notifications(sns: Any, endpoint: Endpoint) -> None:
    topic = sns.create_topic(Name=unique("http"))["TopicArn"]
    assert (
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)["SubscriptionArn"]
        == "pending confirmation"
    )
    [(headers, confirmation)] = eventually(lambda: endpoint.of_type("SubscriptionConfirmation"))
    expected = recorded("test_subscribe_external_http_endpoint[False]", "subscription-confirmation")
    assert sorted(confirmation) == sorted(expected)
    assert confirmation["TopicArn"] == topic and confirmation["Message"].startswith(
        f"You have chosen to subscribe to the topic {topic}."
    )
    assert (
        f"Action=ConfirmSubscription&TopicArn={topic}&Token={confirmation['Token']}"
        in confirmation["SubscribeURL"]
    )
    assert (
        headers["x-amz-sns-topic-arn"] == topic
        and headers["x-amz-sns-message-id"] == confirmation["MessageId"]
    )
    assert headers["User-Agent"] == "Amazon Simple Notification Service Agent"
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    # Subscribing again while pending sends the confirmation again (same token).
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    again = eventually(lambda: endpoint.of_type("SubscriptionConfirmation")[1:])
    assert again[0][1]["Token"] == confirmation["Token"]
    # Pending subscriptions get nothing.
    sns.publish(TopicArn=topic, Message="before")
    time.sleep(0.5)
    assert endpoint.of_type("Notification") == []
    bad = sns.confirm_subscription
    with pytest.raises(ClientError) as raised:
        bad(TopicArn=topic, Token="0" * 64)
    assert raised.value.response["Error"]["Message"] == "Invalid parameter: Token"
    with pytest.raises(ClientError) as raised:
        bad(TopicArn="not-an-arn", Token=confirmation["Token"])
    assert (
        raised.value.response["Error"]["Message"]
        == recorded("test_subscribe_external_http_endpoint[False]", "broken-topic-arn-confirm")[
            "ErrorResponse"
        ]["Error"]["Message"]
    )
    sub = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    endpoint.statuses = [500]  # the first notification fails and is retried
    sns.set_subscription_attributes(
        SubscriptionArn=sub,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(
            {"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 2}}
        ),
    )
    message_id = sns.publish(TopicArn=topic, Message="test_external_http_endpoint")["MessageId"]
    notifications = eventually(lambda: endpoint.of_type("Notification")[1:])
    headers, body = notifications[0]
    expected_body = recorded("test_subscribe_external_http_endpoint[False]", "http-message")
    assert sorted(body) == sorted(expected_body) and body["MessageId"] == message_id
    assert body["Message"] == expected_body["Message"]
    assert (
        headers["x-amz-sns-subscription-arn"] == sub
        and headers["x-amz-sns-message-id"] == message_id
    )
    assert len(endpoint.of_type("Notification")) == 2  # one failure, one retry


def test_subscribe_and_unsubscribe_urls_work_unsigned(sns: Any, endpoint: Endpoint) -> None:
    """An endpoint confirms by fetching the SubscribeURL, as SNS handlers commonly do."""
    topic = sns.create_topic(Name=unique("links"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    [(_, confirmation)] = eventually(lambda: endpoint.of_type("SubscriptionConfirmation"))
    with urllib.request.urlopen(confirmation["SubscribeURL"]) as answer:
        xml = answer.read().decode()
    [sub] = re.findall(r"<SubscriptionArn>([^<]+)</SubscriptionArn>", xml)
    assert (
        sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"]
        == "false"
    )
    sns.publish(TopicArn=topic, Message="linked")
    [(_, notification)] = eventually(lambda: endpoint.of_type("Notification"))
    with urllib.request.urlopen(notification["UnsubscribeURL"]) as answer:
        assert answer.status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    forged = confirmation["SubscribeURL"].replace(confirmation["Token"], "0" * 128)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged)
    assert refused.value.code == 400 and b"Invalid parameter: Token" in refused.value.read()


def test_raw_http_delivery(sns: Any, endpoint: Endpoint) -> None:
    topic = sns.create_topic(Name=unique("rawhttp"))["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=endpoint.url,
        Attributes={"RawMessageDelivery": "true"},
    )
    [(_, confirmation)] = eventually(lambda: endpoint.of_type("SubscriptionConfirmation"))
    sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    sns.publish(TopicArn=topic, Message="just the message")
    headers, body = eventually(
        lambda: [
            (h, b)
            for h, b in endpoint.requests
            if h.get("x-amz-sns-message-type") == "Notification"
        ]
    )[0]
    assert body == b"just the message" and headers["x-amz-sns-rawdelivery"] == "true"


def test_publish_from_inside_a_function(server: LaminaServer, sns: Any, sqs: Any) -> None:
    lam = server.client()
    name = create_python_function(lam, PUBLISHER, Timeout=30)
    topic = sns.create_topic(Name=unique("inside"))["TopicArn"]
    url, arn = make_queue(sqs)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    answer = lam.invoke(
        FunctionName=name, Payload=json.dumps({"topic": topic, "message": "from a function"})
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    message_id = json.loads(answer["Payload"].read())
    [received] = receive(sqs, url)
    assert received["Body"] == "from a function" and len(message_id) == 36
