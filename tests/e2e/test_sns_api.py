"""SNS's API end to end with boto3: topics, subscriptions, attributes, tags, Publish and
PublishBatch answers, and AWS's exact errors (golden-compared with
tests/fixtures/aws-recorded/sns)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, LaminaServer, unique

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sns"


@cache
def recorded(test: str, key: str) -> Any:
    data = json.loads((RECORDED / "test_sns.snapshot.json").read_text())
    [entry] = [v for k, v in data.items() if k.endswith("::" + test)]
    return entry["recorded-content"][key]


def as_recorded(value: Any, names: dict[str, str]) -> Any:
    """A Lamina answer in the recordings' terms: account 111111111111, ``<partition>``,
    ``<region>``, and the test's names as their placeholders."""
    text = json.dumps(value).replace(ACCOUNT, "111111111111")
    text = text.replace("arn:aws:", "arn:<partition>:").replace(":us-east-1:", ":<region>:")
    for real, placeholder in names.items():
        text = text.replace(real, placeholder)
    return json.loads(text)


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return {
        "Error": {k: response["Error"][k] for k in ("Code", "Message", "Type")},
        "ResponseMetadata": {
            "HTTPHeaders": {},
            "HTTPStatusCode": response["ResponseMetadata"]["HTTPStatusCode"],
        },
    }


@pytest.fixture(scope="module")
def sns(server: LaminaServer) -> Any:
    return server.client("sns")


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


JSON_ATTRIBUTES = ("Policy", "EffectiveDeliveryPolicy", "DeliveryPolicy", "FilterPolicy")


def parsed_attributes(attributes: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        out[key] = json.loads(value) if key in JSON_ATTRIBUTES else value
    return out


def test_topic_attributes_match_aws(sns: Any) -> None:
    name = unique("topic")
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"
    got = parsed_attributes(sns.get_topic_attributes(TopicArn=arn)["Attributes"])
    assert (
        as_recorded(got, {name: "<resource:1>"})
        == recorded("test_create_topic_test_arn", "get-topic-attrs")["Attributes"]
    )
    fifo = unique("fifo") + ".fifo"
    fifo_arn = sns.create_topic(
        Name=fifo,
        Attributes={"FifoTopic": "true", "DisplayName": "TestTopic", "SignatureVersion": "2"},
    )["TopicArn"]
    got = parsed_attributes(sns.get_topic_attributes(TopicArn=fifo_arn)["Attributes"])
    assert (
        as_recorded(got, {fifo: "<resource:1>"})
        == recorded("test_create_topic_with_attributes", "get-topic-attrs")["Attributes"]
    )


def test_topic_errors_match_aws(sns: Any) -> None:
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:{unique('missing')}"
    assert error_of(lambda: sns.get_topic_attributes(TopicArn=missing)) == recorded(
        "test_create_topic_with_attributes", "get-attrs-nonexistent-topic"
    )
    assert error_of(lambda: sns.get_topic_attributes(TopicArn="test")) == recorded(
        "test_create_topic_with_attributes", "get-attrs-malformed-topic"
    )
    assert error_of(lambda: sns.create_topic(Name="bad name")) == recorded(
        "test_create_topic_name_constraints", "name-invalid-char-0"
    )
    assert error_of(lambda: sns.publish(TopicArn=missing, Message="m")) == recorded(
        "test_unknown_topic_publish", "error"
    )
    name = unique("dup")
    sns.create_topic(Name=name, Attributes={"DisplayName": "Value1"})
    assert sns.create_topic(Name=name)["TopicArn"].endswith(name)
    assert error_of(
        lambda: sns.create_topic(Name=name, Attributes={"DisplayName": "Value2"})
    ) == recorded("test_create_topic_different_attrs", "create-topic-diff-attrs")
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert error_of(
        lambda: sns.set_topic_attributes(
            TopicArn=arn, AttributeName="FifoTopic", AttributeValue="false"
        )
    ) == recorded("test_topic_get_attributes_with_fifo_false", "set-fifo-false-after-creation")
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # idempotent, as AWS
    assert (
        error_of(lambda: sns.get_topic_attributes(TopicArn=arn))["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 404
    )


def test_delivery_policy_crud_matches_aws(sns: Any) -> None:
    name = unique("dp")
    arn = sns.create_topic(Name=name)["TopicArn"]
    policy = {
        "http": {
            "defaultHealthyRetryPolicy": {
                "minDelayTarget": 5,
                "maxDelayTarget": 6,
                "numRetries": 1,
            },
            "disableSubscriptionOverrides": False,
        }
    }
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy)
    )
    got = parsed_attributes(sns.get_topic_attributes(TopicArn=arn)["Attributes"])
    expected = recorded("test_topic_delivery_policy_crud", "get-topic-attrs-after-update")[
        "Attributes"
    ]
    assert got["DeliveryPolicy"] == expected["DeliveryPolicy"]
    assert got["EffectiveDeliveryPolicy"] == expected["EffectiveDeliveryPolicy"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue="")
    assert "DeliveryPolicy" not in sns.get_topic_attributes(TopicArn=arn)["Attributes"]


