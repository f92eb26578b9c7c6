"""EventSourceMappingService: AWS's fields, defaults, errors and state machine; persistence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aws_recorded import assert_matches, recorded
from event_source_fakes import ACCOUNT, REGION, FakeInvoker, FakeQueueSource, queue_arn

from lamina.api.event_source_api import event_source_handlers, settings_from
from lamina.domain.context import RequestContext
from lamina.domain.errors import LambdaError
from lamina.services.event_sources.mappings import EventSourceMappingService
from lamina.store.event_source_mappings import SqliteEventSourceMappingStore

T = TypeVar("T")
FILE = "test_lambda_integration_sqs"
CTX = RequestContext("req-1", ACCOUNT, REGION)
DELAY = 0.02


class World:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.queues = FakeQueueSource()
        self.invoker = FakeInvoker("fn")
        self.queue = self.queues.create("source")
        self.store = SqliteEventSourceMappingStore(path / "lamina.sqlite3")
        self.service = EventSourceMappingService(
            self.store, self.queues, self.invoker, transition_delay=DELAY, long_poll=0.2
        )
        self.handlers = event_source_handlers(self.service)

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.handlers[operation](CTX, params)

    async def error(self, operation: str, **params: Any) -> LambdaError:
        with pytest.raises(LambdaError) as caught:
            await self.call(operation, **params)
        return caught.value

    async def settle(self) -> None:
        await asyncio.sleep(DELAY * 4)


def run(path: Path, scenario: Callable[[World], Awaitable[T]]) -> T:
    async def main() -> T:
        world = World(path)
        await world.service.start()
        try:
            return await scenario(world)
        finally:
            await world.service.stop()
            world.store.close()

    return asyncio.run(main())


def _comparable(response: dict[str, Any]) -> dict[str, Any]:
    """Drop the values AWS's recordings replace by placeholders."""
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    for key in ("UUID", "EventSourceArn", "EventSourceMappingArn", "FunctionArn", "LastModified"):
        out.pop(key, None)
    if "FilterCriteria" in out:
        # The recordings show each Pattern parsed (their snapshot tool parses JSON strings).
        out["FilterCriteria"] = {
            "Filters": [
                {
                    "Pattern": json.loads(f["Pattern"])
                    if isinstance(f["Pattern"], str)
                    else f["Pattern"]
                }
                for f in out["FilterCriteria"]["Filters"]
            ]
        }
    return out


