"""The pure parts of SQS queues: names, URLs, ARNs, pages, policies, attribute rules."""

from __future__ import annotations

import json

import pytest

from lamina.domain.sqs import attributes as attrs
from lamina.domain.sqs import policy
from lamina.domain.sqs.errors import (
    InvalidAddress,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    MissingParameter,
    OverLimit,
)
from lamina.domain.sqs.names import parse_queue_arn, parse_queue_url, queue_arn, queue_url
from lamina.domain.sqs.pagination import paginate
from lamina.domain.sqs.queue import Queue

ARN = "arn:aws:sqs:us-east-1:111111111111:q"


def _queue(name: str) -> Queue:
    return Queue(0, "us-east-1", "1", name, "", "", False, {}, {}, 0.0, 0.0)


def test_urls_and_arns() -> None:
    assert queue_url("http://h:1/", "111111111111", "q") == "http://h:1/111111111111/q"
    assert parse_queue_url("https://sqs.eu-west-1.amazonaws.com/111111111111/q.fifo") == (
        "111111111111",
        "q.fifo",
    )
    for bad in ("q", "http://h:1/", "http://h:1/111111111111", "http://h/a/b/c"):
        with pytest.raises(InvalidAddress, match="is not valid for this endpoint"):
            parse_queue_url(bad)
    assert parse_queue_arn(queue_arn("eu-west-1", "111111111111", "q")) == (
        "eu-west-1",
        "111111111111",
        "q",
    )
    assert parse_queue_arn("arn:aws:sns:us-east-1:111111111111:q") is None


def test_pages_follow_names_and_tokens_are_checked() -> None:
    queues = [_queue(f"q{i:02}") for i in range(25)]
    first = paginate(queues, 10, None)
    assert [q.name for q in first.queues] == [f"q{i:02}" for i in range(10)]
    assert first.next_token is not None
    last = paginate(queues, 20, first.next_token)
    assert len(last.queues) == 15 and last.next_token is None
    assert paginate(queues, 25, None).next_token is None
    assert len(paginate([_queue(f"n{i:04}") for i in range(1500)], None, None).queues) == 1000
    with pytest.raises(InvalidParameterValue, match="Invalid NextToken value."):
        paginate(queues, 10, "%%%")
    with pytest.raises(InvalidParameterValue, match="Invalid NextToken value."):
        paginate(queues, 10, "bm90IGEgbmFtZQ==")


def test_permission_statements() -> None:
    text = policy.add_permission(None, ARN, "one", ["222222222222"], ["SendMessage", "*"])
    document = json.loads(text)
    assert document["Id"] == f"{ARN}/SQSDefaultPolicy" and document["Version"] == "2008-10-17"
    assert document["Statement"] == [
        {
            "Sid": "one",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
            "Action": ["SQS:SendMessage", "SQS:*"],
            "Resource": ARN,
        }
    ]
    with pytest.raises(InvalidParameterValue, match="Reason: Already exists."):
        policy.add_permission(text, ARN, "one", ["222222222222"], ["SendMessage"])
    with pytest.raises(InvalidParameterValue, match="Only the queue owner is allowed"):
        policy.add_permission(text, ARN, "two", ["222222222222"], ["CreateQueue"])
    with pytest.raises(MissingParameter, match="the parameter Actions."):
        policy.add_permission(text, ARN, "two", ["222222222222"], [])
    with pytest.raises(InvalidParameterValue, match=r"Value \[\] for parameter PrincipalId"):
        policy.add_permission(text, ARN, "two", [], ["SendMessage"])
    with pytest.raises(OverLimit, match="8 Actions were found, maximum allowed is 7.") as over:
        policy.add_permission(text, ARN, "two", ["222222222222"], ["SendMessage"] * 8)
    assert over.value.status == 403
    for n in range(2, 21):
        text = policy.add_permission(text, ARN, f"l{n}", ["222222222222"], ["SendMessage"])
    with pytest.raises(OverLimit):
        policy.add_permission(text, ARN, "l21", ["222222222222"], ["SendMessage"])
    text = policy.remove_permission(text, ARN, "one") or ""
    assert len(json.loads(text)["Statement"]) == 19
    only = policy.add_permission(None, ARN, "solo", ["222222222222"], ["SendMessage"])
    assert policy.remove_permission(only, ARN, "solo") is None


