"""SQS queue operations end to end: boto3 against a real server, on both of SQS's protocols
(JSON, what current SDKs speak; query, what older SDKs and AWS CLI v1 spoke), compared with
the responses recorded against AWS (tests/fixtures/aws-recorded/sqs)."""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data, query_sqs_session  # noqa: E402

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sqs"
RECORDED_ACCOUNT = "111111111111"
PROTOCOLS = ["sqs", "sqs_query"]


def recorded(test: str, key: str | None = None) -> Any:
    data = json.loads((RECORDED / "test_sqs.snapshot.json").read_text())
    matches = [v for k, v in data.items() if k.endswith("::" + test)]
    assert len(matches) == 1, test
    content = matches[0]["recorded-content"]
    return content if key is None else content[key]


def sqs_client(server: LaminaServer, protocol: str, data: Path, region: str = REGION) -> Any:
    config = Config(retries={"max_attempts": 1}, read_timeout=60)
    session = query_sqs_session(data) if protocol == "sqs_query" else boto3.Session()._session
    return session.create_client(
        "sqs",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )


@pytest.fixture(scope="module")
def old_models(pytestconfig: pytest.Config) -> Path:
    assert pytestconfig.cache is not None
    data: Path = old_botocore_data(Path(pytestconfig.cache.mkdir("old-botocore")))
    return data


@pytest.fixture(params=PROTOCOLS)
def sqs(request: pytest.FixtureRequest, server: LaminaServer, old_models: Path) -> Any:
    client = sqs_client(server, request.param, old_models)
    expected = "query" if request.param == "sqs_query" else "json"
    assert client.meta.service_model.protocol == expected
    client.protocol_variant = request.param
    return client


@pytest.fixture
def queue_names() -> Iterator[Callable[[str], str]]:
    def make(suffix: str = "") -> str:
        return f"q-{uuid.uuid4().hex[:10]}{suffix}"

    yield make


def variant(sqs: Any, test: str) -> str:
    return f"{test}[{sqs.protocol_variant}]"


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def assert_error(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """The client saw what AWS answered: status, codes, message, fault, modeled members.

    Some ``[sqs_query]`` recordings were made with a JSON client (they carry
    ``QueryErrorCode``); a query client is compared with them on what both protocols show.
    """
    assert (
        actual["ResponseMetadata"]["HTTPStatusCode"]
        == (expected["ResponseMetadata"]["HTTPStatusCode"])
    )
    query_client = "QueryErrorCode" not in actual["Error"]
    members = ["Code", "Message", "Type"]
    if not query_client:
        members.append("QueryErrorCode")
        assert actual.get("message") == expected.get("message")
    for member in members:
        assert actual["Error"].get(member) == expected["Error"].get(member), member


def normalised(attributes: dict[str, str]) -> dict[str, str]:
    out = dict(attributes)
    for key in ("CreatedTimestamp", "LastModifiedTimestamp"):
        if key in out:
            assert out[key].isdigit()
            out[key] = "timestamp"
    if "QueueArn" in out:
        assert out["QueueArn"].startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:")
        out["QueueArn"] = "arn:<partition>:sqs:<region>:111111111111:<resource:1>"
    return out


def test_queue_lifecycle_with_aws_defaults(sqs: Any, queue_names: Callable[[str], str]) -> None:
    name = queue_names("")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith(f"/{ACCOUNT}/{name}") and url.startswith("http://127.0.0.1:")
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]
    initial = recorded(
        variant(sqs, "test_set_queue_attributes_default_values"),
        "get-queue-attributes-initial-values",
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert normalised(attributes) == initial["Attributes"]
    content = recorded(variant(sqs, "test_create_and_update_queue_attributes"))
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "MessageRetentionPeriod": "604800",
            "ReceiveMessageWaitTimeSeconds": "10",
            "VisibilityTimeout": "20",
        },
    )
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"DelaySeconds": "420", "MaximumMessageSize": "2048", "VisibilityTimeout": "69"},
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert normalised(attributes) == content["get_updated_queue_attributes"]["Attributes"]
    sqs.delete_queue(QueueUrl=url)
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=name)


