"""What a target receives, through a real server: a constant ``Input`` instead of the
event, the value at an ``InputPath`` (a whole object, a string, a number), and nothing when
the path selects nothing (as AWS: no delivery)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import LaminaServer, unique
from test_eventbridge_delivery import entry, new_queue, receive, rule_to


@pytest.fixture(scope="module")
def events(server: LaminaServer) -> Any:
    return server.client("events")


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ({"Input": '{"constant": [1, 2]}'}, {"constant": [1, 2]}),
        ({"InputPath": "$.detail.payload"}, {"acc_id": "0a787ecb-4015", "sf_id": "baz"}),
        ({"InputPath": "$.detail.payload.sf_id"}, "baz"),
        ({"InputPath": "$.detail.count"}, 3),
        ({"InputPath": "$"}, None),  # the whole event
    ],
)
def test_input_and_input_path(events: Any, sqs: Any, target: dict[str, str], body: Any) -> None:
    url, arn = new_queue(sqs)
    source = unique("inputs")
    rule_to(events, {"Arn": arn, **target}, {"source": [source]})
    detail = {"payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}, "count": 3}
    event_id = events.put_events(Entries=[entry(source, Detail=json.dumps(detail))])["Entries"][0][
        "EventId"
    ]
    (message,) = receive(sqs, url)
    got = json.loads(message["Body"])
    if body is None:
        assert got["id"] == event_id and got["detail"] == detail
    else:
        assert got == body


def test_an_input_path_that_selects_nothing_delivers_nothing(events: Any, sqs: Any) -> None:
    url, arn = new_queue(sqs)
    source = unique("nothing")
    rule_to(events, {"Arn": arn, "InputPath": "$.detail.missing"}, {"source": [source]})
    rule_to(events, {"Arn": arn, "Input": '"marker"'}, {"source": [source]})
    events.put_events(Entries=[entry(source)])
    (message,) = receive(sqs, url)
    assert message["Body"] == '"marker"'
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