def test_create_defaults_match_the_recording(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue
        )
        want = recorded(
            "test_event_source_mapping_default_batch_size", "create-event-source-mapping", file=FILE
        )
        assert _comparable(created) == _comparable(want)
        assert created["EventSourceMappingArn"] == (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{created['UUID']}"
        )
        assert created["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
        assert isinstance(created["LastModified"], float)
        await w.settle()
        got = await w.call("GetEventSourceMapping", UUID=created["UUID"])
        assert got["State"] == "Enabled"
        assert w.service.poller(created["UUID"]) is not None

    run(tmp_path, scenario)


def test_create_with_settings_matches_the_recording(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            BatchSize=20,
            MaximumBatchingWindowInSeconds=1,
            ScalingConfig={"MaximumConcurrency": 2},
        )
        want = recorded(
            "test_sqs_event_source_mapping_batching_reserved_concurrency",
            "create-event-source-mapping-response",
            file=FILE,
        )
        assert _comparable(created) == _comparable(want)
        filtered = await w.call(
            "CreateEventSourceMapping",
            FunctionName="fn:$LATEST",
            EventSourceArn=w.queue,
            MaximumBatchingWindowInSeconds=1,
            FilterCriteria={"Filters": [{"Pattern": '{"body": {"my-key": ["my-value"]}}'}]},
        )
        want = recorded(
            "test_sqs_event_filter[single]", "create_event_source_mapping_response", file=FILE
        )
        assert _comparable(filtered) == _comparable(want)
        assert filtered["FunctionArn"].endswith(":function:fn:$LATEST")

    run(tmp_path, scenario)


def test_created_disabled_answers_disabled_then_update_enables(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            Enabled=False,
            BatchSize=1,
        )
        assert created["State"] == "Disabled"
        assert w.service.poller(created["UUID"]) is None
        enabling = await w.call("UpdateEventSourceMapping", UUID=created["UUID"], Enabled=True)
        assert enabling["State"] == "Enabling"
        busy = await w.error("UpdateEventSourceMapping", UUID=created["UUID"], BatchSize=2)
        assert busy.code == "ResourceInUseException" and busy.status == 400
        await w.settle()
        assert (await w.call("GetEventSourceMapping", UUID=created["UUID"]))["State"] == "Enabled"
        assert w.service.poller(created["UUID"]) is not None
        disabling = await w.call("UpdateEventSourceMapping", UUID=created["UUID"], Enabled=False)
        assert disabling["State"] == "Disabling"
        await w.settle()
        assert (await w.call("GetEventSourceMapping", UUID=created["UUID"]))["State"] == "Disabled"
        assert w.service.poller(created["UUID"]) is None

    run(tmp_path, scenario)


def test_update_answers_updating_and_keeps_unset_values(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            MaximumBatchingWindowInSeconds=1,
            FilterCriteria={"Filters": [{"Pattern": '{"body": {"a": ["b"]}}'}]},
            ScalingConfig={"MaximumConcurrency": 5},
        )
        await w.settle()
        updated = await w.call(
            "UpdateEventSourceMapping", UUID=created["UUID"], BatchSize=50, FunctionName="fn:7"
        )
        assert updated["State"] == "Updating"
        assert updated["BatchSize"] == 50 and updated["MaximumBatchingWindowInSeconds"] == 1
        assert updated["FilterCriteria"] == created["FilterCriteria"]
        assert updated["FunctionArn"].endswith(":function:fn:7")
        await w.settle()
        cleared = await w.call(
            "UpdateEventSourceMapping", UUID=created["UUID"], FilterCriteria={}, ScalingConfig={}
        )
        assert "FilterCriteria" not in cleared and "ScalingConfig" not in cleared

    run(tmp_path, scenario)


def test_delete_answers_deleting_then_the_mapping_is_gone(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue
        )
        early = await w.error("DeleteEventSourceMapping", UUID=created["UUID"])
        assert early.code == "ResourceInUseException"
        await w.settle()
        deleting = await w.call("DeleteEventSourceMapping", UUID=created["UUID"])
        assert deleting["State"] == "Deleting"
        assert w.service.poller(created["UUID"]) is None
        await w.settle()
        gone = await w.error("GetEventSourceMapping", UUID=created["UUID"])
        assert_matches(gone, recorded("test_event_source_mapping_exceptions", "get_unknown_uuid"))

    run(tmp_path, scenario)


def test_recorded_errors(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        unknown = "6b0a6d3e-1c3e-4c3f-9e35-5bfb0a7e0a5b"
        for op, key in (
            ("GetEventSourceMapping", "get_unknown_uuid"),
            ("DeleteEventSourceMapping", "delete_unknown_uuid"),
            ("UpdateEventSourceMapping", "update_unknown_uuid"),
        ):
            extra = {"Enabled": False} if op.startswith("Update") else {}
            exc = await w.error(op, UUID=unknown, **extra)
            assert_matches(exc, recorded("test_event_source_mapping_exceptions", key))
        exc = await w.error("CreateEventSourceMapping", FunctionName="doesnotexist")
        assert_matches(
            exc, recorded("test_event_source_mapping_exceptions", "create_no_event_source_arn")
        )
        exc = await w.error(
            "CreateEventSourceMapping",
            FunctionName="doesnotexist",
            EventSourceArn="arn:aws:sqs:us-east-1:111111111111:somequeue",
        )
        assert_matches(
            exc, recorded("test_event_source_mapping_exceptions", "create_unknown_params")
        )
        exc = await w.error(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=queue_arn("nope")
        )
        assert_matches(exc, recorded("test_esm_with_not_existing_sqs_queue", "error", file=FILE))
        exc = await w.error(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue, BatchSize=11
        )
        assert_matches(
            exc,
            recorded(
                "test_event_source_mapping_default_batch_size",
                "invalid-create-event-source-mapping",
                file=FILE,
            ),
        )
        exc = await w.error(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            DestinationConfig={"OnFailure": {"Destination": queue_arn("dlq")}},
        )
        assert_matches(
            exc, recorded("test_event_source_mapping_exceptions", "destination_config_failure")
        )
        assert (await w.call("ListEventSourceMappings"))["EventSourceMappings"] == []

    run(tmp_path, scenario)


def test_update_batch_size_needs_a_window(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue
        )
        await w.settle()
        exc = await w.error(
            "UpdateEventSourceMapping", UUID=created["UUID"], BatchSize=11, FunctionName="fn"
        )
        assert_matches(
            exc,
            recorded(
                "test_event_source_mapping_default_batch_size",
                "invalid-update-event-source-mapping",
                file=FILE,
            ),
        )
        got = await w.call("GetEventSourceMapping", UUID=created["UUID"])
        assert got["BatchSize"] == 10 and got["State"] == "Enabled"

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    "pattern",
    ["null", "simple string", '{"eventSource": "aws:sqs"}', '{"eventSource": []}'],
    ids=["None", "simple string", "invalid_filter2", "invalid_filter3"],
)
def test_invalid_filters_as_recorded(tmp_path: Path, pattern: str) -> None:
    async def scenario(w: World) -> None:
        exc = await w.error(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            MaximumBatchingWindowInSeconds=1,
            FilterCriteria={"Filters": [{"Pattern": pattern}]},
        )
        test_id = {"null": "None", "simple string": "simple string"}.get(
            pattern, "invalid_filter2" if "aws:sqs" in pattern else "invalid_filter3"
        )
        assert_matches(
            exc,
            recorded(
                f"test_sqs_invalid_event_filter[{test_id}]",
                "create_event_source_mapping_exception",
                file=FILE,
            ),
        )
        assert (await w.call("ListEventSourceMappings"))["EventSourceMappings"] == []

    run(tmp_path, scenario)


def test_duplicate_mapping_conflicts_as_recorded(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        first = await w.call("CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue)
        exc = await w.error("CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue)
        assert_matches(
            exc,
            recorded("test_duplicate_event_source_mappings", "error", file=FILE),
            {
                "<resource:1>": "source",
                "<resource:2>": "fn",
                "<uuid:1>": first["UUID"],
                "111111111111": ACCOUNT,
            },
        )

    run(tmp_path, scenario)


def test_model_constraints_are_validation_errors(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        exc = await w.error(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            BatchSize=0,
            ScalingConfig={"MaximumConcurrency": 1},
        )
        assert exc.code == "ValidationException"
        assert exc.message == (
            "2 validation errors detected: Value '0' at 'batchSize' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1; Value '1' at "
            "'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have "
            "value greater than or equal to 2"
        )
        exc = await w.error(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            FunctionResponseTypes=["Nope"],
        )
        assert exc.code == "ValidationException"
        exc = await w.error(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn="not-an-arn"
        )
        assert exc.code == "ValidationException" and "eventSourceArn" in exc.message
        exc = await w.error(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            FilterCriteria={"Filters": [{"Pattern": '{"body": ["x"]}'}] * 6},
        )
        assert exc.code == "InvalidParameterValueException"

    run(tmp_path, scenario)


def test_list_filters_and_pages(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        other = w.queues.create("other")
        made = []
        for name, queue in (("fn", w.queue), ("fn:1", w.queue), ("fn", other)):
            made.append(
                (await w.call("CreateEventSourceMapping", FunctionName=name, EventSourceArn=queue))[
                    "UUID"
                ]
            )
        everything = await w.call("ListEventSourceMappings")
        assert sorted(m["UUID"] for m in everything["EventSourceMappings"]) == sorted(made)
        by_source = await w.call("ListEventSourceMappings", EventSourceArn=other)
        assert [m["UUID"] for m in by_source["EventSourceMappings"]] == [made[2]]
        by_version = await w.call("ListEventSourceMappings", FunctionName="fn:1")
        assert [m["UUID"] for m in by_version["EventSourceMappings"]] == [made[1]]
        by_function = await w.call(
            "ListEventSourceMappings", FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
        )
        assert len(by_function["EventSourceMappings"]) == 3
        seen: list[str] = []
        marker = None
        while True:
            params: dict[str, Any] = {"MaxItems": 2}
            if marker:
                params["Marker"] = marker
            page = await w.call("ListEventSourceMappings", **params)
            seen += [m["UUID"] for m in page["EventSourceMappings"]]
            marker = page.get("NextMarker")
            if not marker:
                break
        assert sorted(seen) == sorted(made) and len(seen) == 3
        other_region = RequestContext("r", ACCOUNT, "eu-west-1")
        assert (await w.handlers["ListEventSourceMappings"](other_region, {}))[
            "EventSourceMappings"
        ] == []

    run(tmp_path, scenario)


def test_mappings_survive_a_restart_and_transitions_settle(tmp_path: Path) -> None:
    async def first(w: World) -> list[str]:
        enabled = await w.call(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue
        )
        await w.settle()
        disabled = await w.call(
            "CreateEventSourceMapping", FunctionName="fn:1", EventSourceArn=w.queue, Enabled=False
        )
        other = w.queues.create("other")
        creating = await w.call("CreateEventSourceMapping", FunctionName="fn", EventSourceArn=other)
        deleting = await w.call("DeleteEventSourceMapping", UUID=enabled["UUID"])
        assert deleting["State"] == "Deleting"
        w.service.transition_delay = 60.0  # the server stops before anything settles
        return [enabled["UUID"], disabled["UUID"], creating["UUID"]]

    async def second(w: World, uuids: list[str]) -> None:
        w.queues.create("other")
        listed = {
            m["UUID"]: m for m in (await w.call("ListEventSourceMappings"))["EventSourceMappings"]
        }
        assert set(listed) == set(uuids[1:])
        assert listed[uuids[1]]["State"] == "Disabled"
        assert listed[uuids[2]]["State"] == "Enabled"
        assert w.service.poller(uuids[2]) is not None
        assert w.service.poller(uuids[1]) is None

    uuids = run(tmp_path, first)
    run(tmp_path, lambda w: second(w, uuids))


def test_settings_from_params() -> None:
    settings = settings_from(
        {
            "Enabled": False,
            "BatchSize": 3,
            "FilterCriteria": {"Filters": [{"Pattern": "{}"}, {}]},
            "ScalingConfig": {},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {}},
            "ParallelizationFactor": 2,
        }
    )
    assert settings.enabled is False and settings.batch_size == 3
    assert settings.filter_patterns == ("{}", "") and settings.filters_given
    assert settings.scaling_given and settings.maximum_concurrency is None
    assert settings.function_response_types == ("ReportBatchItemFailures",)
    assert settings.stream_only == ("ParallelizationFactor",)


def test_deleting_the_function_stops_consumption_until_it_returns(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        created = await w.call(
            "CreateEventSourceMapping", FunctionName="fn", EventSourceArn=w.queue
        )
        await w.settle()
        before = w.service.poller(created["UUID"])
        w.invoker.exists = False
        w.service.function_deleted("fn", REGION, ACCOUNT)
        await asyncio.sleep(0.05)
        after = w.service.poller(created["UUID"])
        assert after is not None and after is not before
        w.queues.send(w.queue, "while gone")
        await asyncio.sleep(0.3)
        assert w.queues.queues[w.queue].messages[0].receive_count == 0
        got = await w.call("GetEventSourceMapping", UUID=created["UUID"])
        assert got["State"] == "Enabled"  # AWS keeps the mapping (recorded)
        w.invoker.exists = True
        deadline = asyncio.get_running_loop().time() + 3
        while w.queues.queues[w.queue].messages:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        assert [r["body"] for r in w.invoker.events[-1]["Records"]] == ["while gone"]

    run(tmp_path, scenario)


def test_tags_of_mappings_as_recorded(tmp_path: Path) -> None:
    from lamina.api.event_source_api import with_mapping_tags

    calls: list[str] = []

    async def function_tags(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        calls.append(params["Resource"])
        return {"Tags": {"fn": "tag"}}

    async def scenario(w: World) -> None:
        handlers = with_mapping_tags(
            w.service,
            {
                "TagResource": function_tags,
                "UntagResource": function_tags,
                "ListTags": function_tags,
            },
        )
        created = await w.call(
            "CreateEventSourceMapping",
            FunctionName="fn",
            EventSourceArn=w.queue,
            Tags={"testtag": "v"},
        )
        arn = created["EventSourceMappingArn"]
        assert await handlers["ListTags"](CTX, {"Resource": arn}) == {"Tags": {"testtag": "v"}}
        await handlers["TagResource"](CTX, {"Resource": arn, "Tags": {"A": "a", "B": "b"}})
        await handlers["UntagResource"](CTX, {"Resource": arn, "TagKeys": ["testtag", "nope"]})
        assert (await handlers["ListTags"](CTX, {"Resource": arn}))["Tags"] == {"A": "a", "B": "b"}
        function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
        assert await handlers["ListTags"](CTX, {"Resource": function_arn}) == {
            "Tags": {"fn": "tag"}
        }
        assert calls == [function_arn]
        missing = arn[:-12] + "000000000000"
        for op, extra in (
            ("TagResource", {"Tags": {"A": "a"}}),
            ("UntagResource", {"TagKeys": ["A"]}),
            ("ListTags", {}),
        ):
            with pytest.raises(LambdaError) as caught:
                await handlers[op](CTX, {"Resource": missing, **extra})
            key = {
                "TagResource": "not_found_exception_tag",
                "UntagResource": "not_found_exception_untag",
                "ListTags": "not_found_exception_list",
            }[op]
            assert_matches(
                caught.value,
                recorded("test_tag_exceptions[event_source_mapping]", key),
                {"<resource-name>": missing.rsplit(":", 1)[1], "111111111111": ACCOUNT},
            )

    run(tmp_path, scenario)