def test_fifo_queue_attributes(sqs: Any, queue_names: Callable[[str], str]) -> None:
    url = sqs.create_queue(QueueName=queue_names(".fifo"), Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )
    expected = recorded(
        variant(sqs, "test_fifo_change_to_high_throughput_after_creation"), "set-to-high-throughput"
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert normalised(attributes) == expected["Attributes"]
    content = recorded(variant(sqs, "test_set_unsupported_attribute_fifo"))
    for value, key in (("true", "invalid-attr-name-1"), ("false", "invalid-attr-name-2")):
        error = error_of(
            partial(sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": value})
        )
        assert_error(error, content[key])
    sqs.delete_queue(QueueUrl=url)


def test_errors_as_recorded(sqs: Any, queue_names: Callable[[str], str]) -> None:
    missing = recorded("test_non_existent_queue")
    if sqs.protocol_variant == "sqs":
        assert_error(
            error_of(lambda: sqs.get_queue_url(QueueName="nope")), missing["queue-does-not-exist"]
        )
        unknown_url = f"http://127.0.0.1:1/{ACCOUNT}/nope"
        error = error_of(lambda: sqs.get_queue_attributes(QueueUrl=unknown_url))
        assert_error(error, missing["queue-does-not-exist-url"])
    else:
        error = error_of(lambda: sqs.get_queue_url(QueueName="nope"))
        assert_error(error, missing["queue-does-not-exist-query"])
    name = queue_names("")
    url = sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})["QueueUrl"]
    exists = recorded(variant(sqs, "test_create_queue_with_different_attributes_raises_exception"))
    error = error_of(lambda: sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "2"}))
    assert_error(error, exists["create_queue_01"])
    fifo_attributes = recorded(
        variant(sqs, "test_create_standard_queue_with_fifo_attribute_raises_error")
    )
    cases = {
        "invalid-attribute-fifo-queue": {"FifoQueue": "false"},
        "invalid-attribute-content-based-deduplication": {"ContentBasedDeduplication": "true"},
        "invalid-attribute-deduplication-scope": {"DeduplicationScope": "queue"},
        "invalid-attribute-throughput-limit": {"FifoThroughputLimit": "perQueue"},
    }
    for key, attributes in cases.items():
        error = error_of(
            partial(sqs.create_queue, QueueName=queue_names(""), Attributes=attributes)
        )
        assert_error(error, fifo_attributes[key])
    error = error_of(
        lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
    )
    assert error["Error"]["Code"] == "InvalidAttributeValue"
    assert error["Error"]["Message"] == "Invalid value for the parameter VisibilityTimeout."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"] == {"VisibilityTimeout": "30"}
    error = error_of(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"]))
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute Bogus.",
    )
    sqs.delete_queue(QueueUrl=url)
    error = error_of(lambda: sqs.create_queue(QueueName=name))
    assert error["Error"]["Code"] == "AWS.SimpleQueueService.QueueDeletedRecently"


