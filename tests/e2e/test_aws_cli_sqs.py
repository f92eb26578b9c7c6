"""The AWS CLI (v1, in the venv) drives the queue service and event source mappings against a
real server: with today's botocore (SQS's JSON protocol) and with the last query-protocol SQS
model older CLIs shipped (``AWS_DATA_PATH``), so both wire protocols serve the CLI."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support import AWS_CLI, LaminaServer, aws_cli, create_python_function, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data  # noqa: E402

pytestmark = pytest.mark.skipif(not AWS_CLI.exists(), reason="the AWS CLI is not installed")


@pytest.fixture(scope="module", params=["json", "query"])
def models(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Path | None:
    """None: the CLI's own (JSON) SQS model; else a data path with the query-protocol one."""
    if request.param == "json":
        return None
    assert pytestconfig.cache is not None
    return old_botocore_data(pytestconfig.cache.mkdir("old-botocore-sqs"))


def sqs(server: LaminaServer, models: Path | None, *args: str) -> Any:
    out = aws_cli(server, "sqs", *args, data_path=models).stdout
    return json.loads(out) if out.strip() else None


def test_cli_queue_lifecycle(server: LaminaServer, models: Path | None) -> None:
    name = unique("cli-q")
    dlq_url = sqs(server, models, "create-queue", "--queue-name", f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs(
        server,
        models,
        "get-queue-attributes",
        "--queue-url",
        dlq_url,
        "--attribute-names",
        "QueueArn",
    )["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs(
        server,
        models,
        "create-queue",
        "--queue-name",
        name,
        "--attributes",
        json.dumps({"VisibilityTimeout": "1", "RedrivePolicy": redrive}),
        "--tags",
        "team=core",
    )["QueueUrl"]
    assert url == f"{server.endpoint}/000000000000/{name}"
    assert sqs(server, models, "get-queue-url", "--queue-name", name)["QueueUrl"] == url
    listed = sqs(server, models, "list-queues", "--queue-name-prefix", name)["QueueUrls"]
    assert sorted(listed) == sorted([url, dlq_url])
    assert sqs(server, models, "list-queue-tags", "--queue-url", url)["Tags"] == {"team": "core"}
    sqs(server, models, "tag-queue", "--queue-url", url, "--tags", "stage=test")
    sqs(server, models, "untag-queue", "--queue-url", url, "--tag-keys", "team")
    assert sqs(server, models, "list-queue-tags", "--queue-url", url)["Tags"] == {"stage": "test"}

    sent = sqs(
        server,
        models,
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        "hello",
        "--message-attributes",
        json.dumps({"kind": {"DataType": "String", "StringValue": "a"}}),
    )
    assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    batch = sqs(
        server,
        models,
        "send-message-batch",
        "--queue-url",
        url,
        "--entries",
        json.dumps([{"Id": "one", "MessageBody": "b1"}, {"Id": "two", "MessageBody": "b2"}]),
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["one", "two"]
    received = sqs(
        server,
        models,
        "receive-message",
        "--queue-url",
        url,
        "--max-number-of-messages",
        "10",
        "--wait-time-seconds",
        "1",
        "--message-attribute-names",
        "All",
        "--attribute-names",
        "All",
    )["Messages"]
    bodies = {m["Body"]: m for m in received}
    assert sorted(bodies) == ["b1", "b2", "hello"]
    for message in received:
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert bodies["hello"]["MessageAttributes"] == {
        "kind": {"StringValue": "a", "DataType": "String"}
    }
    first = bodies["hello"]
    sqs(
        server,
        models,
        "change-message-visibility",
        "--queue-url",
        url,
        "--receipt-handle",
        first["ReceiptHandle"],
        "--visibility-timeout",
        "30",
    )
    sqs(
        server,
        models,
        "delete-message",
        "--queue-url",
        url,
        "--receipt-handle",
        first["ReceiptHandle"],
    )
    # The others become visible again after 1 s, exceed maxReceiveCount on their second
    # receive and move to the dead-letter queue.
    deadline = time.time() + 20
    moved: list[Any] = []
    while time.time() < deadline and len(moved) < 2:
        sqs(server, models, "receive-message", "--queue-url", url, "--wait-time-seconds", "1")
        got = sqs(
            server,
            models,
            "receive-message",
            "--queue-url",
            dlq_url,
            "--max-number-of-messages",
            "10",
            "--wait-time-seconds",
            "1",
        )
        moved += (got or {}).get("Messages", [])
    assert len(moved) == 2
    sources = sqs(server, models, "list-dead-letter-source-queues", "--queue-url", dlq_url)
    assert sources["queueUrls"] == [url]
    attributes = sqs(
        server, models, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "1"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 1,
    }
    sqs(
        server,
        models,
        "set-queue-attributes",
        "--queue-url",
        url,
        "--attributes",
        json.dumps({"DelaySeconds": "5"}),
    )
    assert sqs(
        server,
        models,
        "get-queue-attributes",
        "--queue-url",
        url,
        "--attribute-names",
        "DelaySeconds",
    )["Attributes"] == {"DelaySeconds": "5"}
    sqs(server, models, "purge-queue", "--queue-url", dlq_url)
    sqs(server, models, "delete-queue", "--queue-url", url)
    sqs(server, models, "delete-queue", "--queue-url", dlq_url)
    assert sqs(server, models, "list-queues", "--queue-name-prefix", name) in (None, {})


def test_cli_fifo_queue(server: LaminaServer, models: Path | None) -> None:
    url = sqs(
        server,
        models,
        "create-queue",
        "--queue-name",
        unique("cli") + ".fifo",
        "--attributes",
        json.dumps({"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
    )["QueueUrl"]
    for body in ("first", "second", "first"):
        sqs(
            server,
            models,
            "send-message",
            "--queue-url",
            url,
            "--message-body",
            body,
            "--message-group-id",
            "g",
        )
    got = sqs(
        server,
        models,
        "receive-message",
        "--queue-url",
        url,
        "--max-number-of-messages",
        "10",
        "--attribute-names",
        "All",
    )["Messages"]
    # In order, and the repeated body was deduplicated.
    assert [m["Body"] for m in got] == ["first", "second"]
    assert [m["Attributes"]["MessageGroupId"] for m in got] == ["g", "g"]


def test_cli_errors_are_aws_errors(server: LaminaServer, models: Path | None) -> None:
    result = aws_cli(
        server,
        "sqs",
        "get-queue-url",
        "--queue-name",
        unique("missing"),
        check=False,
        data_path=models,
    )
    assert result.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in result.stderr
    assert "The specified queue does not exist" in result.stderr


def test_cli_event_source_mapping(server: LaminaServer) -> None:
    lam = server.client("lambda")
    name = create_python_function(lam, "def handler(event, context):\n    return None\n")
    url = sqs(server, None, "create-queue", "--queue-name", unique("cli-esm"))["QueueUrl"]
    arn = sqs(
        server, None, "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn"
    )["Attributes"]["QueueArn"]

    def lam_cli(*args: str) -> Any:
        out = aws_cli(server, "lambda", *args).stdout
        return json.loads(out) if out.strip() else None

    created = lam_cli(
        "create-event-source-mapping",
        "--function-name",
        name,
        "--event-source-arn",
        arn,
        "--batch-size",
        "5",
    )
    assert created["State"] == "Creating" and created["BatchSize"] == 5
    assert created["EventSourceArn"] == arn
    uuid = created["UUID"]
    listed = lam_cli("list-event-source-mappings", "--function-name", name)
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [uuid]
    deadline = time.time() + 10
    while lam_cli("get-event-source-mapping", "--uuid", uuid)["State"] != "Enabled":
        assert time.time() < deadline
        time.sleep(0.2)
    updated = lam_cli("update-event-source-mapping", "--uuid", uuid, "--no-enabled")
    assert updated["State"] == "Disabling"
    deleted = lam_cli("delete-event-source-mapping", "--uuid", uuid)
    assert deleted["State"] == "Deleting"
