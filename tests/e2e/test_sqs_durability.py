"""What SQS acknowledged survives a SIGKILL of the server.

Three cycles on one data directory: clients send (SendMessage and SendMessageBatch, in
parallel) while a consumer receives and deletes, until the server is killed with SIGKILL
mid-load; every message id a sender got an answer for, and every one a DeleteMessageBatch
confirmed, is recorded. After the last cycle a fresh server on the same data directory must
deliver every acknowledged message that was not deleted, and none that was.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from support import REGION, LaminaServer

CYCLES = 3
SENDERS = 3
LOAD_SECONDS = 1.5
# Short, so messages a killed consumer held in flight come back for the final drain.
CONSUMER_VISIBILITY = 1


@dataclass
class Ledger:
    sent: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    # Deletes cut by the kill: committed or not, the client cannot know.
    in_doubt: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(server: LaminaServer) -> Any:
    # One attempt, short timeouts: a request cut by the kill fails instead of retrying.
    return boto3.client(
        "sqs",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def _sender(
    server: LaminaServer, url: str, number: int, ledger: Ledger, stop: threading.Event
) -> None:
    client = _client(server)
    sent = 0
    while not stop.is_set():
        try:
            if number % 2:
                entries = [{"Id": str(i), "MessageBody": f"{number}-{sent}-{i}"} for i in range(10)]
                result = client.send_message_batch(QueueUrl=url, Entries=entries)
                ids = [entry["MessageId"] for entry in result.get("Successful", [])]
            else:
                ids = [
                    client.send_message(QueueUrl=url, MessageBody=f"{number}-{sent}")["MessageId"]
                ]
        except Exception:  # noqa: BLE001 - the server died under this request
            return
        with ledger.lock:
            ledger.sent.update(ids)
        sent += 1


def _consumer(server: LaminaServer, url: str, ledger: Ledger, stop: threading.Event) -> None:
    client = _client(server)
    while not stop.is_set():
        try:
            messages = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=CONSUMER_VISIBILITY
            ).get("Messages", [])
            if not messages:
                continue
        except Exception:  # noqa: BLE001 - the server died under this request
            return
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        try:
            result = client.delete_message_batch(QueueUrl=url, Entries=entries)
        except Exception:  # noqa: BLE001 - the server died under this request
            with ledger.lock:
                ledger.in_doubt.update(m["MessageId"] for m in messages)
            return
        done = {int(entry["Id"]) for entry in result.get("Successful", [])}
        with ledger.lock:
            ledger.deleted.update(m["MessageId"] for i, m in enumerate(messages) if i in done)


def _load_until_killed(server: LaminaServer, queue_name: str, ledger: Ledger) -> None:
    url = _client(server).get_queue_url(QueueName=queue_name)["QueueUrl"]
    stop = threading.Event()
    threads = [
        threading.Thread(target=_sender, args=(server, url, n, ledger, stop))
        for n in range(SENDERS)
    ]
    threads.append(threading.Thread(target=_consumer, args=(server, url, ledger, stop)))
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    stop.set()
    for thread in threads:
        thread.join(15)


def _drain(server: LaminaServer, queue_name: str) -> set[str]:
    client = _client(server)
    url = client.get_queue_url(QueueName=queue_name)["QueueUrl"]
    received: set[str] = set()
    while True:
        # Waits out the consumer's visibility timeout of messages it held when killed.
        messages = client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=600,
            WaitTimeSeconds=CONSUMER_VISIBILITY + 1,
        ).get("Messages", [])
        if not messages:
            return received
        received.update(message["MessageId"] for message in messages)


def test_acknowledged_messages_and_deletes_survive_sigkill(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    queue_name = f"durable-{uuid.uuid4().hex[:8]}"
    ledger = Ledger()
    for cycle in range(CYCLES):
        server = own_server(data=data)
        if cycle == 0:
            _client(server).create_queue(QueueName=queue_name)
        before = (len(ledger.sent), len(ledger.deleted))
        _load_until_killed(server, queue_name, ledger)
        assert len(ledger.sent) > before[0] + 50, "the senders did not run"
        assert len(ledger.deleted) > before[1], "the consumer did not run"
    received = _drain(own_server(data=data), queue_name)
    lost = ledger.sent - ledger.deleted - ledger.in_doubt - received
    resurrected = received & ledger.deleted
    print(
        f"{len(ledger.sent)} sends and {len(ledger.deleted)} deletes acknowledged over"
        f" {CYCLES} kills; {len(received)} messages left"
    )
    assert not lost, f"{len(lost)} acknowledged messages lost"
    assert not resurrected, f"{len(resurrected)} acknowledged deletes undone"
