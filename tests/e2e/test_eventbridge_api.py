"""EventBridge's control plane through boto3 against a real server: buses, permissions,
rules, targets, tags and TestEventPattern, golden-compared with
tests/fixtures/aws-recorded/events (placeholders substituted, volatile fields dropped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, unique

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/events"
SNAPSHOTS: dict[str, Any] = {}
for name in ("test_events", "test_events_tags", "test_events_patterns", "test_events_schedule"):
    SNAPSHOTS.update(json.loads((RECORDED / f"{name}.snapshot.json").read_text()))
PATTERN = {
    "source": ["core.update-account-command"],
    "detail-type": ["core.update-account-command"],
    "detail": {"command": ["update-account"]},
}
ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def events(server: LaminaServer) -> Any:
    return server.client("events")


@pytest.fixture(scope="module")
def queue_arn(server: LaminaServer) -> str:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=unique("eb-q"))["QueueUrl"]
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def recorded(test: str, key: str) -> Any:
    for test_id, entry in SNAPSHOTS.items():
        if test_id.endswith(test):
            return entry["recorded-content"][key]
    raise KeyError(test)


def normalised(response: Any, subs: dict[str, str]) -> Any:
    """The response as the recordings show it: account 111111111111, placeholders for
    names, datetimes as "datetime", EventPattern parsed, no request metadata."""
    text = json.dumps(response, default=lambda _: "datetime")
    for value, placeholder in sorted(subs.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(value, placeholder)
    text = text.replace(ACCOUNT, "111111111111").replace(":aws:", ":<partition>:")
    text = text.replace(":us-east-1:", ":<region>:")
    out = json.loads(text)

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            node.pop("ResponseMetadata", None)
            return {
                k: json.loads(v)
                if k in ("EventPattern", "Policy") and isinstance(v, str)
                else fix(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return fix(out)


def golden(response: Any, test: str, key: str, subs: dict[str, str]) -> None:
    want = recorded(test, key)
    want = (
        {k: v for k, v in want.items() if k != "ResponseMetadata"}
        if isinstance(want, dict)
        else want
    )
    assert normalised(response, subs) == want


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return {
        "Error": {"Code": response["Error"]["Code"], "Message": response["Error"]["Message"]},
        "HTTPStatusCode": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def golden_error(call: Callable[[], Any], test: str, key: str, subs: dict[str, str]) -> None:
    got = normalised(error_of(call), subs)
    want = recorded(test, key)
    assert got["Error"] == {"Code": want["Error"]["Code"], "Message": want["Error"]["Message"]}
    assert got["HTTPStatusCode"] == want["ResponseMetadata"]["HTTPStatusCode"]


def test_bus_lifecycle(events: Any) -> None:
    bus = unique("bus")
    subs = {bus: "<bus-name>"}
    test = "test_create_list_describe_delete_custom_event_buses[True-regions0]"
    golden(
        events.create_event_bus(Name=bus, Description="test bus"),
        test,
        "create-custom-event-bus-us-east-1",
        subs,
    )
    golden(
        events.list_event_buses(NamePrefix=bus),
        test,
        "list-event-buses-after-create-us-east-1",
        subs,
    )
    golden(events.describe_event_bus(Name=bus), test, "describe-custom-event-bus-us-east-1", subs)
    golden_error(
        lambda: events.create_event_bus(Name=bus),
        "test_create_multiple_event_buses_same_name",
        "create-multiple-event-buses-same-name",
        subs,
    )
    golden(events.delete_event_bus(Name=bus), test, "delete-custom-event-bus-us-east-1", subs)
    golden(
        events.list_event_buses(NamePrefix=bus),
        test,
        "list-event-buses-after-delete-us-east-1",
        subs,
    )
    test = "test_describe_delete_not_existing_event_bus"
    golden_error(
        lambda: events.describe_event_bus(Name=bus),
        test,
        "describe-not-existing-event-bus-error",
        subs,
    )
    golden_error(
        lambda: events.delete_event_bus(Name=bus), test, "delete-not-existing-event-bus", subs
    )
    golden_error(
        lambda: events.delete_event_bus(Name="default"),
        "test_delete_default_event_bus",
        "delete-default-event-bus-error",
        subs,
    )
    assert "default" in [b["Name"] for b in events.list_event_buses()["EventBuses"]]


def test_list_event_buses_with_limit(events: Any) -> None:
    prefix = unique("lim")
    for i in range(6):
        events.create_event_bus(Name=f"{prefix}-{i}")
    first = events.list_event_buses(NamePrefix=prefix, Limit=3)
    second = events.list_event_buses(NamePrefix=prefix, Limit=3, NextToken=first["NextToken"])
    subs = {prefix: "<bus-name-prefix>", first["NextToken"]: "<next_token:1>"}
    golden(first, "test_list_event_buses_with_limit", "list-event-buses-limit", subs)
    golden(second, "test_list_event_buses_with_limit", "list-event-buses-limit-next-token", subs)
    for i in range(6):
        events.delete_event_bus(Name=f"{prefix}-{i}")


def test_permissions(events: Any) -> None:
    bus = unique("perm")
    events.create_event_bus(Name=bus)
    sids = [unique("sid") for _ in range(4)]
    subs = {
        bus: "<bus-name>",
        "<account-id>": "<account-id>",
        "222222222222": "<secondary-account-id>",
    }
    subs.update({sid: f"<sid:{i + 1}>" for i, sid in enumerate(sids)})
    for sid, principal in zip(sids[:3], [ACCOUNT, ACCOUNT, "222222222222"], strict=True):
        events.put_permission(
            EventBusName=bus, Action="events:PutEvents", Principal=principal, StatementId=sid
        )
    events.put_permission(
        EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId=sids[3]
    )
    got = normalised(events.describe_event_bus(Name=bus), subs)
    want = recorded("test_put_permission[custom]", "describe-event-bus-put-permission")
    want = json.loads(json.dumps(want).replace("<account-id>", "111111111111"))
    assert got["Policy"] == want["Policy"]
    events.remove_permission(EventBusName=bus, StatementId=sids[0])
    error = error_of(lambda: events.remove_permission(EventBusName=bus, StatementId=sids[0]))
    assert (
        error["Error"]
        == recorded(
            "test_remove_permission_non_existing_sid[True-custom]",
            "remove-permission-non-existing-sid-error",
        )["Error"]
    )
    events.remove_permission(EventBusName=bus, RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus(Name=bus)
    missing = unique("nobus")
    golden_error(
        lambda: events.put_permission(
            EventBusName=missing, Action="events:PutEvents", Principal="*", StatementId="s"
        ),
        "test_put_permission_non_existing_event_bus",
        "remove-permission-non-existing-sid-error",
        {missing: "<bus-name>"},
    )
    events.delete_event_bus(Name=bus)


@pytest.mark.parametrize("custom", [True, False])
def test_rule_lifecycle(events: Any, custom: bool) -> None:
    bus = unique("rbus") if custom else "default"
    if custom:
        events.create_event_bus(Name=bus)
    rule = unique("rule")
    subs = {rule: "<rule-name>", bus: "<bus-name>" if custom else "default"}
    kind = "custom" if custom else "default"
    test = f"test_put_list_with_prefix_describe_delete_rule[{kind}]"
    golden(
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(PATTERN)),
        test,
        "put-rule",
        subs,
    )
    golden(events.list_rules(NamePrefix=rule, EventBusName=bus), test, "list-rules", subs)
    golden(events.describe_rule(Name=rule, EventBusName=bus), test, "describe-rule", subs)
    test_state = f"test_disable_re_enable_rule[{kind}]"
    golden(events.disable_rule(Name=rule, EventBusName=bus), test_state, "disable-rule", subs)
    golden(
        events.describe_rule(Name=rule, EventBusName=bus),
        test_state,
        "describe-rule-disabled",
        subs,
    )
    golden(events.enable_rule(Name=rule, EventBusName=bus), test_state, "enable-rule", subs)
    golden(
        events.describe_rule(Name=rule, EventBusName=bus), test_state, "describe-rule-enabled", subs
    )
    golden(events.delete_rule(Name=rule, EventBusName=bus), test, "delete-rule", subs)
    golden(
        events.list_rules(NamePrefix=rule, EventBusName=bus), test, "list-rules-after-delete", subs
    )
    if custom:
        events.delete_event_bus(Name=bus)


def test_rule_errors(events: Any, queue_arn: str) -> None:
    rule = unique("rule")
    golden_error(
        lambda: events.describe_rule(Name=rule),
        "test_describe_nonexistent_rule",
        "describe-not-existing-rule-error",
        {rule: "<rule-name>"},
    )
    events.put_rule(Name=rule, EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": queue_arn}])
    golden_error(
        lambda: events.delete_rule(Name=rule),
        "test_delete_rule_with_targets",
        "delete-rule-with-targets-error",
        {},
    )
    bad = error_of(lambda: events.put_rule(Name=rule, EventPattern='{"int": 42}'))
    assert bad["Error"]["Code"] == "InvalidEventPatternException"
    assert bad["Error"]["Message"].startswith(
        'Event pattern is not valid. Reason: "int" must be an object'
    )
    assert events.describe_rule(Name=rule)["EventPattern"] == json.dumps(PATTERN)  # unchanged
    for test_id, entry in SNAPSHOTS.items():
        if "test_invalid_json_event_pattern[" in test_id:
            pattern = test_id.split("[", 1)[1][:-1]
            want = entry["recorded-content"]["invalid-pattern"]["Error"]
            put = partial(events.put_rule, Name=rule, EventPattern=pattern)
            assert error_of(put)["Error"] == want
    schedule = error_of(lambda: events.put_rule(Name=rule, ScheduleExpression="cron(INVALID)"))
    assert (
        schedule["Error"]
        == recorded("tests_put_rule_with_invalid_schedule_cron[cron(INVALID)]", "invalid-put-rule")[
            "Error"
        ]
    )
    scheduled = unique("sched")
    events.put_rule(Name=scheduled, ScheduleExpression="rate(5 minutes)", State="DISABLED")
    described = events.describe_rule(Name=scheduled)
    assert (described["ScheduleExpression"], described["State"]) == ("rate(5 minutes)", "DISABLED")
    assert "EventPattern" not in described
    events.delete_rule(Name=scheduled)
    events.remove_targets(Rule=rule, Ids=["t"])
    events.delete_rule(Name=rule)


def test_targets(events: Any, queue_arn: str) -> None:
    rule = unique("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps(PATTERN))
    subs = {queue_arn: "<queue-arn>", "target-x": "<target-id>"}
    test = "test_put_list_remove_target[default]"
    golden(
        events.put_targets(Rule=rule, Targets=[{"Id": "target-x", "Arn": queue_arn}]),
        test,
        "put-target",
        subs,
    )
    golden(events.list_targets_by_rule(Rule=rule), test, "list-targets", subs)
    assert events.list_rule_names_by_target(TargetArn=queue_arn)["RuleNames"].count(rule) == 1
    golden(events.remove_targets(Rule=rule, Ids=["target-x"]), test, "remove-target", subs)
    golden(events.list_targets_by_rule(Rule=rule), test, "list-targets-after-delete", subs)
    golden_error(
        lambda: events.put_targets(
            Rule=rule, Targets=[{"Id": f"t{i}", "Arn": queue_arn} for i in range(6)]
        ),
        "test_add_exceed_fife_targets_per_rule",
        "put-targets-client-error",
        {},
    )
    golden_error(
        lambda: events.put_targets(Rule=rule, Targets=[{"Id": "!@#$@!#$", "Arn": queue_arn}]),
        "test_put_target_id_validation",
        "put-targets-invalid-id-error",
        {},
    )
    events.put_targets(
        Rule=rule, Targets=[{"Id": f"target-x{i}", "Arn": queue_arn} for i in range(5)]
    )
    first = events.list_targets_by_rule(Rule=rule, Limit=3)
    second = events.list_targets_by_rule(Rule=rule, Limit=3, NextToken=first["NextToken"])
    test = "test_list_target_by_rule_limit"
    golden(first, test, "list-targets-limit", {**subs, first["NextToken"]: "<next_token:1>"})
    golden(second, test, "list-targets-limit-next-token", subs)
    events.put_targets(
        Rule=rule, Targets=[{"Id": "target-x0", "Arn": "target-arn", "InputPath": "$.detail"}]
    )
    assert events.list_targets_by_rule(Rule=rule)["Targets"][0] == {
        "Id": "target-x0",
        "Arn": "target-arn",
        "InputPath": "$.detail",
    }
    events.remove_targets(Rule=rule, Ids=[f"target-x{i}" for i in range(5)])
    events.delete_rule(Name=rule)


@pytest.mark.parametrize("kind", ["bus", "rule"])
def test_tags(events: Any, kind: str) -> None:
    name = unique("tagged")
    if kind == "bus":
        arn = events.create_event_bus(Name=name)["EventBusArn"]
    else:
        arn = events.put_rule(Name=name, EventPattern=json.dumps(PATTERN))["RuleArn"]
    test = f"tests_tag_untag_resource[{'event_bus' if kind == 'bus' else 'rule'}]"
    tags = [{"Key": "tag1", "Value": "value1"}, {"Key": "tag2", "Value": "value2"}]
    golden(events.tag_resource(ResourceARN=arn, Tags=tags), test, "tag_resource", {})
    golden(events.list_tags_for_resource(ResourceARN=arn), test, "list_tags_for_resource", {})
    golden(events.untag_resource(ResourceARN=arn, TagKeys=["tag2"]), test, "untag_resource", {})
    golden(
        events.list_tags_for_resource(ResourceARN=arn), test, "list_tags_for_untagged_resource", {}
    )
    if kind == "bus":
        events.delete_event_bus(Name=name)
        missing = error_of(lambda: events.list_tags_for_resource(ResourceARN=arn))
        assert missing["Error"]["Message"] == f"Event bus {name} does not exist."
    else:
        events.delete_rule(Name=name)
        missing = error_of(lambda: events.list_tags_for_resource(ResourceARN=arn))
        assert missing["Error"]["Message"] == f"Rule {name} does not exist on EventBus default."


def test_test_event_pattern(events: Any) -> None:
    event = {
        "id": "1",
        "source": "s",
        "detail-type": "d",
        "account": "1",
        "region": "r",
        "time": "2022-01-01T00:00:00Z",
        "resources": [],
        "detail": {"x": 5},
    }
    assert (
        events.test_event_pattern(
            EventPattern='{"detail": {"x": [{"numeric": [">", 1]}]}}', Event=json.dumps(event)
        )["Result"]
        is True
    )
    assert (
        events.test_event_pattern(EventPattern='{"source": ["t"]}', Event=json.dumps(event))[
            "Result"
        ]
        is False
    )
    payload = error_of(
        lambda: events.test_event_pattern(EventPattern='{"source": ["t"]}', Event='"plain"')
    )
    assert (
        payload["Error"]
        == recorded("test_plain_string_payload", "plain-string-payload-exc")["Error"]
    )


def test_rule_pages_and_re_put(events: Any, queue_arn: str) -> None:
    bus = unique("pages")
    events.create_event_bus(Name=bus)
    prefix = unique("rp")
    for i in range(6):
        events.put_rule(Name=f"{prefix}-{i}", EventBusName=bus, EventPattern=json.dumps(PATTERN))
    first = events.list_rules(NamePrefix=prefix, EventBusName=bus, Limit=3)
    second = events.list_rules(
        NamePrefix=prefix, EventBusName=bus, Limit=3, NextToken=first["NextToken"]
    )
    subs = {prefix: "<rule-name-prefix>", bus: "<bus-name>", first["NextToken"]: "<next_token:1>"}
    golden(first, "test_list_rule_with_limit", "list-rules-limit", subs)
    golden(second, "test_list_rule_with_limit", "list-rules-limit-next-token", subs)
    for i in range(5):
        events.put_targets(
            Rule=f"{prefix}-{i}", EventBusName=bus, Targets=[{"Id": "t", "Arn": queue_arn}]
        )
    pages = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"TargetArn": queue_arn, "EventBusName": bus, "Limit": 2}
        if token:
            kwargs["NextToken"] = token
        page = events.list_rule_names_by_target(**kwargs)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    subs = {prefix + "-": "<rule-prefix>", bus: "<bus-name>"}
    subs.update(
        {p["NextToken"]: f"<<next-token>:{i + 1}>" for i, p in enumerate(pages) if "NextToken" in p}
    )
    for page, key in zip(pages, ["first_page", "second_page", "third_page"], strict=True):
        golden(page, "test_list_rule_names_by_target_with_limit[custom]", key, subs)
    # Re-putting a rule keeps its targets and stays one rule.
    events.put_rule(Name=f"{prefix}-0", EventBusName=bus, EventPattern=json.dumps(PATTERN))
    assert len(events.list_targets_by_rule(Rule=f"{prefix}-0", EventBusName=bus)["Targets"]) == 1
    assert len(events.list_rules(NamePrefix=f"{prefix}-0", EventBusName=bus)["Rules"]) == 1
    # Targets with the same Id replace each other.
    events.put_targets(
        Rule=f"{prefix}-0",
        EventBusName=bus,
        Targets=[{"Id": "target-id", "Arn": "target-arn", "InputPath": "$.detail"}],
    )
    events.put_targets(
        Rule=f"{prefix}-0",
        EventBusName=bus,
        Targets=[{"Id": "target-id", "Arn": "target-arn", "InputPath": "$.notexisting"}],
    )
    listed = events.list_targets_by_rule(Rule=f"{prefix}-0", EventBusName=bus)["Targets"]
    assert (
        listed[1:]
        == recorded("test_put_multiple_targets_with_same_id_single_rule", "list-targets")["Targets"]
    )
    for i in range(6):
        targets = events.list_targets_by_rule(Rule=f"{prefix}-{i}", EventBusName=bus)["Targets"]
        if targets:
            ids = [t["Id"] for t in targets]
            events.remove_targets(Rule=f"{prefix}-{i}", EventBusName=bus, Ids=ids)
        events.delete_rule(Name=f"{prefix}-{i}", EventBusName=bus)
    events.delete_event_bus(Name=bus)


def test_bad_input_is_a_400_and_changes_nothing(server: LaminaServer) -> None:
    raw = server.client("events", parameter_validation=False)
    missing = error_of(lambda: raw.put_rule(EventPattern=json.dumps(PATTERN)))
    assert missing == {
        "Error": {
            "Code": "ValidationException",
            "Message": "1 validation error detected: Value null at 'name' failed to satisfy "
            "constraint: Member must not be null",
        },
        "HTTPStatusCode": 400,
    }
    wrong_type = error_of(lambda: raw.put_events(Entries=[{"Source": 5, "Detail": "{}"}]))
    assert wrong_type["HTTPStatusCode"] == 400
    long_name = error_of(lambda: raw.put_rule(Name="x" * 65, EventPattern=json.dumps(PATTERN)))
    assert long_name["Error"]["Message"].endswith(
        "Member must have length less than or equal to 64"
    )
    retry = error_of(
        lambda: raw.put_targets(
            Rule="none",
            Targets=[{"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": 186}}],
        )
    )
    assert retry["Error"]["Code"] == "ResourceNotFoundException"
    rule = unique("bad")
    raw.put_rule(Name=rule, EventPattern=json.dumps(PATTERN))
    retry = error_of(
        lambda: raw.put_targets(
            Rule=rule,
            Targets=[{"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": 186}}],
        )
    )
    assert retry["Error"]["Code"] == "ValidationException"
    assert raw.list_targets_by_rule(Rule=rule)["Targets"] == []
    raw.delete_rule(Name=rule)