def test_list_topics_pages(sns: Any) -> None:
    made = {sns.create_topic(Name=unique("page"))["TopicArn"] for _ in range(3)}
    seen: list[str] = []
    kwargs: dict[str, str] = {}
    while True:
        page = sns.list_topics(**kwargs)
        seen.extend(t["TopicArn"] for t in page["Topics"])
        if "NextToken" not in page:
            break
        kwargs = {"NextToken": page["NextToken"]}
    assert made <= set(seen) and len(seen) == len(set(seen))


def test_tags(sns: Any) -> None:
    arn = sns.create_topic(
        Name=unique("tags"), Tags=[{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}]
    )["TopicArn"]
    assert (
        sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
        == recorded("test_tags", "list-created-tags")["Tags"]
    )
    sns.untag_resource(ResourceArn=arn, TagKeys=["k1"])
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k2", "Value": "v2b"}])
    assert (
        sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
        == recorded("test_tags", "list-after-update-tags")["Tags"]
    )
    duplicated = [{"Key": "k", "Value": "a"}, {"Key": "k", "Value": "b"}]
    assert error_of(lambda: sns.tag_resource(ResourceArn=arn, Tags=duplicated)) == recorded(
        "test_tags", "duplicate-key-error"
    )


def test_subscription_crud_and_errors(sns: Any, sqs: Any) -> None:
    topic = unique("subs")
    arn = sns.create_topic(Name=topic)["TopicArn"]
    queue = unique("q")
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"
    sub = sns.subscribe(
        TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )["SubscriptionArn"]
    sub_id = sub.rsplit(":", 1)[1]
    got = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    expected = recorded("test_create_subscriptions_with_attributes", "get-attrs")["Attributes"]
    got_recorded = as_recorded(
        got, {topic: "<resource:4>", sub_id: "<resource:1>", queue: "<resource:2>"}
    )
    assert {k: v for k, v in got_recorded.items() if k != "SubscriptionPrincipal"} == {
        k: v for k, v in expected.items() if k != "SubscriptionPrincipal"
    }
    # Subscribe is idempotent; different attributes are refused.
    assert sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"] == sub
    assert error_of(
        lambda: sns.subscribe(
            TopicArn=arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "false"},
        )
    ) == recorded("test_subscribe_idempotency", "subscribe-diff-attributes")
    assert error_of(
        lambda: sns.subscribe(TopicArn=arn, Protocol="test-protocol", Endpoint="x")
    ) == recorded("test_subscribe_with_invalid_protocol", "exception")
    assert error_of(
        lambda: sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="http://queue-url")
    ) == recorded("test_subscribe_sqs_queue_url", "subscribe-sqs-via-url-error")
    fifo_queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{unique('q')}.fifo"
    assert error_of(
        lambda: sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=fifo_queue)
    ) == recorded("test_validations_for_fifo", "not-fifo-topic")
    for key, name, value in [
        ("fake-attribute", "FakeAttribute", "v"),
        ("raw-message-wrong-value", "RawMessageDelivery", "test-ValUe"),
        (
            "fake-arn-redrive-policy",
            "RedrivePolicy",
            json.dumps({"deadLetterTargetArn": "fake-arn"}),
        ),
        ("invalid-json-filter-policy", "FilterPolicy", "{invalidjson}"),
    ]:
        setting = partial(
            sns.set_subscription_attributes,
            SubscriptionArn=sub,
            AttributeName=name,
            AttributeValue=value,
        )
        assert error_of(setting) == recorded("test_validate_set_sub_attributes", key), key
    policy = {"attr1": [{"numeric": [">", 0, "<=", 100]}]}
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy)
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert (
        json.loads(attributes["FilterPolicy"]) == policy
        and attributes["FilterPolicyScope"] == "MessageAttributes"
    )
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert listed == [
        {
            "SubscriptionArn": sub,
            "Owner": ACCOUNT,
            "Protocol": "sqs",
            "Endpoint": queue_arn,
            "TopicArn": arn,
        }
    ]
    assert any(s["SubscriptionArn"] == sub for s in sns.list_subscriptions()["Subscriptions"])
    counts = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (counts["SubscriptionsConfirmed"], counts["SubscriptionsPending"]) == ("1", "0")
    sns.unsubscribe(SubscriptionArn=sub)
    sns.unsubscribe(SubscriptionArn=sub)  # idempotent
    assert error_of(lambda: sns.get_subscription_attributes(SubscriptionArn=sub)) == recorded(
        "test_create_subscriptions_with_attributes", "get-attrs-nonexistent-sub"
    )
    assert error_of(lambda: sns.unsubscribe(SubscriptionArn="randomstring")) == recorded(
        "test_unsubscribe_wrong_arn_format", "invalid-unsubscribe-arn-1"
    )
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsDeleted"] == "1"


