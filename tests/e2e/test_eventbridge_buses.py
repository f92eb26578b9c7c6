"""UpdateEventBus through a real server: a new description on a custom bus or on
``default`` (which always exists), shown by DescribeEventBus; an unknown bus is AWS's
``ResourceNotFoundException``."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, unique


@pytest.fixture(scope="module")
def events(server: LaminaServer) -> Any:
    return server.client("events")


def test_update_event_bus_description(server: LaminaServer, events: Any) -> None:
    name = unique("upd")
    arn = events.create_event_bus(Name=name, Description="first")["EventBusArn"]
    before = events.describe_event_bus(Name=name)
    answer = events.update_event_bus(Name=name, Description="second")
    assert (answer["Arn"], answer["Name"], answer["Description"]) == (arn, name, "second")
    after = events.describe_event_bus(Name=name)
    assert after["Description"] == "second"
    assert after["CreationTime"] == before["CreationTime"]
    assert after["LastModifiedTime"] >= before["LastModifiedTime"]
    unchanged = events.update_event_bus(Name=name)  # no description given: kept
    assert unchanged["Description"] == "second"
    # The default bus of a region no other test uses (its description stays).
    elsewhere = server.client("events", region="ca-central-1")
    default = elsewhere.update_event_bus(Description="the default bus")
    assert default["Name"] == "default"
    assert elsewhere.describe_event_bus()["Description"] == "the default bus"
    events.delete_event_bus(Name=name)


def test_update_of_an_unknown_bus(events: Any) -> None:
    name = unique("ghost")
    with pytest.raises(ClientError) as raised:
        events.update_event_bus(Name=name, Description="x")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["Error"]["Message"] == f"Event bus {name} does not exist."
