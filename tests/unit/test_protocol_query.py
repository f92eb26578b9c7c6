"""The query codec against a real boto3 client built from botocore's last query-protocol SQS
model (downloaded once, ``tests/support_old_models.py``): every SQS operation sent as older
SDKs send it and answered in XML through the codec, SQS's query names checked against that
model, errors as AWS recorded them ([sqs_query] in shared/aws-recorded/sqs), bad forms."""

from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from codec_loopback import CLIENT_ARGS, attach
from sqs_wire_cases import BODY, INPUTS, OUTPUTS, QUEUE_URL, recorded_sqs_error

from lamina.api.protocols import QueryCodec, parse_form
from lamina.api.protocols.errors import InvalidAction, MissingAction, MissingParameter
from lamina.api.protocols.query_protocol import CONTENT_TYPE
from lamina.api.protocols.shapes import Ref, ShapeGraph
from lamina.api.protocols.sqs_query_names import SQS_QUERY_NAMES, SQS_XML_NAMESPACE
from lamina.domain.errors import AwsError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support_old_models import old_botocore_data, old_sqs_model, query_sqs_session  # noqa: E402

SQS_MODEL = Loader().load_service_model("sqs", "service-2")
REQUEST_ID = "5d2b4f8e-0bd1-5c7e-9a3c-2f1b8d1e0a11"