def test_email_and_sms_subscriptions(sns: Any) -> None:
    arn = sns.create_topic(Name=unique("mail"))["TopicArn"]
    assert (
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="someone@example.com")[
            "SubscriptionArn"
        ]
        == "pending confirmation"
    )
    pending = sns.subscribe(
        TopicArn=arn, Protocol="email", Endpoint="other@example.com", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    assert (
        sns.get_subscription_attributes(SubscriptionArn=pending)["Attributes"][
            "PendingConfirmation"
        ]
        == "true"
    )
    sms = sns.subscribe(TopicArn=arn, Protocol="sms", Endpoint="+123123123")["SubscriptionArn"]
    assert (
        sns.get_subscription_attributes(SubscriptionArn=sms)["Attributes"]["PendingConfirmation"]
        == "false"
    )
    listed = {
        s["Endpoint"]: s["SubscriptionArn"]
        for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    }
    assert listed["someone@example.com"] == "PendingConfirmation" and listed["+123123123"] == sms


def test_publish_answers_and_errors(sns: Any) -> None:
    arn = sns.create_topic(Name=unique("pub"))["TopicArn"]
    assert sns.publish(TopicArn=arn, Message="m")["MessageId"]
    assert sns.publish(TargetArn=arn, Message="m")["MessageId"]
    assert error_of(lambda: sns.publish(TopicArn=arn, Message="")) == recorded(
        "test_empty_sns_message", "empty-msg-error"
    )
    assert error_of(lambda: sns.publish(TopicArn=arn, Message="m", Subject="")) == recorded(
        "test_publish_with_empty_subject", "response-with-empty-subject"
    )
    assert error_of(lambda: sns.publish(TopicArn=arn, Message="a" * (256 * 1024 + 1))) == recorded(
        "test_publish_too_long_message", "error"
    )
    assert error_of(
        lambda: sns.publish(TopicArn=arn, Message='{"x": "y"}', MessageStructure="json")
    ) == recorded("test_message_structure_json_exc", "missing-default-key")
    assert error_of(lambda: sns.publish(TopicArn="test", Message="m")) == recorded(
        "test_publish_wrong_arn_format", "invalid-topic-arn"
    )
    other_region = arn.replace("us-east-1", "eu-west-1")
    assert error_of(lambda: sns.publish(TopicArn=other_region, Message="m")) == recorded(
        "test_topic_publish_another_region", "error"
    )
    bad = {"attr1": {"DataType": "String", "StringValue": ""}}
    assert error_of(
        lambda: sns.publish(TopicArn=arn, Message="m", MessageAttributes=bad)
    ) == recorded("test_empty_or_wrong_message_attributes", "missing_string_attr")


def test_missing_data_type_is_a_validation_error(server: LaminaServer) -> None:
    raw = server.client("sns", parameter_validation=False)
    arn = raw.create_topic(Name=unique("val"))["TopicArn"]
    attrs = {"attr1": {"StringValue": "v"}}
    assert error_of(
        lambda: raw.publish(TopicArn=arn, Message="m", MessageAttributes=attrs)
    ) == recorded("test_empty_or_wrong_message_attributes", "fully_missing_data_type")
    entries = [{"Id": "1", "Message": "m", "MessageAttributes": attrs}]
    assert error_of(
        lambda: raw.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
    ) == recorded("test_empty_or_wrong_message_attributes", "batch-fully_missing_data_type")


def test_publish_batch(sns: Any) -> None:
    arn = sns.create_topic(Name=unique("batch"))["TopicArn"]
    answer = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[{"Id": str(n), "Message": f"m{n}"} for n in range(5)],
    )
    assert [e["Id"] for e in answer["Successful"]] == [str(n) for n in range(5)] and answer[
        "Failed"
    ] == []
    too_many = [{"Id": str(n), "Message": "m"} for n in range(11)]
    assert error_of(
        lambda: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=too_many)
    ) == recorded("test_publish_batch_exceptions", "too-many-msg")
    same = [{"Id": "1", "Message": "m"}, {"Id": "1", "Message": "m"}]
    assert error_of(
        lambda: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=same)
    ) == recorded("test_publish_batch_exceptions", "same-msg-id")
    dotted = [{"Id": "message.id", "Message": "m"}]
    assert error_of(
        lambda: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=dotted)
    ) == recorded("test_publish_batch_invalid_entry_id", "invalid-char-dot")
    long_ones = [{"Id": str(n), "Message": "a" * 30_000} for n in range(10)]
    assert error_of(
        lambda: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=long_ones)
    ) == recorded("test_publish_batch_too_long_message", "error-no-attrs")
    missing = arn + "-missing"
    assert error_of(
        lambda: sns.publish_batch(
            TopicArn=missing, PublishBatchRequestEntries=[{"Id": "1", "Message": "m"}]
        )
    ) == recorded("test_publish_batch_messages_without_topic", "publish-batch-no-topic")
    fifo = sns.create_topic(Name=unique("bf") + ".fifo", Attributes={"FifoTopic": "true"})[
        "TopicArn"
    ]
    assert error_of(
        lambda: sns.publish_batch(
            TopicArn=fifo, PublishBatchRequestEntries=[{"Id": "1", "Message": "m"}]
        )
    ) == recorded("test_publish_batch_exceptions", "no-group-id")
    answer = sns.publish_batch(
        TopicArn=fifo,
        PublishBatchRequestEntries=[
            {"Id": "1", "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d"}
        ],
    )
    assert answer["Successful"][0]["SequenceNumber"].isdigit()


