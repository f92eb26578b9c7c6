"""EventBridge archives and replays through boto3 against a real server, golden-compared with
tests/fixtures/aws-recorded/events/test_archive_and_replay: archive CRUD and errors, events
archived as the bus accepts them, and a replay re-delivering them with ``replay-name``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, unique

RECORDED = json.loads(
    (
        Path(__file__).parents[1]
        / "fixtures/aws-recorded/events/test_archive_and_replay.snapshot.json"
    ).read_text()
)
PATTERN = {
    "source": ["core.update-account-command"],
    "detail-type": ["core.update-account-command"],
    "detail": {"command": ["update-account"]},
}
DETAIL = {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}}
ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def events(server: LaminaServer) -> Any:
    return server.client("events")


def recorded(test: str, key: str) -> Any:
    for test_id, entry in RECORDED.items():
        if test_id.endswith(test):
            value = entry["recorded-content"][key]
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "ResponseMetadata"}
            return value
    raise KeyError(test)


def normalised(response: Any, subs: dict[str, str]) -> Any:
    text = json.dumps(response, default=lambda _: "datetime")
    for value, placeholder in sorted(subs.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(value, placeholder)
    text = text.replace(ACCOUNT, "111111111111").replace(":aws:", ":<partition>:")
    text = text.replace(":us-east-1:", ":<region>:")
    out = json.loads(text)
    if isinstance(out, dict):
        out.pop("ResponseMetadata", None)
        if isinstance(out.get("EventPattern"), str):
            out["EventPattern"] = json.loads(out["EventPattern"])
    return out


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return {"Code": error["Code"], "Message": error["Message"]}


def recorded_error(test: str, key: str, subs: dict[str, str]) -> dict[str, Any]:
    error = dict(recorded(test, key)["Error"])
    for value, placeholder in subs.items():
        error["Message"] = error["Message"].replace(placeholder, value)
    return error


def test_archive_lifecycle_and_errors(events: Any) -> None:
    bus = unique("abus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    name = unique("arch")
    subs = {name: "<archive-name>", bus: "<event-bus-name>"}
    test = "test_create_list_describe_update_delete_archive[custom]"
    created = events.create_archive(
        ArchiveName=name,
        EventSourceArn=bus_arn,
        Description="description of the archive",
        EventPattern=json.dumps(PATTERN),
        RetentionDays=1,
    )
    assert normalised(created, subs) == recorded(test, "create-archive")
    assert normalised(events.list_archives(NamePrefix=name), subs) == recorded(
        test, "list-archives"
    )
    assert normalised(events.describe_archive(ArchiveName=name), subs) == recorded(
        test, "describe-archive"
    )
    updated = events.update_archive(ArchiveName=name, Description="changed")
    assert normalised(updated, subs) == recorded(test, "update-archive")
    assert events.describe_archive(ArchiveName=name)["Description"] == "changed"
    assert error_of(lambda: events.update_archive(ArchiveName=name)) == recorded_error(
        "test_update_archive_error_unknown_archive", "update-archive-unknown-archive-error", subs
    )
    assert error_of(
        lambda: events.create_archive(ArchiveName=name, EventSourceArn=bus_arn)
    ) == recorded_error(
        "test_create_archive_error_duplicate[custom]", "create-archive-duplicate-error", subs
    )
    listed = events.list_archives(EventSourceArn=bus_arn)
    assert normalised(listed, subs)["Archives"][0]["ArchiveName"] == "<archive-name>"
    assert normalised(events.delete_archive(ArchiveName=name), subs) == recorded(
        test, "delete-archive"
    )
    assert error_of(lambda: events.describe_archive(ArchiveName=name)) == recorded_error(
        "test_describe_archive_error_unknown_archive",
        "describe-archive-unknown-archive-error",
        subs,
    )
    assert error_of(lambda: events.delete_archive(ArchiveName=name)) == recorded_error(
        "test_delete_archive_error_unknown_archive", "delete-archive-unknown-archive-error", subs
    )
    missing = bus_arn + "-missing"
    assert error_of(
        lambda: events.create_archive(ArchiveName=name, EventSourceArn=missing)
    ) == recorded_error(
        "test_create_archive_error_unknown_event_bus",
        "create-archive-unknown-event-bus-error",
        {bus + "-missing": "<event-bus-name>"},
    )
    events.delete_event_bus(Name=bus)


def _receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10
        ).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert len(got) >= count
    return got


def test_archive_then_replay(server: LaminaServer, events: Any) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=unique("replayq"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = unique("rbus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive = unique("arch")
    archive_arn = events.create_archive(
        ArchiveName=archive, EventSourceArn=bus_arn, EventPattern=json.dumps(PATTERN)
    )["ArchiveArn"]
    rule = unique("rule")
    rule_arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(PATTERN))[
        "RuleArn"
    ]
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    start = datetime.now(UTC) - timedelta(seconds=5)
    entry = {
        "Source": "core.update-account-command",
        "DetailType": "core.update-account-command",
        "Detail": json.dumps(DETAIL),
        "EventBusName": bus,
    }
    ids = [e["EventId"] for e in events.put_events(Entries=[entry] * 3)["Entries"]]
    events.put_events(Entries=[{**entry, "Source": "other"}])  # not archived: no match
    originals = _receive(sqs, url, 3)
    assert {e["id"] for e in originals} == set(ids)
    described = events.describe_archive(ArchiveName=archive)
    assert described["EventCount"] == 3 and described["SizeBytes"] > 0
    end = datetime.now(UTC) + timedelta(seconds=1)
    replay = unique("replay")
    started = events.start_replay(
        ReplayName=replay,
        Description="description of the replay",
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
    )
    subs = {replay: "<replay-name>", archive: "<archive-name>", bus: "<event-bus-name>"}
    test = "test_start_list_describe_canceled_replay[custom]"
    assert normalised(started, subs) == recorded(test, "start-replay")
    replayed = _receive(sqs, url, 3)
    assert {e["id"] for e in replayed} == set(ids)
    want = recorded(test, "replay-messages")[0]["Body"]
    assert list(replayed[0]) == list(want)
    assert replayed[0]["replay-name"] == replay

    def completed() -> dict[str, Any] | None:
        current: dict[str, Any] = events.describe_replay(ReplayName=replay)
        return current if current["State"] == "COMPLETED" else None

    deadline = time.monotonic() + 10
    while (done := completed()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done is not None
    subs[rule] = "<rule-name>"
    want_described = recorded(test, "describe-replay")
    got = normalised(done, subs)
    assert got == {**want_described, "ReplayName": "<replay-name>"}
    listed = normalised(events.list_replays(NamePrefix=replay), subs)
    assert listed == {
        "Replays": [{**recorded(test, "list-replays")["Replays"][0], "ReplayName": "<replay-name>"}]
    }
    # Errors as recorded.
    assert error_of(
        lambda: events.start_replay(
            ReplayName=replay,
            EventSourceArn=archive_arn,
            EventStartTime=start,
            EventEndTime=end,
            Destination={"Arn": bus_arn},
        )
    ) == recorded_error(
        "test_start_replay_error_duplicate_name_same_archive", "start-replay-duplicate-error", subs
    )
    assert error_of(
        lambda: events.start_replay(
            ReplayName=unique("r"),
            EventSourceArn=archive_arn,
            EventStartTime=end,
            EventEndTime=start,
            Destination={"Arn": bus_arn},
        )
    ) == recorded_error(
        "test_start_replay_error_invalid_end_time[0]", "start-replay-invalid-end-time-error", {}
    )
    assert error_of(
        lambda: events.start_replay(
            ReplayName=unique("r"),
            EventSourceArn=archive_arn + "x",
            EventStartTime=start,
            EventEndTime=end,
            Destination={"Arn": bus_arn},
        )
    ) == recorded_error(
        "test_start_replay_error_unknown_archive",
        "start-replay-unknown-archive-error",
        {archive + "x": "<archive-name>"},
    )
    other_arn = events.describe_event_bus()["Arn"]
    assert (
        error_of(
            lambda: events.start_replay(
                ReplayName=unique("r"),
                EventSourceArn=archive_arn,
                EventStartTime=start,
                EventEndTime=end,
                Destination={"Arn": other_arn},
            )
        )
        == recorded(
            "test_start_replay_error_unknown_event_bus", "start-replay-wrong-event-bus-error"
        )["Error"]
    )
    assert error_of(lambda: events.describe_replay(ReplayName=replay + "x")) == recorded_error(
        "test_describe_replay_error_unknown_replay",
        "describe-replay-unknown-replay-error",
        {replay + "x": "<replay-name>"},
    )
    assert error_of(lambda: events.cancel_replay(ReplayName=replay))["Code"] == (
        "IllegalStatusException"
    )