class QueueDoesNotExist(AwsError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"
    status = 400
    message_key = "message"
    typed = False
    query_message = "The specified queue does not exist for this wsdl version."


class InternalError(AwsError):
    code = "InternalError"
    query_code = "InternalError"
    status = 500
    message_key = "message"
    typed = False


@pytest.fixture(scope="module")
def old_data(pytestconfig: pytest.Config) -> Path:
    return old_botocore_data(pytestconfig.cache.mkdir("old-botocore-sqs"))


@pytest.fixture(scope="module")
def codec() -> QueryCodec:
    return QueryCodec(SQS_MODEL, xml_namespace=SQS_XML_NAMESPACE, names=SQS_QUERY_NAMES)


def _query_client(data: Path, codec: QueryCodec, handler: Any) -> Any:
    client = query_sqs_session(data).create_client("sqs", **CLIENT_ARGS)
    assert client.meta.service_model.protocol == "query"

    def answer(
        headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        assert headers["content-type"].startswith("application/x-www-form-urlencoded")
        form = parse_form(body)
        try:
            operation = codec.operation(form)
            return codec.render(
                operation, handler(operation, codec.parse(operation, form)), REQUEST_ID
            )
        except AwsError as error:
            return codec.render_error(error, REQUEST_ID)

    attach(client, answer)
    return client


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _traits(ref: Ref) -> tuple[str | None, bool]:
    return ref.location_name, ref.flattened


def test_sqs_query_names_match_the_last_query_model(old_data: Path) -> None:
    old = ShapeGraph(old_sqs_model(old_data))
    new = ShapeGraph(SQS_QUERY_NAMES.apply(SQS_MODEL))
    checked = 0
    for name, definition in old_sqs_model(old_data)["shapes"].items():
        if name not in SQS_MODEL["shapes"]:
            continue  # a shape the current model no longer has (an unused "Integer")
        old_shape, new_shape = old.shape(name), new.shape(name)
        if definition["type"] == "structure":
            for member, ref in old_shape.members.items():
                assert _traits(new_shape.members[member]) == _traits(ref), (name, member)
                checked += 1
        for part in ("member", "key", "value"):
            old_ref = getattr(old_shape, part)
            if old_ref is not None:
                assert _traits(getattr(new_shape, part)) == _traits(old_ref), (name, part)
                checked += 1
    for operation in old.operations:
        assert new.result_wrapper(operation) == old.result_wrapper(operation), operation
    assert checked > 100


def test_query_names_leave_the_model_unchanged() -> None:
    before = repr(SQS_MODEL["shapes"]["CreateQueueRequest"])
    SQS_QUERY_NAMES.apply(SQS_MODEL)
    assert repr(SQS_MODEL["shapes"]["CreateQueueRequest"]) == before


@pytest.mark.parametrize("operation", sorted(SQS_MODEL["operations"]))
def test_every_sqs_operation_round_trips_through_a_query_client(
    old_data: Path, codec: QueryCodec, operation: str
) -> None:
    seen: list[dict[str, Any]] = []

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        assert op == operation
        seen.append(params)
        return OUTPUTS.get(op, {})

    client = _query_client(old_data, codec, handler)
    result = getattr(client, _snake(operation))(**INPUTS[operation])
    assert seen == [INPUTS[operation]]
    assert result["ResponseMetadata"]["RequestId"] == REQUEST_ID
    result.pop("ResponseMetadata")
    expected = dict(OUTPUTS.get(operation, {}))
    if operation == "DeleteMessageBatch":
        expected.pop("Failed")  # an empty flattened list is absent in XML, as on AWS
    assert result == expected


def test_empty_lists_from_a_query_client(old_data: Path, codec: QueryCodec) -> None:
    seen: list[dict[str, Any]] = []

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        return {}

    client = _query_client(old_data, codec, handler)
    client.untag_queue(QueueUrl=QUEUE_URL, TagKeys=[])
    client.receive_message(QueueUrl=QUEUE_URL, AttributeNames=[], MessageAttributeNames=[])
    assert seen == [
        {"QueueUrl": QUEUE_URL, "TagKeys": []},
        {"QueueUrl": QUEUE_URL, "AttributeNames": [], "MessageAttributeNames": []},
    ]


def test_carriage_returns_survive_the_xml(codec: QueryCodec) -> None:
    _, _, body = codec.render("ReceiveMessage", OUTPUTS["ReceiveMessage"], REQUEST_ID)
    assert b"&#xD;" in body
    text = ET.fromstring(body).find(f".//{{{SQS_XML_NAMESPACE}}}Body")
    assert text is not None and text.text == BODY


def test_characters_xml_cannot_carry_are_replaced(codec: QueryCodec) -> None:
    _, _, body = codec.render("GetQueueUrl", {"QueueUrl": "a\x00b\x1fc\ud800d"}, REQUEST_ID)
    url = ET.fromstring(body).find(f".//{{{SQS_XML_NAMESPACE}}}QueueUrl")
    assert url is not None and url.text == "a\ufffdb\ufffdc\ufffdd"


def test_response_envelope(codec: QueryCodec) -> None:
    status, headers, body = codec.render("DeleteQueue", {}, REQUEST_ID)
    assert status == 200 and headers == [CONTENT_TYPE]
    assert body == (
        b'<?xml version="1.0"?><DeleteQueueResponse xmlns="http://queue.amazonaws.com/doc/'
        b'2012-11-05/"><ResponseMetadata><RequestId>' + REQUEST_ID.encode() + b"</RequestId>"
        b"</ResponseMetadata></DeleteQueueResponse>"
    )
    _, _, body = codec.render("ReceiveMessage", {}, REQUEST_ID)
    assert b"<ReceiveMessageResult></ReceiveMessageResult>" in body


def test_nonexistent_queue_as_recorded(old_data: Path, codec: QueryCodec) -> None:
    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise QueueDoesNotExist("The specified queue does not exist.")

    client = _query_client(old_data, codec, handler)
    with pytest.raises(client.exceptions.QueueDoesNotExist) as caught:
        client.get_queue_url(QueueName="nope")
    error, status = recorded_sqs_error("test_non_existent_queue", "queue-does-not-exist-query")
    assert caught.value.response["Error"] == error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert caught.value.response["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_missing_parameter_as_recorded(old_data: Path, codec: QueryCodec) -> None:
    form = parse_form(urlencode({"Action": "SendMessage", "QueueUrl": QUEUE_URL}).encode())
    with pytest.raises(MissingParameter) as caught:
        codec.parse(codec.operation(form), form)
    status, headers, body = codec.render_error(caught.value, REQUEST_ID)
    error = _parse_error(old_data, status, headers, body)
    assert (error, status) == recorded_sqs_error(
        "test_send_empty_message[sqs_query]", "send_empty_message"
    )


def test_missing_member_of_a_batch_entry_is_named_by_its_query_name(codec: QueryCodec) -> None:
    form = parse_form(
        b"Action=SendMessageBatch&QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a"
        b"&SendMessageBatchRequestEntry.1.MessageBody=b&SendMessageBatchRequestEntry.2.Id=c"
    )
    with pytest.raises(MissingParameter) as caught:
        codec.parse("SendMessageBatch", form)
    assert caught.value.message == (
        "The request must contain the parameter SendMessageBatchRequestEntry.2.MessageBody."
    )


def _parse_error(data: Path, status: int, headers: Any, body: bytes) -> Any:
    from botocore.parsers import create_parser

    return create_parser("query").parse(
        {"status_code": status, "headers": dict(headers), "body": body}, None
    )["Error"]


def test_server_errors_are_receiver_faults(old_data: Path, codec: QueryCodec) -> None:
    status, headers, body = codec.render_error(InternalError("boom & <bust>"), REQUEST_ID)
    assert status == 500
    assert _parse_error(old_data, status, headers, body) == {
        "Code": "InternalError",
        "Detail": None,
        "Message": "boom & <bust>",
        "Type": "Receiver",
    }


def test_actions(codec: QueryCodec) -> None:
    assert codec.operation({"Action": ["ListQueues"], "Version": ["2012-11-05"]}) == "ListQueues"
    with pytest.raises(InvalidAction) as invalid:
        codec.operation({"Action": ["DropTable"]})
    assert invalid.value.message == "The action DropTable is not valid for this web service."
    assert invalid.value.status == 400
    with pytest.raises(MissingAction):
        codec.operation({})
    with pytest.raises(MissingAction):
        codec.operation({"Action": [""]})


def test_bad_values_are_invalid_parameter_values(old_data: Path, codec: QueryCodec) -> None:
    form = parse_form(b"Action=ReceiveMessage&QueueUrl=u&MaxNumberOfMessages=ten")
    with pytest.raises(AwsError) as caught:
        codec.parse("ReceiveMessage", form)
    status, headers, body = codec.render_error(caught.value, REQUEST_ID)
    error = _parse_error(old_data, status, headers, body)
    assert (status, error["Code"]) == (400, "InvalidParameterValue")
    assert error["Message"] == (
        "Value ten for parameter MaxNumberOfMessages is invalid. Reason: Must be an integer."
    )
    bad_blob = (
        b"Action=SendMessage&QueueUrl=u&MessageBody=b&MessageAttribute.1.Name=B"
        b"&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=%21%21"
    )
    with pytest.raises(AwsError, match="MessageAttribute.1.Value.BinaryValue"):
        codec.parse("SendMessage", parse_form(bad_blob))


def test_forms_by_hand(codec: QueryCodec) -> None:
    # Indexes out of order and with gaps; an empty list; GET query string plus body;
    # the JSON-era MessageSystemAttributeNames by its API reference name.
    form = parse_form(
        b"QueueUrl=u&MessageSystemAttributeName.1=All&AttributeName.3=B&AttributeName.1=A"
        b"&MessageAttributeName.1=",
        query_string=b"Action=ReceiveMessage&WaitTimeSeconds=20",
    )
    assert codec.parse(codec.operation(form), form) == {
        "QueueUrl": "u",
        "WaitTimeSeconds": 20,
        "MessageSystemAttributeNames": ["All"],
        "AttributeNames": ["A", "B"],
        "MessageAttributeNames": [""],
    }
    form = parse_form(b"Action=UntagQueue&QueueUrl=u&TagKeys=")
    assert codec.parse("UntagQueue", form) == {"QueueUrl": "u", "TagKeys": []}
    form = parse_form(b"Action=TagQueue&QueueUrl=u&Tag.1.Key=k&Tag.1.Value=&Tag.2.Key=x")
    assert codec.parse("TagQueue", form) == {"QueueUrl": "u", "Tags": {"k": ""}}


def test_deep_names_are_ignored_quickly(codec: QueryCodec) -> None:
    deep = "MessageAttribute." + ".".join(["1"] * 200_000)
    form = {"Action": ["SendMessage"], "QueueUrl": ["u"], "MessageBody": ["b"], deep: ["x"]}
    start = time.perf_counter()
    assert codec.parse("SendMessage", form) == {"QueueUrl": "u", "MessageBody": "b"}
    assert time.perf_counter() - start < 1.0


def test_send_message_parse_and_render_cost(codec: QueryCodec) -> None:
    form = parse_form(
        urlencode(
            {
                "Action": "SendMessage",
                "QueueUrl": QUEUE_URL,
                "MessageBody": BODY,
                "MessageAttribute.1.Name": "Kind",
                "MessageAttribute.1.Value.DataType": "String",
                "MessageAttribute.1.Value.StringValue": "created",
            }
        ).encode()
    )
    output = OUTPUTS["SendMessage"]
    rounds = 1000
    start = time.perf_counter()
    for _ in range(rounds):
        codec.parse("SendMessage", form)
        codec.render("SendMessage", output, REQUEST_ID)
    per_call_us = (time.perf_counter() - start) / rounds * 1e6
    print(f"SendMessage query parse+render: {per_call_us:.1f} us")
    assert per_call_us < 1000


def test_old_client_reads_escaped_text_and_receiver_errors(
    old_data: Path, codec: QueryCodec
) -> None:
    def listing(op: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"QueueUrls": ["a&b<c>"]}

    def failing(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise InternalError("x")

    assert _query_client(old_data, codec, listing).list_queues()["QueueUrls"] == ["a&b<c>"]
    with pytest.raises(ClientError) as caught:
        _query_client(old_data, codec, failing).list_queues()
    assert caught.value.response["Error"]["Type"] == "Receiver"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


# --- other query services: non-flattened lists and maps, timestamps -------------------------

OTHER_QUERY_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "sns",
        "Publish",
        {
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
            "Message": "hi & <bye>\r\n",
            "MessageAttributes": {
                "a": {"DataType": "String", "StringValue": "x"},
                "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        },
        {"MessageId": "m-1", "SequenceNumber": "7"},
    ),
    (
        "sns",
        "CreateTopic",
        {
            "Name": "t",
            "Attributes": {"DisplayName": "T", "FifoTopic": "false"},
            "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": ""}],
        },
        {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t"},
    ),
    (
        "sns",
        "GetTopicAttributes",
        {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t"},
        {"Attributes": {"Policy": '{"a": "<b>"}', "Owner": "000000000000"}},
    ),
    (
        "sns",
        "ListTopics",
        {"NextToken": "n"},
        {"Topics": [{"TopicArn": "a"}, {"TopicArn": "b"}], "NextToken": "m"},
    ),
    (
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "RoleSessionName": "session-1",
            "DurationSeconds": 900,
            "Tags": [{"Key": "k", "Value": "v"}],
            "TransitiveTagKeys": ["k"],
        },
        {
            "Credentials": {
                "AccessKeyId": "ASIA",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": datetime(2026, 12, 6, 23, 0, 0, 123000, tzinfo=timezone.utc),
            },
            "AssumedRoleUser": {
                "AssumedRoleId": "AROA:s",
                "Arn": "arn:aws:sts::0:assumed-role/r/s",
            },
            "PackedPolicySize": 6,
        },
    ),
]


@pytest.mark.parametrize(
    ("service", "operation", "params", "output"),
    OTHER_QUERY_CASES,
    ids=[f"{case[0]}-{case[1]}" for case in OTHER_QUERY_CASES],
)
def test_other_query_services_round_trip(
    service: str, operation: str, params: dict[str, Any], output: dict[str, Any]
) -> None:
    model = Loader().load_service_model(service, "service-2")
    service_codec = QueryCodec(model, xml_namespace=model["metadata"]["xmlNamespace"])
    client = boto3.client(service, **CLIENT_ARGS)
    seen: list[dict[str, Any]] = []

    def answer(
        headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        form = parse_form(body)
        op = service_codec.operation(form)
        seen.append(service_codec.parse(op, form))
        return service_codec.render(op, output, REQUEST_ID)

    attach(client, answer)
    result = getattr(client, _snake(operation))(**params)
    assert seen == [params]
    result.pop("ResponseMetadata")
    assert result == output