def test_attribute_rules() -> None:
    values, redrive = attrs.validate(
        {"VisibilityTimeout": "007", "ContentBasedDeduplication": "True", "FifoQueue": "true"},
        fifo=True,
        creating=True,
    )
    assert values == {
        "VisibilityTimeout": "7",
        "ContentBasedDeduplication": "true",
        "FifoQueue": "true",
    }
    assert redrive is None
    with pytest.raises(InvalidAttributeName, match="Unknown Attribute ContentBasedDeduplication."):
        attrs.validate({"ContentBasedDeduplication": "true"}, fifo=False, creating=True)
    with pytest.raises(InvalidAttributeValue, match="parameter DeduplicationScope."):
        attrs.validate({"DeduplicationScope": "group"}, fifo=True, creating=False)
    with pytest.raises(InvalidAttributeValue, match="Redrive policy is not a valid JSON map."):
        attrs.validate({"RedrivePolicy": "[1]"}, fifo=False, creating=False)
    unsupported = (
        "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create "
        "the redrive allow policy, as it\u2019s in an unsupported format."
    )
    for bad in (
        "badjson",
        "[]",
        "{}",
        '{"redrivePermission": "dummy"}',
        '{"redrivePermission": "allowAll", "dummy": "value"}',
        '{"redrivePermission": "byQueue", "sourceQueueArns": "arn:aws:sqs"}',
    ):
        with pytest.raises(InvalidAttributeValue) as caught:
            attrs.validate({"RedriveAllowPolicy": bad}, fifo=False, creating=False)
        assert caught.value.message == unsupported
    refused = "Amazon SQS can't create the redrive allow policy."
    cases = {
        json.dumps({"redrivePermission": "byQueue"}): "When you specify the byQueue permission "
        "type, you must also specify one or more sourceQueueArns values.",
        json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [ARN] * 11}): "The "
        "maximum number of source queue ARNs you can specify is 10.",
        json.dumps({"redrivePermission": "denyAll", "sourceQueueArns": [ARN]}): "To specify "
        "one or more source queue ARNs, you must set redrivePermission to byQueue.",
    }
    for raw, reason in cases.items():
        with pytest.raises(InvalidParameterValue) as refusal:
            attrs.validate({"RedriveAllowPolicy": raw}, fifo=False, creating=False)
        expected = f"Value {raw} for parameter RedriveAllowPolicy is invalid. Reason: {refused} "
        assert refusal.value.message == expected + reason
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [ARN]})
    values, _ = attrs.validate({"RedriveAllowPolicy": allow}, fifo=False, creating=False)
    assert values["RedriveAllowPolicy"] == allow
    statement = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": ARN}
    for policy_text in (
        json.dumps({"Version": "2012-10-17", "Statement": statement}),
        json.dumps({"Id": "x", "Version": "2008-10-17", "Statement": [statement]}, indent=2),
    ):
        values, _ = attrs.validate({"Policy": policy_text}, fifo=False, creating=False)
        assert values["Policy"] == policy_text
    for bad_policy in (
        "badjson",
        "[]",
        "null",
        json.dumps({"Dummy": 1, "Statement": [statement]}),
        json.dumps({"Version": "4532-10-17", "Statement": [statement]}),
        json.dumps({"Version": "2012-10-17", "Statement": []}),
        json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "dummy": 1}]}),
    ):
        with pytest.raises(
            InvalidAttributeValue, match=r"^Invalid value for the parameter Policy\.$"
        ):
            attrs.validate({"Policy": bad_policy}, fifo=False, creating=False)
    many = json.dumps({"Statement": [statement] * 22})
    with pytest.raises(InvalidAttributeValue) as too_many:
        attrs.validate({"Policy": many}, fifo=False, creating=False)
    assert too_many.value.message == (
        "22 statements were found in the submitted policy, max allowed is 20"
    )
    for bad_number in (" 6", "6.5", "", "\u0666"):
        with pytest.raises(InvalidAttributeValue, match="parameter DelaySeconds."):
            attrs.validate({"DelaySeconds": bad_number}, fifo=False, creating=False)
    kms = attrs.apply(attrs.STANDARD_DEFAULTS, {"KmsMasterKeyId": "k"})
    assert kms["SqsManagedSseEnabled"] == "false"
    assert "KmsMasterKeyId" not in attrs.apply(kms, {"SqsManagedSseEnabled": "true"})
    assert "KmsMasterKeyId" not in attrs.apply(kms, {"KmsMasterKeyId": ""})