def test_permissions(sns: Any) -> None:
    name = unique("perm")
    arn = sns.create_topic(Name=name)["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="test", AWSAccountId=[ACCOUNT], ActionName=["Publish"])
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    expected = recorded("test_topic_add_permission", "topic-policy-after-permission")
    assert as_recorded(policy, {name: "<resource:1>", ":root": ":<resource:2>"}) == expected
    assert error_of(
        lambda: sns.add_permission(
            TopicArn=arn, Label="test", AWSAccountId=[ACCOUNT], ActionName=["Publish"]
        )
    ) == recorded("test_add_permission_errors", "duplicate-label")
    assert error_of(
        lambda: sns.add_permission(
            TopicArn=arn, Label="other", AWSAccountId=[ACCOUNT], ActionName=["sqs:SendMessage"]
        )
    ) == recorded("test_add_permission_errors", "invalid-action")
    sns.remove_permission(TopicArn=arn, Label="test")
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert as_recorded(policy, {name: "<resource:1>"}) == recorded(
        "test_topic_remove_permission", "topic-policy"
    )
    missing = arn + "-missing"
    assert error_of(lambda: sns.remove_permission(TopicArn=missing, Label="test")) == recorded(
        "test_remove_permission_errors", "topic-not-found"
    )


def test_sms_numbers_are_checked(sns: Any) -> None:
    arn = sns.create_topic(Name=unique("sms"))["TopicArn"]
    assert error_of(
        lambda: sns.subscribe(TopicArn=arn, Protocol="sms", Endpoint="NAA+15551234567")
    ) == recorded("test_subscribe_invalid_sms", "subscribe-bad-sms-NAA+15551234567")
    assert error_of(lambda: sns.publish(PhoneNumber="+1a234", Message="m")) == recorded(
        "test_publish_wrong_phone_format", "invalid-number"
    )
    assert sns.publish(PhoneNumber="+15551234567", Message="not sent")["MessageId"]


# What each recorded subscription was given (AWS answers the policy rewritten: every member,
# null when not given, and the healthyRetryPolicy completed).
GIVEN_DELIVERY_POLICY = {
    "False": {
        "healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 0},
        "throttlePolicy": {"maxReceivesPerSecond": 1000},
    },
    "True": {"requestPolicy": {"headerContentType": "text/csv"}},
}


@pytest.mark.parametrize("raw", ["False", "True"])
def test_http_subscription_attributes_match_aws(sns: Any, raw: str) -> None:
    expected = recorded(f"test_subscribe_external_http_endpoint_content_type[{raw}]", "sub-attrs")
    topic_policy = {
        "http": {
            "disableSubscriptionOverrides": False,
            "defaultRequestPolicy": {"headerContentType": "application/json"},
        }
    }
    arn = sns.create_topic(
        Name=unique("httpattrs"), Attributes={"DeliveryPolicy": json.dumps(topic_policy)}
    )["TopicArn"]
    sub = sns.subscribe(
        TopicArn=arn,
        Protocol="http",
        Endpoint="http://127.0.0.1:1/sns-endpoint",  # nobody listens: it stays pending
        Attributes={"DeliveryPolicy": json.dumps(GIVEN_DELIVERY_POLICY[raw])},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    got = parsed_attributes(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"])
    want = expected["Attributes"]
    for key in (
        "ConfirmationWasAuthenticated",
        "PendingConfirmation",
        "Protocol",
        "DeliveryPolicy",
    ):
        assert got[key] == want[key], key
    assert got["EffectiveDeliveryPolicy"] == want["EffectiveDeliveryPolicy"]
    sns.set_subscription_attributes(
        SubscriptionArn=sub,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(GIVEN_DELIVERY_POLICY[raw]),
    )
    got = parsed_attributes(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"])
    assert got["DeliveryPolicy"] == want["DeliveryPolicy"]


def test_data_protection_policy(sns: Any) -> None:
    arn = sns.create_topic(Name=unique("dpp"))["TopicArn"]
    before = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    policy = recorded("test_data_protection_policy_crud", "get-data-protection-policy")[
        "DataProtectionPolicy"
    ]
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=json.dumps(policy))
    got = sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"]
    assert json.loads(got) == policy
    # As on AWS, GetTopicAttributes does not show it.
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"].keys() == before.keys()
