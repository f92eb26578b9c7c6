"""SNS's durability end to end: a SIGKILL after Publish answered loses no delivery (the
fan-out is committed before the answer; a restart delivers what was pending), and a
delivery waiting for its retry survives the restart too."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support import LaminaServer, unique


def queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def drain(sqs: Any, url: str, wanted: set[str], timeout: float = 60.0) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while not wanted <= seen and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            seen.add(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def kill(server: LaminaServer) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()


def test_sigkill_under_load_loses_no_accepted_notification(tmp_path: Path) -> None:
    server = LaminaServer(tmp_path / "data")
    server.start()
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name=unique("durable"))["TopicArn"]
    queues = [queue(sqs) for _ in range(2)]
    for _, arn in queues:
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
        )
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def producer() -> None:
        client = server.client("sns")
        while not stop.is_set():
            message = unique("m")
            try:
                client.publish(TopicArn=topic, Message=message)
            except Exception:  # noqa: BLE001 - the server is gone
                return
            with lock:
                acked.append(message)

    threads = [threading.Thread(target=producer) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    kill(server)
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acked) > 20, len(acked)
    server.start()
    try:
        sqs = server.client("sqs")
        for url, _ in queues:
            missing = set(acked) - drain(sqs, url, set(acked))
            assert not missing, f"{len(missing)} of {len(acked)} accepted messages never arrived"
    finally:
        server.stop()


class FlakyEndpoint(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FlakyEndpoint.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def serve(port: int) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), FlakyEndpoint)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_a_retrying_http_delivery_survives_a_sigkill(tmp_path: Path) -> None:
    FlakyEndpoint.received = []
    httpd = serve(0)
    port = httpd.server_address[1]
    server = LaminaServer(tmp_path / "data")
    server.start()
    try:
        sns = server.client("sns")
        topic = sns.create_topic(Name=unique("retry"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 20
        while not FlakyEndpoint.received and time.monotonic() < deadline:
            time.sleep(0.05)
        token = FlakyEndpoint.received[0]["Token"]
        sub = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
        policy = {
            "healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 50}
        }
        sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy)
        )
        httpd.shutdown()
        httpd.server_close()  # the endpoint is down: the delivery waits for its retries
        message_id = sns.publish(TopicArn=topic, Message="kept")["MessageId"]
        time.sleep(1.5)
        kill(server)
        httpd = serve(port)
        server.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(r.get("MessageId") == message_id for r in FlakyEndpoint.received):
                break
            time.sleep(0.1)
        notifications = [r for r in FlakyEndpoint.received if r.get("Type") == "Notification"]
        assert [n["MessageId"] for n in notifications] == [message_id]
        assert notifications[0]["Message"] == "kept"
    finally:
        httpd.shutdown()
        httpd.server_close()
        if server.process is not None and server.process.poll() is None:
            server.stop()
