"""Message move tasks (redrive from a dead-letter queue) and the QueueSource/QueueSink adapter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqs_recorded import assert_recorded_error, recorded_sqs
from test_sqs_message_engine import CTX, Harness

from lamina.domain.sqs.queue import QueueCounts
from lamina.services.queue_ports import MessageAttribute, QueueNotFound, QueueSink, QueueSource
from lamina.services.sqs.ports_adapter import SqsQueuePorts


@pytest.fixture
def sqs(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "sqs.sqlite3")
    yield harness
    harness.close()


def _recorded_move(test: str, key: str) -> Any:
    return recorded_sqs(test, key, file="test_sqs_move_task")


def _dead_letters(sqs: Harness, count: int, sources: int = 1) -> tuple[str, list[str]]:
    """A dead-letter queue holding ``count`` messages from each of ``sources`` queues."""
    dlq_url = sqs.queue("dlq")
    dlq_arn = sqs.service.queues.by_url(CTX, dlq_url).arn
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source_urls = []
    for number in range(sources):
        url = sqs.queue(f"source-{number}", RedrivePolicy=policy, VisibilityTimeout="1")
        for i in range(count):
            sqs.call("SendMessage", QueueUrl=url, MessageBody=f"s{number}-m{i}")
        sqs.receive(url, MaxNumberOfMessages=10)
        sqs.clock.advance(1)
        assert sqs.receive(url, MaxNumberOfMessages=10) == []  # all moved to the DLQ
        source_urls.append(url)
    assert sqs.counts(dlq_url) == QueueCounts(visible=count * sources)
    return dlq_url, source_urls


def _settle(sqs: Harness, seconds: float = 0.2) -> None:
    sqs.loop.run_until_complete(asyncio.sleep(seconds))


def test_move_back_to_each_source_by_default(sqs: Harness) -> None:
    dlq_url, sources = _dead_letters(sqs, 2, sources=2)
    dlq_arn = sqs.service.queues.by_url(CTX, dlq_url).arn
    started = sqs.call("StartMessageMoveTask", SourceArn=dlq_arn)
    assert set(started) == {"TaskHandle"}
    _settle(sqs)
    [entry] = sqs.call("ListMessageMoveTasks", SourceArn=dlq_arn)["Results"]
    recorded = _recorded_move(
        "test_move_task_workflow_with_multiple_sources_as_default_destination",
        "list-message-move-task-response",
    )["Results"][0]
    assert set(entry) == set(recorded)
    assert entry["Status"] == "COMPLETED"
    assert entry["ApproximateNumberOfMessagesMoved"] == 4
    assert sqs.counts(dlq_url) == QueueCounts()
    for url in sources:
        received = sqs.receive(url, MaxNumberOfMessages=10, AttributeNames=["All"])
        assert len(received) == 2
        assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in received)
        assert all("DeadLetterQueueSourceArn" not in m["Attributes"] for m in received)


def test_move_to_destination_with_rate_and_cancel(sqs: Harness) -> None:
    dlq_url, _ = _dead_letters(sqs, 5)
    dlq_arn = sqs.service.queues.by_url(CTX, dlq_url).arn
    target_url = sqs.queue("target")
    target_arn = sqs.service.queues.by_url(CTX, target_url).arn
    handle = sqs.call(
        "StartMessageMoveTask",
        SourceArn=dlq_arn,
        DestinationArn=target_arn,
        MaxNumberOfMessagesPerSecond=1,
    )["TaskHandle"]
    assert_recorded_error(
        sqs.error("StartMessageMoveTask", SourceArn=dlq_arn),
        _recorded_move("test_start_multiple_move_tasks", "error"),
    )
    _settle(sqs, 0.1)
    [running] = sqs.call("ListMessageMoveTasks", SourceArn=dlq_arn)["Results"]
    recorded = _recorded_move("test_move_task_cancel", "list-while")["Results"][0]
    assert set(running) == set(recorded)
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    cancelled = sqs.call("CancelMessageMoveTask", TaskHandle=handle)
    assert cancelled["ApproximateNumberOfMessagesMoved"] == 1
    [after] = sqs.call("ListMessageMoveTasks", SourceArn=dlq_arn)["Results"]
    assert after["Status"] == "CANCELLED" and "TaskHandle" not in after
    assert sqs.counts(target_url) == QueueCounts(visible=1)


def test_move_task_errors_are_recorded_ones(sqs: Harness) -> None:
    plain_url = sqs.queue("plain")
    plain_arn = sqs.service.queues.by_url(CTX, plain_url).arn
    assert_recorded_error(
        sqs.error("StartMessageMoveTask", SourceArn=plain_arn),
        _recorded_move("test_source_needs_redrive_policy", "error"),
    )
    dlq_url, _ = _dead_letters(sqs, 1)
    dlq_arn = sqs.service.queues.by_url(CTX, dlq_url).arn
    assert_recorded_error(
        sqs.error("StartMessageMoveTask", SourceArn=dlq_arn, DestinationArn=plain_arn + "-gone"),
        _recorded_move("test_destination_needs_to_exist", "error"),
    )
    assert_recorded_error(
        sqs.error("CancelMessageMoveTask", TaskHandle="not-a-handle"),
        _recorded_move("test_cancel_with_invalid_task_handle", "error"),
    )
    import base64

    def handle(task_id: str, arn: str) -> str:
        raw = json.dumps({"taskId": task_id, "sourceArn": arn})
        return base64.b64encode(raw.encode()).decode()

    assert_recorded_error(
        sqs.error("CancelMessageMoveTask", TaskHandle=handle("x", plain_arn + "-gone")),
        _recorded_move("test_cancel_with_invalid_source_arn_in_task_handle", "error"),
    )
    assert_recorded_error(
        sqs.error("CancelMessageMoveTask", TaskHandle=handle("unknown", dlq_arn)),
        _recorded_move("test_cancel_with_invalid_task_id_in_task_handle", "error"),
    )
    assert sqs.counts(dlq_url) == QueueCounts(visible=1)  # nothing moved


# --- QueueSource / QueueSink -------------------------------------------------------------------


def test_ports_receive_beyond_ten_send_and_describe(sqs: Harness) -> None:
    ports = SqsQueuePorts(sqs.engine)
    source: QueueSource = ports
    sink: QueueSink = ports
    url = sqs.queue("ports", VisibilityTimeout="45")
    arn = sqs.service.queues.by_url(CTX, url).arn
    info = source.describe(arn)
    assert (info.url, info.fifo, info.visibility_timeout) == (url, False, 45)

    async def scenario() -> None:
        for i in range(25):
            await sink.send(arn, f"m{i}", {"k": MessageAttribute("String", string_value="v")})
        received = await source.receive(arn, 100, 0)
        assert len(received) == 25
        first = received[0]
        assert first.attributes["ApproximateReceiveCount"] == "1"
        assert first.message_attributes["k"].string_value == "v"
        assert first.md5_of_message_attributes is not None
        await source.change_visibility(arn, [first.receipt_handle], 0)
        await source.delete(arn, [m.receipt_handle for m in received[1:]] + ["stale-or-bogus"])
        [again] = await source.receive(arn, 10, 0)
        assert again.message_id == first.message_id
        waited = asyncio.ensure_future(source.receive(arn, 10, 5))
        await asyncio.sleep(0.05)
        await sink.send(arn, "late")
        assert [m.body for m in await asyncio.wait_for(waited, 1)] == ["late"]

    sqs.loop.run_until_complete(scenario())
    with pytest.raises(QueueNotFound):
        source.describe(arn + "-missing")
    with pytest.raises(QueueNotFound):
        sqs.loop.run_until_complete(sink.send(arn + "-missing", "x"))


def test_ports_standard_queues_ignore_fifo_ids(sqs: Harness) -> None:
    """A producer (a destination) may pass a group and a deduplication id whatever the
    queue's type: a standard queue stores the message without them."""
    ports = SqsQueuePorts(sqs.engine)
    url = sqs.queue("ports-standard")
    arn = sqs.service.queues.by_url(CTX, url).arn

    async def scenario() -> list[str]:
        await ports.send(arn, "one", message_group_id="g", deduplication_id="d")
        await ports.send(arn, "two", message_group_id="g", deduplication_id="d")
        received = await ports.receive(arn, 10, 0)
        assert all("MessageGroupId" not in m.attributes for m in received)
        return sorted(m.body for m in received)

    assert sqs.loop.run_until_complete(scenario()) == ["one", "two"]


def test_ports_fifo_send_needs_group(sqs: Harness) -> None:
    ports = SqsQueuePorts(sqs.engine)
    url = sqs.queue("ports.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    arn = sqs.service.queues.by_url(CTX, url).arn

    async def scenario() -> str:
        return await ports.send(arn, "x", message_group_id="g")

    assert sqs.loop.run_until_complete(scenario())
    assert sqs.counts(url) == QueueCounts(visible=1)
