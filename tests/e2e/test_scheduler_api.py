"""EventBridge Scheduler's API driven by boto3: schedules and groups, their errors (golden
against shared/aws-recorded/scheduler, copied to tests/fixtures), tags, pagination and
durability across a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, unique

FIXTURES = Path(__file__).parent.parent / "fixtures/aws-recorded"
RECORDED = json.loads((FIXTURES / "scheduler/test_scheduler.snapshot.json").read_text())
CASES = json.loads((FIXTURES / "events/schedule_expression_cases.json").read_text())
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler-role"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:some-queue"
TARGET = {"Arn": QUEUE_ARN, "RoleArn": ROLE}
OFF = {"Mode": "OFF"}


@pytest.fixture(scope="module")
def sch(server: LaminaServer) -> Any:
    return server.client("scheduler")


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response: dict[str, Any] = raised.value.response
    return response


def recorded_error(test: str) -> dict[str, Any]:
    content = RECORDED[f"tests/aws/services/scheduler/test_scheduler.py::{test}"]
    result: dict[str, Any] = content["recorded-content"]["invalid-schedule-expression"]
    return result


@pytest.mark.parametrize("expression", CASES["scheduler_create_schedule"]["invalid"])
def test_invalid_expressions_answer_aws_recorded_error(sch: Any, expression: str) -> None:
    response = error_of(
        sch.create_schedule,
        Name=unique("bad"),
        ScheduleExpression=expression,
        FlexibleTimeWindow=OFF,
        Target=TARGET,
    )
    want = recorded_error(f"tests_create_schedule_with_invalid_schedule_expression[{expression}]")
    assert response["Error"] == want["Error"]
    assert response["Message"] == want["Message"]
    assert (
        response["ResponseMetadata"]["HTTPStatusCode"] == want["ResponseMetadata"]["HTTPStatusCode"]
    )


@pytest.mark.parametrize("expression", CASES["scheduler_create_schedule"]["valid"])
def test_valid_cron_expressions_create_schedules(sch: Any, expression: str) -> None:
    name = unique("cron")
    arn = sch.create_schedule(
        Name=name, ScheduleExpression=expression, FlexibleTimeWindow=OFF, Target=TARGET
    )["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}"
    sch.delete_schedule(Name=name)


def test_schedule_lifecycle(sch: Any) -> None:
    name = unique("life")
    sch.create_schedule(
        Name=name,
        ScheduleExpression="cron(0 9 ? * MON-FRI *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Description="weekday mornings",
        Target={
            **TARGET,
            "Input": '{"hello": "world"}',
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120},
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
        },
    )
    got = sch.get_schedule(Name=name)
    assert got["Arn"].endswith(f":schedule/default/{name}")
    assert (got["GroupName"], got["State"], got["ActionAfterCompletion"]) == (
        "default",
        "ENABLED",
        "NONE",
    )
    assert got["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert got["Target"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 3,
        "MaximumEventAgeInSeconds": 120,
    }
    assert got["Target"]["Input"] == '{"hello": "world"}'
    assert got["CreationDate"] == got["LastModificationDate"]

    sch.update_schedule(
        Name=name,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow=OFF,
        Target=TARGET,
        State="DISABLED",
    )
    updated = sch.get_schedule(Name=name)
    assert (updated["ScheduleExpression"], updated["State"]) == ("rate(1 hour)", "DISABLED")
    assert "Description" not in updated  # UpdateSchedule replaces everything
    assert updated["Target"]["RetryPolicy"] == {
        "MaximumRetryAttempts": 185,
        "MaximumEventAgeInSeconds": 86400,
    }
    assert updated["CreationDate"] == got["CreationDate"]
    assert updated["LastModificationDate"] >= got["LastModificationDate"]

    summaries = sch.list_schedules(NamePrefix=name)["Schedules"]
    assert [(s["Name"], s["State"], s["Target"]) for s in summaries] == [
        (name, "DISABLED", {"Arn": QUEUE_ARN})
    ]
    sch.delete_schedule(Name=name)
    response = error_of(sch.get_schedule, Name=name)
    assert response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": f"Schedule {name} does not exist.",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_conflicts_and_missing_resources(sch: Any) -> None:
    name = unique("dup")
    sch.create_schedule(
        Name=name, ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF, Target=TARGET
    )
    response = error_of(
        sch.create_schedule,
        Name=name,
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow=OFF,
        Target=TARGET,
    )
    assert response["Error"]["Code"] == "ConflictException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    # A retried request (same ClientToken, as SDKs resend it) answers the same ARN.
    token = unique("token")
    again = {
        "Name": unique("idem"),
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": OFF,
        "Target": TARGET,
        "ClientToken": token,
    }
    first = sch.create_schedule(**again)["ScheduleArn"]
    assert sch.create_schedule(**again)["ScheduleArn"] == first
    other_token = {**again, "ClientToken": unique("other")}
    assert error_of(sch.create_schedule, **other_token)["Error"]["Code"] == "ConflictException"
    group = {"Name": unique("idem-group"), "ClientToken": token}
    group_arn = sch.create_schedule_group(**group)["ScheduleGroupArn"]
    assert sch.create_schedule_group(**group)["ScheduleGroupArn"] == group_arn
    other_group = {**group, "ClientToken": unique("other")}
    assert error_of(sch.create_schedule_group, **other_group)["Error"]["Code"] == (
        "ConflictException"
    )
    sch.delete_schedule_group(Name=group["Name"])
    sch.delete_schedule(Name=again["Name"])
    missing = error_of(
        sch.create_schedule,
        Name=unique(),
        GroupName="no-such-group",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow=OFF,
        Target=TARGET,
    )
    assert missing["Error"]["Code"] == "ResourceNotFoundException"
    for call, kwargs in (
        (sch.delete_schedule, {"Name": unique()}),
        (
            sch.update_schedule,
            {
                "Name": unique(),
                "ScheduleExpression": "rate(1 day)",
                "FlexibleTimeWindow": OFF,
                "Target": TARGET,
            },
        ),
        (sch.get_schedule_group, {"Name": unique()}),
        (sch.delete_schedule_group, {"Name": unique()}),
    ):
        assert error_of(call, **kwargs)["Error"]["Code"] == "ResourceNotFoundException"
    sch.delete_schedule(Name=name)


def test_bad_input_gets_a_validation_error_and_changes_nothing(server: LaminaServer) -> None:
    raw = server.client("scheduler", parameter_validation=False)
    name = unique("v")
    cases: list[dict[str, Any]] = [
        {"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "SOMETIMES"}},
        {"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "FLEXIBLE"}},
        {"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": OFF, "State": "PAUSED"},
        {
            "ScheduleExpression": "rate(1 day)",
            "FlexibleTimeWindow": OFF,
            "Target": {**TARGET, "RetryPolicy": {"MaximumRetryAttempts": 500}},
        },
        {
            "ScheduleExpression": "rate(1 day)",
            "FlexibleTimeWindow": OFF,
            "Target": {"Arn": QUEUE_ARN},
        },
        {
            "ScheduleExpression": "cron(0 0 * * ? *)",
            "ScheduleExpressionTimezone": "Nowhere/City",
            "FlexibleTimeWindow": OFF,
        },
    ]
    now = time.time()
    cases += [
        {
            "ScheduleExpression": "rate(1 day)",
            "FlexibleTimeWindow": OFF,
            "Target": {**TARGET, "Input": "x" * (256 * 1024 + 1)},
        },
        {"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": OFF, "StartDate": now - 3600},
        {"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": OFF, "EndDate": now - 60},
        {
            "ScheduleExpression": "rate(1 day)",
            "FlexibleTimeWindow": OFF,
            "StartDate": now + 7200,
            "EndDate": now + 3600,
        },
    ]
    for case in cases:
        response = error_of(raw.create_schedule, Name=name, **{"Target": TARGET, **case})
        assert response["Error"]["Code"] == "ValidationException", case
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    response = error_of(
        raw.create_schedule,
        Name="bad name!",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow=OFF,
        Target=TARGET,
    )
    assert response["Error"]["Message"] == (
        "1 validation error detected: Value 'bad name!' at 'name' failed to satisfy"
        " constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+"
    )
    assert error_of(raw.get_schedule, Name=name)["Error"]["Code"] == "ResourceNotFoundException"


def test_groups_tags_and_group_deletion(sch: Any) -> None:
    group = unique("grp")
    arn = sch.create_schedule_group(Name=group, Tags=[{"Key": "TagKey", "Value": "TagValue"}])[
        "ScheduleGroupArn"
    ]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{group}"
    assert error_of(sch.create_schedule_group, Name=group)["Error"]["Code"] == "ConflictException"
    got = sch.get_schedule_group(Name=group)
    assert (got["Arn"], got["Name"], got["State"]) == (arn, group, "ACTIVE")
    assert sch.get_schedule_group(Name="default")["State"] == "ACTIVE"

    # Golden: the recorded ListTagsForResource after TagResource / UntagResource.
    tagged = sch.list_tags_for_resource(ResourceArn=arn)
    want = RECORDED["tests/aws/services/scheduler/test_scheduler.py::test_tag_resource"]
    assert tagged["Tags"] == want["recorded-content"]["list-tagged-schedule"]["Tags"]
    sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "other", "Value": "x"}])
    assert len(sch.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 2
    sch.untag_resource(ResourceArn=arn, TagKeys=["TagKey", "other"])
    untagged = sch.list_tags_for_resource(ResourceArn=arn)
    want = RECORDED["tests/aws/services/scheduler/test_scheduler.py::test_untag_resource"]
    assert untagged["Tags"] == want["recorded-content"]["list-untagged-schedule"]["Tags"]

    names = [unique("in-group") for _ in range(3)]
    for name in names:
        sch.create_schedule(
            Name=name,
            GroupName=group,
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow=OFF,
            Target=TARGET,
        )
    listed = sch.list_schedules(GroupName=group)["Schedules"]
    assert sorted(s["Name"] for s in listed) == sorted(names)
    assert {s["GroupName"] for s in listed} == {group}
    assert sch.get_schedule(Name=names[0], GroupName=group)["GroupName"] == group
    assert error_of(sch.get_schedule, Name=names[0])["Error"]["Code"] == (
        "ResourceNotFoundException"
    )  # it is not in the default group

    groups = [g["Name"] for g in sch.list_schedule_groups(NamePrefix=group)["ScheduleGroups"]]
    assert groups == [group]
    sch.delete_schedule_group(Name=group)
    assert error_of(sch.get_schedule_group, Name=group)["Error"]["Code"] == (
        "ResourceNotFoundException"
    )
    assert error_of(sch.list_schedules, GroupName=group)["Error"]["Code"] == (
        "ResourceNotFoundException"
    )
    assert error_of(sch.delete_schedule_group, Name="default")["Error"]["Code"] == (
        "ValidationException"
    )


def test_list_schedules_paginates_and_filters(sch: Any) -> None:
    prefix = unique("page")
    names = [f"{prefix}-{i:02d}" for i in range(7)]
    for i, name in enumerate(names):
        sch.create_schedule(
            Name=name,
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow=OFF,
            Target=TARGET,
            State="DISABLED" if i % 2 else "ENABLED",
        )
    seen: list[str] = []
    kwargs: dict[str, Any] = {"NamePrefix": prefix, "MaxResults": 3}
    pages = 0
    while True:
        page = sch.list_schedules(**kwargs)
        pages += 1
        seen += [s["Name"] for s in page["Schedules"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert (seen, pages) == (names, 3)
    disabled = sch.list_schedules(NamePrefix=prefix, State="DISABLED")["Schedules"]
    assert [s["Name"] for s in disabled] == names[1::2]
    paginator = sch.get_paginator("list_schedules")
    assert sum(len(p["Schedules"]) for p in paginator.paginate(NamePrefix=prefix)) == 7
    bad = error_of(sch.list_schedules, NextToken="not-a-token")
    assert bad["Error"]["Code"] == "ValidationException"
    for name in names:
        sch.delete_schedule(Name=name)


def test_schedules_and_groups_survive_a_restart(own_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "restart-data"
    first: LaminaServer = own_server(data=data)
    sch = first.client("scheduler")
    sch.create_schedule_group(Name="kept", Tags=[{"Key": "k", "Value": "v"}])
    sch.create_schedule(
        Name="kept-schedule",
        GroupName="kept",
        ScheduleExpression="cron(0 12 * * ? *)",
        FlexibleTimeWindow=OFF,
        Target=TARGET,
    )
    before = sch.get_schedule(Name="kept-schedule", GroupName="kept")
    first.stop(9)  # SIGKILL: what was acknowledged is committed
    second: LaminaServer = own_server(data=data)
    sch = second.client("scheduler")
    after = sch.get_schedule(Name="kept-schedule", GroupName="kept")
    before.pop("ResponseMetadata")
    after.pop("ResponseMetadata")
    assert after == before
    group_arn = sch.get_schedule_group(Name="kept")["Arn"]
    assert sch.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
