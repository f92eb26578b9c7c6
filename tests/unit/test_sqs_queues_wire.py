"""The queue operations as boto3 sees them, without a server: real boto3 clients of both SQS
protocols (JSON; query, through botocore's last query-protocol model) answered in-process by
the protocol codecs and the queue handlers, compared with the AWS recordings."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from codec_loopback import CLIENT_ARGS, attach
from sqs_recorded import recorded_sqs

from lamina.api.protocols import JsonCodec, QueryCodec, parse_form
from lamina.api.protocols.sqs_query_names import SQS_QUERY_NAMES, SQS_XML_NAMESPACE
from lamina.api.sqs_queue_api import sqs_queue_handlers
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.services.sqs.service import SqsService
from lamina.store.sqs_store import SqliteSqsStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data, query_sqs_session  # noqa: E402

SQS_MODEL = Loader().load_service_model("sqs", "service-2")
ACCOUNT = "111111111111"
CTX = RequestContext("req", ACCOUNT, "us-east-1")
WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]


@pytest.fixture(scope="module")
def old_data(pytestconfig: pytest.Config) -> Path:
    assert pytestconfig.cache is not None
    data: Path = old_botocore_data(Path(pytestconfig.cache.mkdir("old-botocore-sqs")))
    return data


@pytest.fixture(params=["sqs", "sqs_query"])
def sqs(request: pytest.FixtureRequest, tmp_path: Path, old_data: Path) -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    service = SqsService(
        SqliteSqsStore(tmp_path / "sqs.sqlite3"), base_url=CLIENT_ARGS["endpoint_url"]
    )
    loop.run_until_complete(service.start())
    handlers = sqs_queue_handlers(service)

    def run(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return loop.run_until_complete(handlers[operation](CTX, params))

    if request.param == "sqs":
        json_codec = JsonCodec(SQS_MODEL, error_namespace="com.amazonaws.sqs")
        client = boto3.client("sqs", **CLIENT_ARGS)

        def answer(headers: dict[str, str], body: bytes) -> WireResponse:
            operation = json_codec.operation(headers["x-amz-target"])
            assert operation is not None
            try:
                return json_codec.render(
                    operation, run(operation, json_codec.parse(operation, body))
                )
            except AwsError as error:
                return json_codec.render_error(error)

    else:
        query_codec = QueryCodec(SQS_MODEL, xml_namespace=SQS_XML_NAMESPACE, names=SQS_QUERY_NAMES)
        client = query_sqs_session(old_data).create_client("sqs", **CLIENT_ARGS)

        def answer(headers: dict[str, str], body: bytes) -> WireResponse:
            form = parse_form(body)
            try:
                operation = query_codec.operation(form)
                return query_codec.render(
                    operation, run(operation, query_codec.parse(operation, form)), "req"
                )
            except AwsError as error:
                return query_codec.render_error(error, "req")

    attach(client, answer)
    client.variant = request.param
    yield client
    loop.run_until_complete(service.stop())
    loop.close()


def _error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response: dict[str, Any] = caught.value.response
    return response


def _assert_as_recorded(actual: dict[str, Any], expected: dict[str, Any]) -> None:
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


def _normalised(attributes: dict[str, str]) -> dict[str, str]:
    out = dict(attributes)
    for key in ("CreatedTimestamp", "LastModifiedTimestamp"):
        assert out[key].isdigit()
        out[key] = "timestamp"
    out["QueueArn"] = "arn:<partition>:sqs:<region>:111111111111:<resource:1>"
    return out


def test_defaults_and_updates_as_recorded(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="wire")["QueueUrl"]
    assert url == f"{CLIENT_ARGS['endpoint_url']}/{ACCOUNT}/wire"
    content = recorded_sqs(f"test_set_queue_attributes_default_values[{sqs.variant}]")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert _normalised(attributes) == content["get-queue-attributes-initial-values"]["Attributes"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000"},
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert _normalised(attributes) == content["get-queue-attributes-after-update"]["Attributes"]
    assert sqs.get_queue_url(QueueName="wire")["QueueUrl"] == url
    assert sqs.list_queues()["QueueUrls"] == [url]
    sqs.delete_queue(QueueUrl=url)
    assert "QueueUrls" not in sqs.list_queues()


def test_errors_as_recorded(sqs: Any) -> None:
    missing = recorded_sqs("test_non_existent_queue")
    key = "queue-does-not-exist" if sqs.variant == "sqs" else "queue-does-not-exist-query"
    _assert_as_recorded(_error(sqs.get_queue_url, QueueName="nope"), missing[key])
    sqs.create_queue(QueueName="same", Attributes={"DelaySeconds": "1"})
    exists = recorded_sqs(
        f"test_create_queue_with_different_attributes_raises_exception[{sqs.variant}]"
    )
    error = _error(sqs.create_queue, QueueName="same", Attributes={"DelaySeconds": "2"})
    _assert_as_recorded(error, exists["create_queue_01"])
    standard = recorded_sqs(
        f"test_create_standard_queue_with_fifo_attribute_raises_error[{sqs.variant}]"
    )
    error = _error(sqs.create_queue, QueueName="std", Attributes={"DeduplicationScope": "queue"})
    _assert_as_recorded(error, standard["invalid-attribute-deduplication-scope"])
    fifo = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    content = recorded_sqs(f"test_set_unsupported_attribute_fifo[{sqs.variant}]")
    error = _error(sqs.set_queue_attributes, QueueUrl=fifo, Attributes={"FifoQueue": "false"})
    _assert_as_recorded(error, content["invalid-attr-name-2"])


def test_tags_and_permissions_as_recorded(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="tagged")["QueueUrl"]
    tags = recorded_sqs(f"test_tag_untag_queue[{sqs.variant}]")
    sqs.tag_queue(QueueUrl=url, Tags={"tag1": "value1", "tag2": "value2", "tag3": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == tags["get-tag-1"]["Tags"]
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag1", "tag3"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == tags["get-tag-2"]["Tags"]
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag2"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)
    born = sqs.create_queue(QueueName="born", tags={"team": "core", "cost": ""})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=born)["Tags"] == {"team": "core", "cost": ""}
    permissions = recorded_sqs(f"test_sqs_permission_lifecycle[{sqs.variant}]")
    sqs.add_permission(
        QueueUrl=url, Label="label", AWSAccountIds=[ACCOUNT], Actions=["ReceiveMessage"]
    )
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    statement = json.loads(policy["Policy"])["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    error = _error(
        sqs.add_permission,
        QueueUrl=url,
        Label="label",
        AWSAccountIds=[ACCOUNT],
        Actions=["ReceiveMessage"],
    )
    expected = dict(permissions["get-queue-policy-attribute-second-account-same-label"])
    expected["Error"] = {
        **expected["Error"],
        "Message": expected["Error"]["Message"].replace("crossaccountpermission", "label"),
    }
    _assert_as_recorded(error, expected)


def test_pages_and_dead_letter_sources(sqs: Any) -> None:
    urls = [sqs.create_queue(QueueName=f"page-{i}")["QueueUrl"] for i in range(3)]
    first = sqs.list_queues(QueueNamePrefix="page-", MaxResults=2)
    assert first["QueueUrls"] == urls[:2]
    rest = sqs.list_queues(QueueNamePrefix="page-", MaxResults=2, NextToken=first["NextToken"])
    assert rest["QueueUrls"] == urls[2:] and "NextToken" not in rest
    arn = sqs.get_queue_attributes(QueueUrl=urls[0], AttributeNames=["QueueArn"])["Attributes"]
    policy = json.dumps({"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": 5})
    sqs.set_queue_attributes(QueueUrl=urls[1], Attributes={"RedrivePolicy": policy})
    assert sqs.list_dead_letter_source_queues(QueueUrl=urls[0])["queueUrls"] == [urls[1]]
    # An empty list has no element in a query answer: botocore then omits the member.
    assert sqs.list_dead_letter_source_queues(QueueUrl=urls[2]).get("queueUrls", []) == []