def test_tags_as_recorded(sqs: Any, queue_names: Callable[[str], str]) -> None:
    url = sqs.create_queue(QueueName=queue_names(""))["QueueUrl"]
    content = recorded(variant(sqs, "test_tag_untag_queue"))
    sqs.tag_queue(QueueUrl=url, Tags={"tag1": "value1", "tag2": "value2", "tag3": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == content["get-tag-1"]["Tags"]
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag1", "tag3"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == content["get-tag-2"]["Tags"]
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag2"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)
    sqs.delete_queue(QueueUrl=url)


def test_permissions_as_recorded(sqs: Any, queue_names: Callable[[str], str]) -> None:
    name = queue_names("")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    content = recorded(variant(sqs, "test_sqs_permission_lifecycle"))
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def expected(key: str) -> Any:
        text = json.dumps(content[key]["Attributes"]["Policy"])
        text = text.replace(
            f"arn:<partition>:sqs:<region>:{RECORDED_ACCOUNT}:<resource:2>", arn
        ).replace("<resource:1>", "SQSDefaultPolicy")
        text = text.replace("arn:<partition>:iam::", "arn:aws:iam::").replace(
            "<resource:3>", "root"
        )
        return json.loads(text.replace(RECORDED_ACCOUNT, ACCOUNT))

    def policy() -> Any:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        return (
            json.loads(attributes["Attributes"]["Policy"]) if "Attributes" in attributes else None
        )

    sqs.add_permission(
        QueueUrl=url,
        Label="crossaccountpermission",
        AWSAccountIds=["668614515564", ACCOUNT],
        Actions=["ReceiveMessage"],
    )
    assert policy() == expected("get-queue-policy-attribute")
    sqs.remove_permission(QueueUrl=url, Label="crossaccountpermission")
    assert policy() is None
    error = error_of(lambda: sqs.remove_permission(QueueUrl=url, Label="crossaccountpermission2"))
    assert_error(error, content["get-queue-policy-attribute-delete-non-existent-label"])
    sqs.delete_queue(QueueUrl=url)


def test_list_pagination_and_dead_letter_sources(
    sqs: Any, queue_names: Callable[[str], str]
) -> None:
    prefix = queue_names("")
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)]
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert first["QueueUrls"] == urls[:2] and first["NextToken"]
    rest = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=10, NextToken=first["NextToken"])
    assert rest["QueueUrls"] == urls[2:] and "NextToken" not in rest
    dlq_arn = sqs.get_queue_attributes(QueueUrl=urls[0], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    sqs.set_queue_attributes(QueueUrl=urls[1], Attributes={"RedrivePolicy": policy})
    stored = sqs.get_queue_attributes(QueueUrl=urls[1], AttributeNames=["RedrivePolicy"])
    assert json.loads(stored["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 2,
    }
    assert sqs.list_dead_letter_source_queues(QueueUrl=urls[0])["queueUrls"] == [urls[1]]
    for url in urls:
        sqs.delete_queue(QueueUrl=url)


def test_region_of_the_signature_is_served(
    server: LaminaServer, old_models: Path, queue_names: Callable[[str], str]
) -> None:
    west = sqs_client(server, "sqs", old_models, region="eu-west-1")
    east = sqs_client(server, "sqs", old_models)
    name = queue_names("")
    url = west.create_queue(QueueName=name)["QueueUrl"]
    arn = west.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert arn["QueueArn"] == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{name}"
    with pytest.raises(ClientError):
        east.get_queue_url(QueueName=name)
    west.delete_queue(QueueUrl=url)


def test_queues_survive_a_restart(
    own_server: Callable[..., LaminaServer], old_models: Path, tmp_path: Path
) -> None:
    data = tmp_path / "sqs-data"
    first = own_server(data=data)
    sqs = sqs_client(first, "sqs", old_models)
    url = sqs.create_queue(
        QueueName="durable.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "45"}
    )["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"team": "core"})
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    first.stop(9)  # SIGKILL: acknowledged changes are committed
    second = own_server(data=data)
    sqs = sqs_client(second, "sqs", old_models)
    url = sqs.get_queue_url(QueueName="durable.fifo")["QueueUrl"]
    after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert after == before
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core"}


def test_query_request_sent_to_the_queue_url(server: LaminaServer, old_models: Path) -> None:
    """Old clients post a form to the queue's URL; the path names the queue."""
    sqs = sqs_client(server, "sqs", old_models)
    name = f"q-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "42"})["QueueUrl"]
    form = urlencode(
        {"Action": "GetQueueAttributes", "Version": "2012-11-05", "AttributeName.1": "All"}
    ).encode()
    scope = "test/20261206/us-east-1/sqs/aws4_request"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
        "SignedHeaders=host;x-amz-date, Signature=0000",
        "X-Amz-Date": "20261206T000000Z",
    }
    request = urllib.request.Request(url, data=form, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    assert "<GetQueueAttributesResponse" in body
    assert "<Name>VisibilityTimeout</Name><Value>42</Value>" in body.replace("\n", "")
    sqs.delete_queue(QueueUrl=url)
