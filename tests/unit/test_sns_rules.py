"""SNS's validation against the errors recorded from AWS (tests/fixtures/aws-recorded/sns):
topic names and ARNs, message attributes, message structure, FIFO ids, subscription
attributes and filter policies. Each case names the recording it reproduces."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.errors import AwsError
from lamina.services.sns import subscription_attributes as sub_attrs
from lamina.services.sns.arns import check_topic_name, parse_subscription_arn, parse_topic_arn
from lamina.services.sns.message_rules import MessageRequest, check_message, wire_attributes
from lamina.services.topic_ports import TopicAttribute

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sns"


@cache
def _snapshot(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.snapshot.json").read_text())
    return data


def recorded_error(test: str, key: str, file: str = "test_sns") -> tuple[str, str, int]:
    """(code, message, HTTP status) AWS answered in recording ``test``/``key``."""
    found = [v for k, v in _snapshot(file).items() if k.endswith("::" + test)]
    assert len(found) == 1, test
    entry = found[0]["recorded-content"][key]
    return (
        entry["Error"]["Code"],
        entry["Error"]["Message"],
        entry["ResponseMetadata"]["HTTPStatusCode"],
    )


def message(
    text: str = "hello",
    *,
    subject: str | None = None,
    structure: str | None = None,
    attributes: dict[str, TopicAttribute] | None = None,
    group: str | None = None,
    dedup: str | None = None,
) -> MessageRequest:
    return MessageRequest(text, subject, structure, attributes or {}, group, dedup)


def standard(request: MessageRequest) -> None:
    check_message(request, fifo=False, content_dedup=False)


def fifo(request: MessageRequest) -> None:
    check_message(request, fifo=True, content_dedup=False)


CASES: list[tuple[str, str, Callable[[], object]]] = [
    # topics
    (
        "test_create_topic_with_attributes",
        "get-attrs-malformed-topic",
        lambda: parse_topic_arn("test"),
    ),
    ("test_publish_wrong_arn_format", "invalid-topic-arn-1", lambda: parse_topic_arn("a:b")),
    ("test_publish_wrong_arn_format", "empty-topic", lambda: parse_topic_arn("")),
    (
        "test_subscribe_with_invalid_topic",
        "invalid-subscribe-arn-2",
        lambda: parse_topic_arn("arn:aws:sns:us-east-1:1"),
    ),
    ("test_create_topic_name_constraints", "name-too-short", lambda: check_topic_name("", False)),
    (
        "test_create_topic_name_constraints",
        "name-too-long",
        lambda: check_topic_name("a" * 257, False),
    ),
    (
        "test_create_topic_name_constraints",
        "name-contains-fifo",
        lambda: check_topic_name("a.fifo", False),
    ),
    (
        "test_create_topic_name_constraints",
        "fifo-name-not-contains-fifo",
        lambda: check_topic_name("a", True),
    ),
    (
        "test_create_topic_name_constraints",
        "name-invalid-char-0",
        lambda: check_topic_name("a b", False),
    ),
    # subscriptions
    (
        "test_unsubscribe_wrong_arn_format",
        "invalid-unsubscribe-arn-1",
        lambda: parse_subscription_arn("randomstring"),
    ),
    (
        "test_unsubscribe_wrong_arn_format",
        "invalid-unsubscribe-arn-2",
        lambda: parse_subscription_arn("arn:aws:sns:us-east-1:1"),
    ),
    (
        "test_unsubscribe_wrong_arn_format",
        "invalid-unsubscribe-arn-3",
        lambda: parse_subscription_arn("arn:aws:sns:us-east-1:111111111111:topic:no-uuid"),
    ),
    (
        "test_unsubscribe_wrong_arn_format",
        "invalid-unsubscribe-arn-4",
        lambda: parse_subscription_arn(""),
    ),
    (
        "test_validate_set_sub_attributes",
        "fake-attribute",
        lambda: sub_attrs.checked({}, {"Fake": "x"}, prefix=""),
    ),
    (
        "test_validate_set_sub_attributes",
        "raw-message-wrong-value",
        lambda: sub_attrs.checked({}, {"RawMessageDelivery": "test-ValUe"}, prefix=""),
    ),
    (
        "test_validate_set_sub_attributes",
        "raw-message-empty-value",
        lambda: sub_attrs.checked({}, {"RawMessageDelivery": ""}, prefix=""),
    ),
    (
        "test_validate_set_sub_attributes",
        "fake-arn-redrive-policy",
        lambda: sub_attrs.checked(
            {}, {"RedrivePolicy": json.dumps({"deadLetterTargetArn": "fake-arn"})}, prefix=""
        ),
    ),
    (
        "test_validate_set_sub_attributes",
        "invalid-json-redrive-policy",
        lambda: sub_attrs.checked({}, {"RedrivePolicy": "{invalidjson}"}, prefix=""),
    ),
    (
        "test_validate_set_sub_attributes",
        "invalid-json-filter-policy",
        lambda: sub_attrs.checked({}, {"FilterPolicy": "{invalidjson}"}, prefix=""),
    ),
    (
        "test_create_subscriptions_with_attributes",
        "subscribe-wrong-attr",
        lambda: sub_attrs.checked(
            {}, {"RawMessageDelivery": "wrongvalue"}, prefix=sub_attrs.SUBSCRIBE_PREFIX
        ),
    ),
    (
        "test_subscribe_invalid_filter_policy",
        "subscribe-invalid-filter-policy",
        lambda: sub_attrs.checked(
            {}, {"FilterPolicy": "invalid"}, prefix=sub_attrs.SUBSCRIBE_PREFIX
        ),
    ),
    (
        "test_validations_for_fifo",
        "regular-queue-for-dlq-of-fifo-topic",
        lambda: sub_attrs.checked(
            {},
            {
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:111111111111:dlq"}
                )
            },
            prefix="",
            fifo_topic_and_queue=True,
        ),
    ),
    # messages
    ("test_empty_sns_message", "empty-msg-error", lambda: standard(message(""))),
    ("test_publish_too_long_message", "error", lambda: standard(message("a" * (256 * 1024 + 1)))),
    (
        "test_publish_with_empty_subject",
        "response-with-empty-subject",
        lambda: standard(message(subject="")),
    ),
    (
        "test_message_structure_json_exc",
        "missing-default-key",
        lambda: standard(message('{"sqs": "x"}', structure="json")),
    ),
    (
        "test_message_structure_json_exc",
        "invalid-json",
        lambda: standard(message("{not json", structure="json")),
    ),
    (
        "test_message_structure_json_exc",
        "key-is-not-string",
        lambda: standard(message('{"default": 1}', structure="json")),
    ),
    ("test_validations_for_fifo", "no-msg-group-id", lambda: fifo(message(dedup="d"))),
    ("test_validations_for_fifo", "no-dedup-policy", lambda: fifo(message(group="g"))),
    (
        "test_validations_for_fifo",
        "no-msg-dedup-regular-topic",
        lambda: standard(message(dedup="d")),
    ),
    # message attributes
    (
        "test_empty_or_wrong_message_attributes",
        "missing_string_attr",
        lambda: wire_attributes({"attr1": {"DataType": "String", "StringValue": ""}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "fully_missing_string_attr",
        lambda: wire_attributes({"attr1": {"DataType": "String"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "missing_binary_attr",
        lambda: wire_attributes({"attr1": {"DataType": "Binary", "BinaryValue": b""}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "str_attr_binary_value",
        lambda: wire_attributes({"attr1": {"DataType": "String", "BinaryValue": b"x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "int_attr_binary_value",
        lambda: wire_attributes({"attr1": {"DataType": "Number", "BinaryValue": b"x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "binary_attr_string_value",
        lambda: wire_attributes({"attr1": {"DataType": "Binary", "StringValue": "x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "invalid_attr_string_value",
        lambda: wire_attributes({"attr1": {"DataType": "Strin", "StringValue": "x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "too_long_name",
        lambda: wire_attributes({"a" * 256: {"DataType": "String", "StringValue": "x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "invalid_name",
        lambda: wire_attributes({"a^b": {"DataType": "String", "StringValue": "x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "invalid_name_2",
        lambda: wire_attributes({".ab": {"DataType": "String", "StringValue": "x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "invalid_name_3",
        lambda: wire_attributes({"ab.": {"DataType": "String", "StringValue": "x"}}),
    ),
    (
        "test_empty_or_wrong_message_attributes",
        "invalid_name_4",
        lambda: wire_attributes({"a..b": {"DataType": "String", "StringValue": "x"}}),
    ),
]


@pytest.mark.parametrize(("test", "key", "call"), CASES, ids=[f"{t}/{k}" for t, k, _ in CASES])
def test_error_matches_the_recording(test: str, key: str, call: Callable[[], object]) -> None:
    code, text, status = recorded_error(test, key)
    with pytest.raises(AwsError) as raised:
        call()
    assert (raised.value.query_code or raised.value.code, raised.value.message) == (code, text)
    assert raised.value.status == status


def test_attribute_type_prefixes_accept_custom_suffixes() -> None:
    accepted = wire_attributes(
        {
            "a": {"DataType": "String.custom", "StringValue": "x"},
            "b": {"DataType": "Number.float", "StringValue": "1.5"},
            "c": {"DataType": "Binary.gz", "BinaryValue": b"\x02\x03\x04"},
        }
    )
    assert accepted["c"] == TopicAttribute("Binary.gz", "AgME")  # base64, as AWS renders it
    assert accepted["b"].value == "1.5"


def test_duplicate_json_keys_and_extra_protocols_are_accepted() -> None:
    standard(message('{"default": "a", "default": "b", "sqs": "s"}', structure="json"))


_SOURCE = re.compile(r'\[Source: \(String\)"(.*)"; line: \d+, column: \d+\]$', re.DOTALL)


def _filter_policy_cases() -> list[tuple[str, str, str]]:
    """Every recorded filter-policy error whose message quotes the policy (its JSON source
    location): (key, policy, expected message)."""
    cases = []
    for test, entry in _snapshot("test_sns_filter_policy").items():
        for key, value in entry["recorded-content"].items():
            if not isinstance(value, dict) or "Error" not in value:
                continue
            text = value["Error"]["Message"]
            found = _SOURCE.search(text)
            if found and "Attributes Reason: FilterPolicy: " in text:
                cases.append((f"{test.split('::')[-1]}/{key}", found.group(1), text))
    return cases


FILTER_CASES = _filter_policy_cases()


def test_the_filter_policy_table_is_not_empty() -> None:
    assert len(FILTER_CASES) >= 20


@pytest.mark.parametrize(
    ("policy", "expected"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES]
)
def test_subscribe_filter_policy_errors_match_the_recording(policy: str, expected: str) -> None:
    with pytest.raises(AwsError) as raised:
        sub_attrs.checked({}, {"FilterPolicy": policy}, prefix=sub_attrs.SUBSCRIBE_PREFIX)
    assert raised.value.message == expected


def test_nested_policy_needs_body_scope() -> None:
    code, text, _ = recorded_error(
        "test_sub_filter_policy_nested_property",
        "sub-filter-policy-nested-error",
        file="test_sns_filter_policy",
    )
    nested = json.dumps({"object": {"key": [{"prefix": "auto-"}]}})
    with pytest.raises(AwsError) as raised:
        sub_attrs.checked({}, {"FilterPolicy": nested}, prefix="")
    assert raised.value.message == text
    body = sub_attrs.checked(
        {}, {"FilterPolicyScope": "MessageBody", "FilterPolicy": nested}, prefix=""
    )
    assert body["FilterPolicyScope"] == "MessageBody"


def test_filter_policy_scope_value_is_checked() -> None:
    _, text, _ = recorded_error(
        "test_set_subscription_filter_policy_scope",
        "sub-attrs-filter-scope-error",
        file="test_sns_filter_policy",
    )
    with pytest.raises(AwsError) as raised:
        sub_attrs.checked({}, {"FilterPolicyScope": "RandomValue"}, prefix="")
    assert raised.value.message == text


def test_empty_values_remove_policies_and_booleans_are_lower_case() -> None:
    current = sub_attrs.checked(
        {}, {"FilterPolicy": '{"a": ["b"]}', "RawMessageDelivery": "TRUE"}, prefix=""
    )
    assert current == {
        "FilterPolicy": '{"a": ["b"]}',
        "FilterPolicyScope": "MessageAttributes",
        "RawMessageDelivery": "true",
    }
    cleared = sub_attrs.checked(current, {"FilterPolicy": ""}, prefix="")
    assert "FilterPolicy" not in cleared
