"""PutEvents through a real server, golden-compared with the responses AWS gave
(``tests/fixtures/aws-recorded/events/test_events.snapshot.json``): a bad entry is a failure
in its own place (``ErrorCode``/``ErrorMessage``, counted in ``FailedEntryCount``) while the
request's good entries are accepted and delivered; only the request-level limits (10
entries, 256 KB) fail the whole request, and then nothing is accepted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, unique
from test_eventbridge_delivery import entry, new_queue, receive, rule_to

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/events"
SNAPSHOT = json.loads((RECORDED / "test_events.snapshot.json").read_text())
PREFIX = "tests/aws/services/events/test_events.py::TestEvents::"


def recorded(test: str, key: str = "put-events") -> dict[str, Any]:
    answer: dict[str, Any] = SNAPSHOT[PREFIX + test]["recorded-content"][key]
    return answer


def recorded_entry(test: str) -> dict[str, Any]:
    (only,) = recorded(test)["Entries"]
    return dict(only)


@pytest.fixture(scope="module")
def events(server: LaminaServer) -> Any:
    return server.client("events")


@pytest.fixture(scope="module")
def sqs(server: LaminaServer) -> Any:
    return server.client("sqs")


BAD_ENTRIES: list[tuple[str, dict[str, Any]]] = [
    ("test_put_events_without_source", {"Source": None}),
    ("test_put_event_without_detail_type", {"DetailType": None}),
    ("test_put_event_without_detail", {"Detail": None}),
    ("test_put_event_malformed_detail[STRING]", {"Detail": "plain text"}),
    ("test_put_event_malformed_detail[ARRAY]", {"Detail": '["a", "b"]'}),
    ("test_put_event_malformed_detail[MALFORMED_JSON]", {"Detail": '{"a": '}),
    ("test_put_event_malformed_detail[SERIALIZED_STRING]", {"Detail": json.dumps("text")}),
]


def test_bad_entries_fail_in_place_and_good_ones_are_delivered(events: Any, sqs: Any) -> None:
    url, queue_arn = new_queue(sqs)
    source = unique("entries")
    rule_to(events, {"Arn": queue_arn}, {"source": [source]})
    good = entry(source)
    bad = []
    for _, change in BAD_ENTRIES:
        one = {**entry(source), **change}
        bad.append({key: value for key, value in one.items() if value is not None})
    answer = events.put_events(Entries=[good, *bad[:4]])
    assert answer["FailedEntryCount"] == 4
    assert set(answer["Entries"][0]) == {"EventId"}
    assert answer["Entries"][1:] == [recorded_entry(test) for test, _ in BAD_ENTRIES[:4]]
    answer = events.put_events(Entries=[*bad[4:], good])
    assert answer["FailedEntryCount"] == 3
    assert answer["Entries"][:3] == [recorded_entry(test) for test, _ in BAD_ENTRIES[4:]]
    ids = {answer["Entries"][3]["EventId"]}
    delivered = receive(sqs, url, count=2)
    assert len(delivered) == 2  # the two good entries, nothing of the bad ones
    assert len({json.loads(m["Body"])["id"] for m in delivered} | ids) == 2


def test_request_limits_fail_the_whole_request(server: LaminaServer, events: Any, sqs: Any) -> None:
    url, queue_arn = new_queue(sqs)
    source = unique("limits")
    rule_to(events, {"Arn": queue_arn}, {"source": [source]})
    too_big = {**entry(source), "Detail": json.dumps({"blob": "x" * 262_144})}
    with pytest.raises(ClientError) as raised:
        events.put_events(Entries=[entry(source), too_big])
    expected = recorded("test_put_event_with_too_big_detail", "put-events-too-big-detail-error")
    assert raised.value.response["Error"] == {**expected["Error"], **_no_type(raised)}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    unchecked = server.client("events", parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        unchecked.put_events(Entries=[entry(source)] * 11)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].endswith(
        "at 'entries' failed to satisfy constraint: Member must have length less than or equal"
        " to 10"
    )
    assert error["Message"].startswith(
        "1 validation error detected: Value '[PutEventsRequestEntry("
    )
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def _no_type(raised: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    """Members boto3 adds beside Code and Message (none are compared)."""
    error = raised.value.response["Error"]
    return {key: value for key, value in error.items() if key not in ("Code", "Message")}
