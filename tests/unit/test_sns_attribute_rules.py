"""``String.Array`` attribute values as AWS reads them (a JSON array of scalars, else the
message is filtered out by attribute-scope policies) and a subscription's DeliveryPolicy as
AWS rewrites it (the recorded GetSubscriptionAttributes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lamina.services.sns.filtering import ATTRIBUTES_SCOPE, matches, string_array
from lamina.services.sns.subscription_attributes import checked, normalised_delivery_policy
from lamina.services.topic_ports import TopicAttribute

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/sns/test_sns.snapshot.json"
CONTENT_TYPE_TEST = (
    "tests/aws/services/sns/test_sns.py::TestSNSSubscriptionHttp::"
    "test_subscribe_external_http_endpoint_content_type"
)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ('["a", "b"]', ["a", "b"]),
        ('[1, 2.5, true, false, null, "x"]', [1, 2.5, True, False, None, "x"]),
        ("[]", []),
        ("a", None),
        ('"a"', None),
        ('{"a": 1}', None),
        ('[["a"]]', None),
        ('[{"a": 1}]', None),
        ("[1,", None),
    ],
)
def test_string_array_values(text: str, values: list[Any] | None) -> None:
    assert string_array(text) == values


def test_an_invalid_string_array_fails_every_attribute_policy() -> None:
    policy = json.dumps({"other": ["x"]})
    valid = {"other": TopicAttribute("String", "x"), "list": TopicAttribute("String.Array", "[1]")}
    invalid = {**valid, "list": TopicAttribute("String.Array", "not json")}
    assert matches(policy, ATTRIBUTES_SCOPE, "m", valid)
    assert not matches(policy, ATTRIBUTES_SCOPE, "m", invalid)
    assert matches(None, None, "m", invalid)  # no policy: delivered


@pytest.mark.parametrize(
    ("raw", "given"),
    [
        (
            "False",
            {
                "healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 0},
                "throttlePolicy": {"maxReceivesPerSecond": 1000},
            },
        ),
        ("True", {"requestPolicy": {"headerContentType": "text/csv"}}),
    ],
)
def test_delivery_policy_is_rewritten_as_aws_does(raw: str, given: dict[str, Any]) -> None:
    snapshot = json.loads(RECORDED.read_text())
    content = snapshot[f"{CONTENT_TYPE_TEST}[{raw}]"]["recorded-content"]
    expected = content["sub-attrs"]["Attributes"]["DeliveryPolicy"]
    stored = normalised_delivery_policy(json.dumps(given))
    assert json.loads(stored) == expected
    assert list(json.loads(stored)) == list(expected)  # AWS's member order
    attributes = checked({}, {"DeliveryPolicy": json.dumps(given)}, prefix="")
    assert json.loads(attributes["DeliveryPolicy"]) == expected
