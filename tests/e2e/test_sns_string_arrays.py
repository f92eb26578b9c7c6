"""``String.Array`` message attributes through a real server: a valid array is matched
element by element by attribute-scope filter policies and reaches the subscriber as its
type and text; an invalid one is published (as on AWS) but every attribute-scope filter
policy filters the message out, while subscriptions without one still get it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import LaminaServer, unique
from test_sns_deliveries import make_queue, receive


@pytest.fixture(scope="module")
def sns(server: LaminaServer) -> Any:
    return server.client("sns")


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


def array(value: str) -> dict[str, Any]:
    return {"colors": {"DataType": "String.Array", "StringValue": value}}


def test_string_arrays_filter_and_invalid_ones_are_filtered_out(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=unique("arrays"))["TopicArn"]
    filtered_url, filtered_arn = make_queue(sqs)
    everything_url, everything_arn = make_queue(sqs)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=filtered_arn,
        Attributes={
            "FilterPolicy": json.dumps({"colors": ["red", {"numeric": ["=", 7]}]}),
            "RawMessageDelivery": "true",
        },
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=everything_arn)
    published = [
        ("has red", '["blue", "red"]'),
        ("has seven", '["blue", 7, true, null]'),
        ("no match", '["blue"]'),
        ("not json", "red"),
        ("not an array", '"red"'),
        ("nested", '[["red"]]'),
    ]
    for message, value in published:
        sns.publish(TopicArn=topic, Message=message, MessageAttributes=array(value))
    got = receive(sqs, filtered_url, 2)
    assert sorted(m["Body"] for m in got) == ["has red", "has seven"]
    assert receive(sqs, filtered_url, 1, timeout=1.5) == []  # the invalid ones: filtered
    envelopes = [json.loads(m["Body"]) for m in receive(sqs, everything_url, len(published))]
    assert sorted(e["Message"] for e in envelopes) == sorted(m for m, _ in published)
    by_message = {e["Message"]: e["MessageAttributes"]["colors"] for e in envelopes}
    assert by_message["not json"] == {"Type": "String.Array", "Value": "red"}
    assert by_message["has red"] == {"Type": "String.Array", "Value": '["blue", "red"]'}
