"""The queue registry and the queue API handlers, against a real SQS database (no server).

Errors are compared with the responses recorded against AWS (both protocol variants)."""

from __future__ import annotations

import asyncio
import json
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
    InvalidAddress,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    QueueDeletedRecently,
    QueueDoesNotExist,
)
from lamina.services.sqs.messages import MessageEngine
from lamina.services.sqs.service import SqsService
from lamina.store.sqs_store import SqliteSqsStore

ACCOUNT = "111111111111"
BASE = "http://127.0.0.1:9000"
CTX = RequestContext("req-1", ACCOUNT, "us-east-1")

Call = Callable[[str, dict[str, Any]], Any]


class Harness:
    """One SqsService over a temporary database, driven through the queue handlers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop()
        self.service = self._open()

    def _open(self) -> SqsService:
        service = SqsService(SqliteSqsStore(self.path), base_url=BASE)
        self.loop.run_until_complete(service.start())
        self.handlers = sqs_queue_handlers(service)
        return service

    def call(self, operation: str, params: dict[str, Any], ctx: RequestContext = CTX) -> Any:
        handler: Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]
        handler = self.handlers[operation]
        return self.loop.run_until_complete(handler(ctx, params))

    def error(self, operation: str, params: dict[str, Any], ctx: RequestContext = CTX) -> AwsError:
        with pytest.raises(AwsError) as caught:
            self.call(operation, params, ctx)
        return caught.value

    def attributes(self, url: str, *names: str) -> dict[str, str]:
        out = self.call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": list(names)})
        return dict(out.get("Attributes", {}))

    def restart(self) -> None:
        self.loop.run_until_complete(self.service.stop())
        self.service = self._open()

    def close(self) -> None:
        self.loop.run_until_complete(self.service.stop())
        self.loop.close()


@pytest.fixture
def sqs(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "sqs.sqlite3")
    yield harness
    harness.close()


def _normalised(attributes: dict[str, str], url_name: str) -> dict[str, str]:
    out = dict(attributes)
    for key in ("CreatedTimestamp", "LastModifiedTimestamp"):
        if key in out:
            assert out[key].isdigit()
            out[key] = "timestamp"
    if "QueueArn" in out:
        assert out["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{url_name}"
        out["QueueArn"] = "arn:<partition>:sqs:<region>:111111111111:<resource:1>"
    return out


# --- create, defaults, idempotency --------------------------------------------------------


def test_standard_queue_defaults_match_aws(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "plain"})["QueueUrl"]
    assert url == f"{BASE}/{ACCOUNT}/plain"
    expected = recorded_sqs(
        "test_set_queue_attributes_default_values[sqs]", "get-queue-attributes-initial-values"
    )["Attributes"]
    assert _normalised(sqs.attributes(url, "All"), "plain") == expected


def test_create_and_update_attributes_as_recorded(sqs: Harness) -> None:
    created = {
        "DelaySeconds": "0",
        "MessageRetentionPeriod": "604800",
        "ReceiveMessageWaitTimeSeconds": "10",
        "VisibilityTimeout": "20",
    }
    url = sqs.call("CreateQueue", {"QueueName": "q1", "Attributes": created})["QueueUrl"]
    content = recorded_sqs("test_create_and_update_queue_attributes[sqs]")
    assert (
        _normalised(sqs.attributes(url, "All"), "q1")
        == content["get_queue_attributes"]["Attributes"]
    )
    updated = {"DelaySeconds": "420", "MaximumMessageSize": "2048", "VisibilityTimeout": "69"}
    sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": updated})
    assert (
        _normalised(sqs.attributes(url, "All"), "q1")
        == content["get_updated_queue_attributes"]["Attributes"]
    )


def test_fifo_high_throughput_attributes_match_aws(sqs: Harness) -> None:
    url = sqs.call(
        "CreateQueue", {"QueueName": "ordered.fifo", "Attributes": {"FifoQueue": "true"}}
    )["QueueUrl"]
    sqs.call(
        "SetQueueAttributes",
        {
            "QueueUrl": url,
            "Attributes": {
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
            },
        },
    )
    expected = recorded_sqs(
        "test_fifo_change_to_high_throughput_after_creation[sqs]", "set-to-high-throughput"
    )["Attributes"]
    assert _normalised(sqs.attributes(url, "All"), "ordered.fifo") == expected


def test_create_is_idempotent_only_for_equal_attributes(sqs: Harness) -> None:
    params = {"QueueName": "same", "Attributes": {"DelaySeconds": "1"}}
    url = sqs.call("CreateQueue", params)["QueueUrl"]
    assert sqs.call("CreateQueue", params)["QueueUrl"] == url
    assert sqs.call("CreateQueue", {"QueueName": "same"})["QueueUrl"] == url
    cleared = {"DelaySeconds": "1", "Policy": "", "RedrivePolicy": ""}
    assert sqs.call("CreateQueue", {"QueueName": "same", "Attributes": cleared})["QueueUrl"] == url
    content = recorded_sqs("test_create_queue_with_different_attributes_raises_exception[sqs]")
    error = sqs.error("CreateQueue", {"QueueName": "same", "Attributes": {"DelaySeconds": "2"}})
    assert_recorded_error(error, content["create_queue_01"])
    sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "2"}})
    assert_recorded_error(sqs.error("CreateQueue", params), content["create_queue_02"])


def test_fifo_create_with_different_attribute_is_refused(sqs: Harness) -> None:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    sqs.call("CreateQueue", {"QueueName": "f.fifo", "Attributes": attributes})
    error = sqs.error(
        "CreateQueue",
        {"QueueName": "f.fifo", "Attributes": {**attributes, "ContentBasedDeduplication": "false"}},
    )
    recorded = recorded_sqs(
        "test_create_fifo_queue_with_different_attributes_raises_error[sqs]",
        "queue-already-exists",
    )
    assert_recorded_error(error, recorded)


@pytest.mark.parametrize(
    ("attributes", "key"),
    [
        ({"FifoQueue": "false"}, "invalid-attribute-fifo-queue"),
        ({"ContentBasedDeduplication": "true"}, "invalid-attribute-content-based-deduplication"),
        ({"DeduplicationScope": "queue"}, "invalid-attribute-deduplication-scope"),
        ({"FifoThroughputLimit": "perQueue"}, "invalid-attribute-throughput-limit"),
    ],
)
def test_standard_queue_refuses_fifo_attributes(
    sqs: Harness, attributes: dict[str, str], key: str
) -> None:
    error = sqs.error("CreateQueue", {"QueueName": "std", "Attributes": attributes})
    recorded = recorded_sqs("test_create_standard_queue_with_fifo_attribute_raises_error[sqs]")
    assert_recorded_error(error, recorded[key])
    assert sqs.call("ListQueues", {}) == {}


def test_queue_type_cannot_change(sqs: Harness) -> None:
    std = sqs.call("CreateQueue", {"QueueName": "std"})["QueueUrl"]
    fifo = sqs.call("CreateQueue", {"QueueName": "f.fifo", "Attributes": {"FifoQueue": "true"}})[
        "QueueUrl"
    ]
    on_std = recorded_sqs("test_set_unsupported_attribute_standard[sqs]")
    on_fifo = recorded_sqs("test_set_unsupported_attribute_fifo[sqs]")
    for value, key in (("true", "invalid-attr-name-1"), ("false", "invalid-attr-name-2")):
        error = sqs.error(
            "SetQueueAttributes", {"QueueUrl": std, "Attributes": {"FifoQueue": value}}
        )
        assert_recorded_error(error, on_std[key])
        error = sqs.error(
            "SetQueueAttributes", {"QueueUrl": fifo, "Attributes": {"FifoQueue": value}}
        )
        assert_recorded_error(error, on_fifo[key])


_NAME = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
_FIFO_NAME = (
    "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
    "underscores, must end with .fifo suffix and be 1 to 80 in length."
)


@pytest.mark.parametrize(
    ("name", "attributes", "message"),
    [
        ("", {}, "Queue name cannot be empty"),
        ("a" * 81, {}, _NAME),
        ("has space", {}, _NAME),
        ("in.fo", {}, _NAME),
        ("dot.fifo", {}, _NAME),
        ("b" * 76 + ".fifo", {"FifoQueue": "true"}, _FIFO_NAME),
        ("bad name.fifo", {"FifoQueue": "true"}, _FIFO_NAME),
    ],
)
def test_queue_names_are_checked(
    sqs: Harness, name: str, attributes: dict[str, str], message: str
) -> None:
    error = sqs.error("CreateQueue", {"QueueName": name, "Attributes": attributes})
    assert isinstance(error, InvalidParameterValue)
    assert error.message == message
    assert error.query_code == "InvalidParameterValue" and error.status == 400
    assert sqs.call("ListQueues", {}) == {}
    assert sqs.call("CreateQueue", {"QueueName": "a" * 80})["QueueUrl"].endswith("a" * 80)
    long_fifo = "b" * 75 + ".fifo"
    assert sqs.call("CreateQueue", {"QueueName": long_fifo, "Attributes": {"FifoQueue": "true"}})


@pytest.mark.parametrize(
    ("name", "value"),
    [("example", "true"), ("example.ifo", "true"), ("example.fifo", "false"), ("plain", "False")],
)
def test_fifo_attribute_needs_a_fifo_name(sqs: Harness, name: str, value: str) -> None:
    error = sqs.error("CreateQueue", {"QueueName": name, "Attributes": {"FifoQueue": value}})
    assert isinstance(error, InvalidAttributeName)
    assert error.message == "Unknown Attribute FifoQueue."
    created = sqs.call("CreateQueue", {"QueueName": "ok.fifo", "Attributes": {"FifoQueue": "TRUE"}})
    assert sqs.attributes(created["QueueUrl"], "FifoQueue") == {"FifoQueue": "true"}


# --- lookups -----------------------------------------------------------------------------


def test_unknown_queue_is_the_recorded_error_on_both_protocols(sqs: Harness) -> None:
    content = recorded_sqs("test_non_existent_queue")
    error = sqs.error("GetQueueUrl", {"QueueName": "missing"})
    assert_recorded_error(error, content["queue-does-not-exist"])
    error = sqs.error("GetQueueAttributes", {"QueueUrl": f"{BASE}/{ACCOUNT}/missing"})
    assert_recorded_error(error, content["queue-does-not-exist-url"])
    assert_recorded_error(error, content["queue-does-not-exist-query"])


def test_queue_url_may_name_any_host_but_must_be_a_url(sqs: Harness) -> None:
    sqs.call("CreateQueue", {"QueueName": "hosted"})
    other_host = f"http://sqs.us-east-1.localhost:4566/{ACCOUNT}/hosted"
    assert "QueueArn" in sqs.attributes(other_host, "QueueArn")
    error = sqs.error("GetQueueAttributes", {"QueueUrl": "hosted"})
    assert isinstance(error, InvalidAddress) and error.status == 404


def test_queues_belong_to_the_request_region(sqs: Harness) -> None:
    west = RequestContext("req-2", ACCOUNT, "eu-west-1")
    url = sqs.call("CreateQueue", {"QueueName": "regional"}, west)["QueueUrl"]
    arn = sqs.call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]}, west)
    assert arn["Attributes"]["QueueArn"] == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:regional"
    assert isinstance(sqs.error("GetQueueUrl", {"QueueName": "regional"}), QueueDoesNotExist)
    assert sqs.call("ListQueues", {}) == {}
    assert sqs.call("ListQueues", {}, west) == {"QueueUrls": [url]}


def test_get_queue_url_with_owner(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "owned"})["QueueUrl"]
    found = sqs.call("GetQueueUrl", {"QueueName": "owned", "QueueOwnerAWSAccountId": ACCOUNT})
    assert found == {"QueueUrl": url}
    other = {"QueueName": "owned", "QueueOwnerAWSAccountId": "222222222222"}
    assert isinstance(sqs.error("GetQueueUrl", other), QueueDoesNotExist)


def test_list_queues_prefix_and_pagination(sqs: Harness) -> None:
    urls = [
        sqs.call("CreateQueue", {"QueueName": f"test-queue-{i}"})["QueueUrl"] for i in range(10)
    ]
    sqs.call("CreateQueue", {"QueueName": "other"})
    content = recorded_sqs("test_list_queues_pagination")
    assert sqs.call("ListQueues", {"QueueNamePrefix": "test-queue-"}) == {"QueueUrls": urls}
    first = sqs.call("ListQueues", {"QueueNamePrefix": "test-queue-", "MaxResults": 2})
    assert first["QueueUrls"] == urls[:2] and len(content["list_two_max"]["QueueUrls"]) == 2
    rest = sqs.call(
        "ListQueues",
        {"QueueNamePrefix": "test-queue-", "MaxResults": 100, "NextToken": first["NextToken"]},
    )
    assert rest == {"QueueUrls": urls[2:]}
    assert "NextToken" not in content["list_remaining"]
    for bad in (0, 1001):
        error = sqs.error("ListQueues", {"MaxResults": bad})
        assert isinstance(error, InvalidParameterValue)
        assert error.message == (
            "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer "
            "between 1 and 1000."
        )


# --- attributes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DelaySeconds", "901"),
        ("DelaySeconds", "-1"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "ten"),
        ("Policy", "not json"),
        ("KmsDataKeyReusePeriodSeconds", "59"),
        ("SqsManagedSseEnabled", "yes"),
    ],
)
def test_invalid_values_change_nothing(sqs: Harness, name: str, value: str) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "strict"})["QueueUrl"]
    before = sqs.attributes(url, "All")
    error = sqs.error(
        "SetQueueAttributes",
        {"QueueUrl": url, "Attributes": {"VisibilityTimeout": "99", name: value}},
    )
    assert isinstance(error, InvalidAttributeValue)
    assert error.message == f"Invalid value for the parameter {name}."
    assert error.status == 400 and error.query_code == "InvalidAttributeValue"
    assert sqs.attributes(url, "All") == before
    created = sqs.error("CreateQueue", {"QueueName": "never", "Attributes": {name: value}})
    assert isinstance(created, InvalidAttributeValue)
    assert isinstance(sqs.error("GetQueueUrl", {"QueueName": "never"}), QueueDoesNotExist)


def test_unknown_attribute_names(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "names"})["QueueUrl"]
    error = sqs.error("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["Bogus"]})
    assert isinstance(error, InvalidAttributeName)
    assert error.message == "Unknown Attribute Bogus."
    error = sqs.error("SetQueueAttributes", {"QueueUrl": url, "Attributes": {"QueueArn": "x"}})
    assert error.message == "Unknown Attribute QueueArn."
    assert sqs.call("GetQueueAttributes", {"QueueUrl": url}) == {}
    assert sqs.attributes(url, "FifoQueue") == {}
    assert sqs.attributes(url, "VisibilityTimeout", "QueueArn") == {
        "VisibilityTimeout": "30",
        "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:names",
    }


def test_sse_attributes_as_recorded(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "sse"})["QueueUrl"]
    names = ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
    kms = {"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000"}
    sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": kms})
    content = recorded_sqs("test_sse_queue_attributes[sqs]")
    assert sqs.attributes(url, *names) == content["sse_kms_attributes"]["Attributes"]
    sqs.call(
        "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"SqsManagedSseEnabled": "true"}}
    )
    assert sqs.attributes(url, *names) == content["sse_sqs_attributes"]["Attributes"]
    both = {"KmsMasterKeyId": "testKeyId", "SqsManagedSseEnabled": "true"}
    error = sqs.error("SetQueueAttributes", {"QueueUrl": url, "Attributes": both})
    recorded = recorded_sqs("test_sse_kms_and_sqs_are_mutually_exclusive[sqs]")["error"]
    operation = "when calling the SetQueueAttributes operation"
    assert recorded == f"An error occurred ({error.query_code}) {operation}: {error.message}"


def test_set_back_to_defaults_as_recorded(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "defaults"})["QueueUrl"]
    kms = {"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000"}
    sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": kms})
    content = recorded_sqs("test_set_queue_attributes_default_values[sqs]")
    assert (
        _normalised(sqs.attributes(url, "All"), "defaults")
        == content["get-queue-attributes-after-update"]["Attributes"]
    )
    defaults = {
        "DelaySeconds": "0",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0",
        "VisibilityTimeout": "30",
        "KmsMasterKeyId": "",
        "Policy": "",
        "RedrivePolicy": "",
    }
    sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": defaults})
    assert (
        _normalised(sqs.attributes(url, "All"), "defaults")
        == content["get-queue-attributes-after-set-to-defaults"]["Attributes"]
    )


# --- dead-letter queues ------------------------------------------------------------------


def test_redrive_policy_is_checked_normalised_and_listed(sqs: Harness) -> None:
    dlq = sqs.call("CreateQueue", {"QueueName": "dlq"})["QueueUrl"]
    dlq_arn = sqs.attributes(dlq, "QueueArn")["QueueArn"]
    raw = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    src = sqs.call("CreateQueue", {"QueueName": "src", "Attributes": {"RedrivePolicy": raw}})[
        "QueueUrl"
    ]
    assert json.loads(sqs.attributes(src, "RedrivePolicy")["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 3,
    }
    queue = sqs.service.queues.by_url(CTX, src)
    assert queue.redrive_policy is not None and queue.redrive_policy.max_receive_count == 3
    assert sqs.call("ListDeadLetterSourceQueues", {"QueueUrl": dlq}) == {"queueUrls": [src]}
    assert sqs.call("ListDeadLetterSourceQueues", {"QueueUrl": src}) == {"queueUrls": []}
    sqs.call("SetQueueAttributes", {"QueueUrl": src, "Attributes": {"RedrivePolicy": ""}})
    assert sqs.attributes(src, "RedrivePolicy") == {}
    assert sqs.service.queues.by_url(CTX, src).redrive_policy is None


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({}, "Redrive policy does not contain mandatory attribute: maxReceiveCount."),
        (
            {"maxReceiveCount": 3},
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
        ),
        (
            {"deadLetterTargetArn": "TARGET", "maxReceiveCount": 3, "extra": 1},
            "Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn].",
        ),
        (
            {"deadLetterTargetArn": "TARGET", "maxReceiveCount": 0},
            "Invalid value for maxReceiveCount: 0, valid values are from 1 to 1000 both inclusive.",
        ),
        (
            {"deadLetterTargetArn": "TARGET", "maxReceiveCount": "1001"},
            "Invalid value for maxReceiveCount: 1001, valid values are from 1 to 1000 both "
            "inclusive.",
        ),
        (
            {
                "deadLetterTargetArn": "arn:aws:sns:us-east-1:111111111111:topic",
                "maxReceiveCount": 3,
            },
            "Only SQS queues are valid resources for deadLetterTargetArn.",
        ),
        (
            {
                "deadLetterTargetArn": "arn:aws:sqs:us-east-1:111111111111:nope",
                "maxReceiveCount": 3,
            },
            "Dead letter target does not exist.",
        ),
        (
            {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:111111111111:dlq", "maxReceiveCount": 3},
            "Dead letter target does not exist.",
        ),
        (
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:222222222222:dlq", "maxReceiveCount": 3},
            "Dead-letter target owner should be same as the source.",
        ),
        (
            {"deadLetterTargetArn": "FIFO", "maxReceiveCount": 3},
            "Dead-letter queue must be same type of queue as the source..",
        ),
        (
            {
                "deadLetterTargetArn": "arn:aws:sqs:us-east-1:111111111111:x.fifo",
                "maxReceiveCount": 3,
            },
            "Dead-letter queue must be same type of queue as the source..",
        ),
    ],
)
def test_redrive_policy_errors(sqs: Harness, policy: dict[str, Any], reason: str) -> None:
    dlq = sqs.call("CreateQueue", {"QueueName": "dlq"})["QueueUrl"]
    fifo = sqs.call("CreateQueue", {"QueueName": "d.fifo", "Attributes": {"FifoQueue": "true"}})[
        "QueueUrl"
    ]
    targets = {
        "TARGET": sqs.attributes(dlq, "QueueArn")["QueueArn"],
        "FIFO": sqs.attributes(fifo, "QueueArn")["QueueArn"],
    }
    document = {k: targets.get(v, v) if isinstance(v, str) else v for k, v in policy.items()}
    raw = json.dumps(document)
    error = sqs.error("CreateQueue", {"QueueName": "src", "Attributes": {"RedrivePolicy": raw}})
    assert isinstance(error, InvalidParameterValue)
    assert error.message == f"Value {raw} for parameter RedrivePolicy is invalid. Reason: {reason}"
    assert isinstance(sqs.error("GetQueueUrl", {"QueueName": "src"}), QueueDoesNotExist)


# --- tags and permissions ----------------------------------------------------------------


def test_tags_as_recorded(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "tagged"})["QueueUrl"]
    content = recorded_sqs("test_tag_untag_queue[sqs]")
    tags = {"tag1": "value1", "tag2": "value2", "tag3": ""}
    sqs.call("TagQueue", {"QueueUrl": url, "Tags": tags})
    assert sqs.call("ListQueueTags", {"QueueUrl": url}) == {"Tags": content["get-tag-1"]["Tags"]}
    sqs.call("UntagQueue", {"QueueUrl": url, "TagKeys": ["tag1", "tag3", "absent"]})
    assert sqs.call("ListQueueTags", {"QueueUrl": url}) == {"Tags": content["get-tag-2"]["Tags"]}
    sqs.call("UntagQueue", {"QueueUrl": url, "TagKeys": ["tag2"]})
    assert sqs.call("ListQueueTags", {"QueueUrl": url}) == {}
    error = sqs.error("TagQueue", {"QueueUrl": url, "Tags": {}})
    assert error.message == "The request must contain the parameter Tags."
    assert error.query_code == "MissingParameter"
    error = sqs.error("UntagQueue", {"QueueUrl": url, "TagKeys": []})
    assert error.message == "Tag keys must be between 1 and 128 characters in length."
    sqs.call("TagQueue", {"QueueUrl": url, "Tags": {f"k{i}": "v" for i in range(50)}})
    error = sqs.error("TagQueue", {"QueueUrl": url, "Tags": {"one-more": "v"}})
    assert error.message == "Too many tags added for queue tagged."
    assert len(sqs.call("ListQueueTags", {"QueueUrl": url})["Tags"]) == 50
    created = sqs.call("CreateQueue", {"QueueName": "born-tagged", "tags": {"a": "b"}})
    assert sqs.call("ListQueueTags", {"QueueUrl": created["QueueUrl"]}) == {"Tags": {"a": "b"}}


def test_permission_lifecycle_as_recorded(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "shared"})["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:shared"
    content = recorded_sqs("test_sqs_permission_lifecycle[sqs]")

    def policy() -> Any:
        values = sqs.attributes(url, "Policy")
        return json.loads(values["Policy"]) if values else None

    def expected(key: str) -> Any:
        text = json.dumps(content[key]["Attributes"]["Policy"])
        text = text.replace("arn:<partition>:sqs:<region>:111111111111:<resource:2>", arn)
        text = text.replace("<resource:1>", "SQSDefaultPolicy")
        text = text.replace("arn:<partition>:iam::", "arn:aws:iam::").replace(
            "<resource:3>", "root"
        )
        return json.loads(text)

    def add(label: str, accounts: list[str]) -> None:
        sqs.call(
            "AddPermission",
            {
                "QueueUrl": url,
                "Label": label,
                "AWSAccountIds": accounts,
                "Actions": ["ReceiveMessage"],
            },
        )

    add("crossaccountpermission", ["668614515564", ACCOUNT])
    assert policy() == expected("get-queue-policy-attribute")
    sqs.call("RemovePermission", {"QueueUrl": url, "Label": "crossaccountpermission"})
    assert policy() is None
    add("crossaccountpermission", [ACCOUNT])
    assert policy() == expected("get-queue-policy-attribute-first-account-same-label")
    error = sqs.error(
        "AddPermission",
        {
            "QueueUrl": url,
            "Label": "crossaccountpermission",
            "AWSAccountIds": ["668614515564"],
            "Actions": ["ReceiveMessage"],
        },
    )
    assert_recorded_error(error, content["get-queue-policy-attribute-second-account-same-label"])
    add("crossaccountpermission2", [ACCOUNT])
    assert policy() == expected("get-queue-policy-attribute-second-account-different-label")
    sqs.call("RemovePermission", {"QueueUrl": url, "Label": "crossaccountpermission"})
    assert policy() == expected("get-queue-policy-attribute-delete-first-permission")
    sqs.call("RemovePermission", {"QueueUrl": url, "Label": "crossaccountpermission2"})
    assert policy() is None
    error = sqs.error("RemovePermission", {"QueueUrl": url, "Label": "crossaccountpermission2"})
    assert_recorded_error(error, content["get-queue-policy-attribute-delete-non-existent-label"])
    bad_action = {"QueueUrl": url, "Label": "x", "AWSAccountIds": [ACCOUNT], "Actions": ["Nope"]}
    assert isinstance(sqs.error("AddPermission", bad_action), InvalidParameterValue)
    assert policy() is None


# --- deletion and durability -------------------------------------------------------------


def test_delete_hooks_and_deleted_recently(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "gone"})["QueueUrl"]
    queue = sqs.service.queues.by_url(CTX, url)
    seen: list[tuple[str, int, bool]] = []

    async def after(deleted: Any) -> None:
        stored = {row.id for row in sqs.service.store.load_queues()}
        seen.append(("after", deleted.id, deleted.id in stored))

    sqs.service.queues.on_deleted(after)
    sqs.call("DeleteQueue", {"QueueUrl": url})
    assert seen == [("after", queue.id, False)] and queue.deleted  # hooks run once committed
    assert isinstance(sqs.error("GetQueueAttributes", {"QueueUrl": url}), QueueDoesNotExist)
    assert isinstance(sqs.error("DeleteQueue", {"QueueUrl": url}), QueueDoesNotExist)
    error = sqs.error("CreateQueue", {"QueueName": "gone"})
    assert isinstance(error, QueueDeletedRecently)
    assert error.query_code == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert error.message == (
        "You must wait 60 seconds after deleting a queue before you can create another with "
        "the same name."
    )
    registry = sqs.service.queues
    now = registry._clock()
    registry._clock = lambda: now + 61
    recreated = sqs.call("CreateQueue", {"QueueName": "gone"})
    assert recreated["QueueUrl"] == url
    assert sqs.service.queues.by_url(CTX, url).id != queue.id


def test_queues_survive_a_restart(sqs: Harness) -> None:
    url = sqs.call(
        "CreateQueue",
        {"QueueName": "kept.fifo", "Attributes": {"FifoQueue": "true", "VisibilityTimeout": "7"}},
    )["QueueUrl"]
    sqs.call("TagQueue", {"QueueUrl": url, "Tags": {"k": "v"}})
    sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "5"}})
    dropped = sqs.call("CreateQueue", {"QueueName": "dropped"})["QueueUrl"]
    sqs.call("DeleteQueue", {"QueueUrl": dropped})
    before = sqs.attributes(url, "All")
    sqs.restart()
    assert sqs.attributes(url, "All") == before
    assert sqs.call("ListQueueTags", {"QueueUrl": url}) == {"Tags": {"k": "v"}}
    queue = sqs.service.queues.by_url(CTX, url)
    assert (queue.fifo, queue.visibility_timeout, queue.delay_seconds) == (True, 7, 5)
    assert sqs.call("ListQueues", {}) == {"QueueUrls": [url]}


def test_counters_come_from_the_message_engine(sqs: Harness) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "counted"})["QueueUrl"]
    engine = sqs.service.engine
    assert isinstance(engine, MessageEngine)
    send = sqs_message_handlers(sqs.service)["SendMessage"]
    for body, delay in (("now", 0), ("now too", 0), ("later", 60)):
        params = {"QueueUrl": url, "MessageBody": body, "DelaySeconds": delay}
        sqs.loop.run_until_complete(send(CTX, params))
    receive = sqs_message_handlers(sqs.service)["ReceiveMessage"]
    sqs.loop.run_until_complete(receive(CTX, {"QueueUrl": url, "MaxNumberOfMessages": 1}))
    counters = sqs.attributes(
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    assert counters == {
        "ApproximateNumberOfMessages": "1",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }
    sqs.call("DeleteQueue", {"QueueUrl": url})
    sqs.restart()
    assert sqs.call("ListQueues", {}) == {}


def test_concurrent_creates_of_one_name_make_one_queue(sqs: Harness) -> None:
    handler = sqs.handlers["CreateQueue"]

    async def both() -> list[dict[str, Any]]:
        params = {"QueueName": "raced"}
        return list(await asyncio.gather(handler(CTX, params), handler(CTX, dict(params))))

    first, second = sqs.loop.run_until_complete(both())
    assert first == second
    assert sqs.call("ListQueues", {}) == {"QueueUrls": [first["QueueUrl"]]}


def test_a_failed_commit_changes_nothing(sqs: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqs.call("CreateQueue", {"QueueName": "steady"})["QueueUrl"]
    before = sqs.attributes(url, "All")

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    for write in ("insert_queue", "update_attributes", "update_tags", "delete_queue"):
        monkeypatch.setattr(sqs.service.store, write, failing)
    with pytest.raises(OSError):
        sqs.call("CreateQueue", {"QueueName": "never"})
    with pytest.raises(OSError):
        sqs.call("SetQueueAttributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "9"}})
    with pytest.raises(OSError):
        sqs.call("TagQueue", {"QueueUrl": url, "Tags": {"a": "b"}})
    with pytest.raises(OSError):
        sqs.call("DeleteQueue", {"QueueUrl": url})
    assert sqs.attributes(url, "All") == before
    assert sqs.call("ListQueueTags", {"QueueUrl": url}) == {}
    assert sqs.call("ListQueues", {}) == {"QueueUrls": [url]}
