"""The router with its SQLite store and fake targets: PutEvents' answers, routing, retries,
dead letters, durability across a restart, and the CRUD errors AWS recorded
(tests/fixtures/aws-recorded/events/test_events.snapshot.json)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import pytest

from lamina.api.protocols.errors import MissingParameter
from lamina.domain.context import RequestContext
from lamina.services.event_bus_ports import EventBusNotFound, EventBusRejected
from lamina.services.events.arns import BusKey
from lamina.services.events.delivery import DeliveryEngine
from lamina.services.events.entries import EntryError
from lamina.services.events.errors import EventsError
from lamina.services.events.registry import EventsRegistry
from lamina.services.events.rules import RuleBook
from lamina.services.events.scheduled import check_rule_schedule
from lamina.services.events.service import EventsService
from lamina.services.events.targets import TargetSinks
from lamina.services.function_ports import FunctionNotFound
from lamina.services.queue_ports import MessageAttribute, QueueNotFound
from lamina.store.events_store import SqliteEventsStore

ACCOUNT = "111111111111"
CTX = RequestContext("req", ACCOUNT, "us-east-1")
DEFAULT = BusKey("us-east-1", ACCOUNT, "default")
RECORDED = json.loads(
    (
        Path(__file__).parents[1] / "fixtures/aws-recorded/events/test_events.snapshot.json"
    ).read_text()
)
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
DLQ = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"


def recorded_error(test: str, key: str) -> tuple[str, str]:
    for test_id, entry in RECORDED.items():
        if test_id.endswith(test):
            error = entry["recorded-content"][key]["Error"]
            return error["Code"], error["Message"]
    raise KeyError(test)


class FakeFunctions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.missing: set[str] = set()

    async def invoke_async(
        self, function_arn: str, payload: bytes, *, trace_header: str | None = None
    ) -> str:
        if function_arn in self.missing:
            raise FunctionNotFound(f"Function not found: {function_arn}")
        self.calls.append((function_arn, payload))
        return "request-id"


class FakeQueues:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, MessageAttribute], str | None]] = []
        self.failures = 0
        self.missing: set[str] = set()

    async def send(
        self,
        arn: str,
        body: str,
        message_attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        message_group_id: str | None = None,
        deduplication_id: str | None = None,
        trace_header: str | None = None,
    ) -> str:
        if arn in self.missing:
            raise QueueNotFound(arn)
        if arn.endswith(".fifo") and message_group_id is None:
            raise MissingParameter("MessageGroupId")
        if self.failures and arn == QUEUE:
            self.failures -= 1
            raise RuntimeError("queue store unavailable")
        self.sent.append((arn, body, dict(message_attributes or {}), message_group_id))
        return "message-id"


class Router:
    def __init__(self, path: Path) -> None:
        self.functions = FakeFunctions()
        self.queues = FakeQueues()
        self.store = SqliteEventsStore(path)
        registry = EventsRegistry(self.store)
        sinks = TargetSinks(self.functions, self.queues, None)
        self.engine = DeliveryEngine(self.store, sinks, delay_scale=0.001)
        self.service = EventsService(registry, RuleBook(registry, check_rule_schedule), self.engine)

    async def settle(self, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.engine.pending:
            assert asyncio.get_running_loop().time() < deadline, "deliveries did not settle"
            await asyncio.sleep(0.005)


def with_router(test: Callable[[Router], Coroutine[Any, Any, None]]) -> Callable[[Path], None]:
    """Run an async test with a started router on a fresh database (its own event loop)."""

    def run(tmp_path: Path) -> None:
        async def body() -> None:
            router = Router(tmp_path / "events.sqlite3")
            await router.service.start()
            try:
                await test(router)
            finally:
                await router.service.stop()

        asyncio.run(body())

    run.__name__ = test.__name__
    run.__doc__ = test.__doc__
    return run


async def _rule_with_target(router: Router, target: dict[str, Any]) -> None:
    book = router.service.rules
    await book.put_rule(
        DEFAULT,
        "r",
        event_pattern='{"source": ["s"]}',
        schedule=None,
        state=None,
        description=None,
        role_arn=None,
        tags={},
    )
    await book.put_targets(DEFAULT, "r", [{"Id": "t", **target}])


def _entry(**extra: Any) -> dict[str, Any]:
    return {"Source": "s", "DetailType": "dt", "Detail": '{"a": 1}', **extra}


@with_router
async def test_put_events_routes_to_a_function(router: Router) -> None:
    await _rule_with_target(router, {"Arn": FUNCTION})
    results = await router.service.put_events(CTX, [_entry(), _entry(Source="other")])
    await router.settle()
    assert all(isinstance(r, str) for r in results)
    assert len(router.functions.calls) == 1
    event = json.loads(router.functions.calls[0][1])
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["id"] == results[0] and event["detail"] == {"a": 1}
    assert event["account"] == ACCOUNT and event["region"] == "us-east-1"


@with_router
async def test_entry_errors_as_recorded(router: Router) -> None:
    results = await router.service.put_events(
        CTX,
        [
            {"DetailType": "dt", "Detail": "{}"},
            {"Source": "s", "Detail": "{}"},
            {"Source": "s", "DetailType": "dt"},
            _entry(Detail='"a string"'),
            _entry(Detail="[1]"),
            _entry(Detail="{bad"),
        ],
    )
    recorded = [
        RECORDED[k]["recorded-content"]["put-events"]["Entries"][0]
        for k in RECORDED
        if k.endswith(
            (
                "test_put_events_without_source",
                "test_put_event_without_detail_type",
                "test_put_event_without_detail",
                "malformed_detail[STRING]",
                "malformed_detail[ARRAY]",
                "malformed_detail[MALFORMED_JSON]",
            )
        )
    ]
    got = [
        {"ErrorCode": r.code, "ErrorMessage": r.message}
        for r in results
        if isinstance(r, EntryError)
    ]
    assert sorted(map(json.dumps, got)) == sorted(map(json.dumps, recorded))


@with_router
async def test_batch_limits(router: Router) -> None:
    with pytest.raises(EventsError) as many:
        await router.service.put_events(CTX, [_entry()] * 11)
    assert many.value.message.startswith(
        "1 validation error detected: Value '[PutEventsRequestEntry("
    )
    assert many.value.message.endswith(
        "at 'entries' failed to satisfy constraint: "
        "Member must have length less than or equal to 10"
    )
    with pytest.raises(EventsError) as big:
        await router.service.put_events(CTX, [_entry(Detail=json.dumps({"a": "x" * 262_144}))])
    code, message = recorded_error(
        "test_put_event_with_too_big_detail", "put-events-too-big-detail-error"
    )
    assert (big.value.code, big.value.message) == (code, message)


@with_router
async def test_retries_then_delivers(router: Router) -> None:
    await _rule_with_target(router, {"Arn": QUEUE})
    router.queues.failures = 3
    await router.service.put_events(CTX, [_entry()])
    await router.settle()
    assert [s[0] for s in router.queues.sent] == [QUEUE]


@with_router
async def test_missing_target_goes_to_the_dead_letter_queue_at_once(router: Router) -> None:
    router.functions.missing.add(FUNCTION)
    await _rule_with_target(router, {"Arn": FUNCTION, "DeadLetterConfig": {"Arn": DLQ}})
    (event_id,) = await router.service.put_events(CTX, [_entry()])
    await router.settle()
    ((arn, body, attributes, _),) = router.queues.sent
    assert arn == DLQ and json.loads(body)["id"] == event_id
    values = {k: v.string_value for k, v in attributes.items()}
    assert values["RULE_ARN"] == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    assert values["TARGET_ARN"] == FUNCTION
    assert values["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert values["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in values


@with_router
async def test_exhausted_retries_dead_letter(router: Router) -> None:
    router.queues.failures = 10
    await _rule_with_target(
        router,
        {
            "Arn": QUEUE,
            "RetryPolicy": {"MaximumRetryAttempts": 2},
            "DeadLetterConfig": {"Arn": DLQ},
        },
    )
    await router.service.put_events(CTX, [_entry()])
    await router.settle()
    ((arn, _, attributes, _),) = router.queues.sent
    assert arn == DLQ
    assert attributes["EXHAUSTED_RETRY_CONDITION"].string_value == "MaximumRetryAttemptsExhausted"
    assert attributes["RETRY_ATTEMPTS"].string_value == "2"


def test_accepted_deliveries_survive_a_restart(tmp_path: Path) -> None:
    asyncio.run(_restart(tmp_path))


async def _restart(tmp_path: Path) -> None:
    first = Router(tmp_path / "events.sqlite3")
    await asyncio.to_thread(first.service.registry.load)  # not started: nothing is delivered
    await _rule_with_target(first, {"Arn": QUEUE, "SqsParameters": {"MessageGroupId": "g"}})
    (event_id,) = await first.service.put_events(CTX, [_entry()])
    first.store.close()
    second = Router(tmp_path / "events.sqlite3")
    await second.service.start()
    try:
        await second.settle()
        ((arn, body, _, group),) = second.queues.sent
        assert (arn, json.loads(body)["id"], group) == (QUEUE, event_id, "g")
    finally:
        await second.service.stop()


@with_router
async def test_bus_errors_as_recorded(router: Router) -> None:
    registry = router.service.registry
    key = BusKey("us-east-1", ACCOUNT, "bus-name")
    await registry.create_bus(key, None, {})
    cases = [
        (
            registry.create_bus(key, None, {}),
            "test_create_multiple_event_buses_same_name",
            "create-multiple-event-buses-same-name",
        ),
        (
            registry.delete_bus(DEFAULT),
            "test_delete_default_event_bus",
            "delete-default-event-bus-error",
        ),
        (registry.delete_bus(BusKey("us-east-1", ACCOUNT, "bus-namex")), None, None),
    ]
    for call, test, key_name in cases:
        with pytest.raises(EventsError) as caught:
            await call
        if test is not None and key_name is not None:
            code, message = recorded_error(test, key_name)
            assert (caught.value.code, caught.value.message) == (
                code,
                message.replace("<bus-name>", "bus-name"),
            )
    assert caught.value.message == "Event bus bus-namex does not exist."


@with_router
async def test_rule_and_target_errors_as_recorded(router: Router) -> None:
    book = router.service.rules
    with pytest.raises(EventsError) as missing:
        book.rule(DEFAULT, "<rule-name>")
    assert (missing.value.code, missing.value.message) == recorded_error(
        "test_describe_nonexistent_rule", "describe-not-existing-rule-error"
    )
    await _rule_with_target(router, {"Arn": QUEUE})
    with pytest.raises(EventsError) as has_targets:
        await book.delete_rule(DEFAULT, "r")
    assert (has_targets.value.code, has_targets.value.message) == recorded_error(
        "test_delete_rule_with_targets", "delete-rule-with-targets-error"
    )
    with pytest.raises(EventsError) as too_many:
        await book.put_targets(DEFAULT, "r", [{"Id": f"x{i}", "Arn": QUEUE} for i in range(5)])
    assert (too_many.value.code, too_many.value.message) == recorded_error(
        "test_add_exceed_fife_targets_per_rule", "put-targets-client-error"
    )
    with pytest.raises(EventsError) as bad_id:
        await book.put_targets(DEFAULT, "r", [{"Id": "!@#$@!#$", "Arn": QUEUE}])
    assert (bad_id.value.code, bad_id.value.message) == recorded_error(
        "test_put_target_id_validation", "put-targets-invalid-id-error"
    )
    assert [t.id for t in book.targets(DEFAULT, "r")] == ["t"]  # state unchanged
    with pytest.raises(EventsError) as custom_schedule:
        await router.service.registry.create_bus(BusKey("us-east-1", ACCOUNT, "b"), None, {})
        await book.put_rule(
            BusKey("us-east-1", ACCOUNT, "b"),
            "s",
            event_pattern=None,
            schedule="rate(1 minute)",
            state=None,
            description=None,
            role_arn=None,
            tags={},
        )
    assert (
        custom_schedule.value.message
        == "ScheduleExpression is supported only on the default event bus."
    )
    await book.remove_targets(DEFAULT, "r", ["t"])
    await book.delete_rule(DEFAULT, "r")
    assert book.list_rules(DEFAULT, None, None, None) == ([], None)


@with_router
async def test_pagination(router: Router) -> None:
    registry = router.service.registry
    for i in range(5):
        await registry.create_bus(BusKey("us-east-1", ACCOUNT, f"p-{i}"), None, {})
    first, token = registry.list_buses("us-east-1", ACCOUNT, "p-", 3, None)
    second, end = registry.list_buses("us-east-1", ACCOUNT, "p-", 3, token)
    assert [b.key.name for b in first + second] == [f"p-{i}" for i in range(5)]
    assert token is not None and end is None


@with_router
async def test_event_bus_sink(router: Router) -> None:
    """``EventBusSink.put_event``: the event routed on the bus named by ARN."""
    await _rule_with_target(router, {"Arn": QUEUE})
    event_id = await router.service.put_event(
        DEFAULT.arn,
        source="s",
        detail_type="Lambda Function Invocation Result - Success",
        detail='{"x": 1}',
        resources=["arn:aws:lambda:us-east-1:1:function:f"],
    )
    await router.settle()
    ((_, body, _, _),) = router.queues.sent
    event = json.loads(body)
    assert event["id"] == event_id and event["detail"] == {"x": 1}
    assert event["resources"] == ["arn:aws:lambda:us-east-1:1:function:f"]
    with pytest.raises(EventBusNotFound):
        await router.service.put_event(
            f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/nope",
            source="s",
            detail_type="d",
            detail="{}",
        )
    with pytest.raises(EventBusRejected):
        await router.service.put_event(DEFAULT.arn, source="s", detail_type="d", detail="[]")


@with_router
async def test_a_refused_message_is_not_retried(router: Router) -> None:
    """A FIFO queue refusing a message without a group id: dead-lettered at once."""
    await _rule_with_target(router, {"Arn": QUEUE + ".fifo", "DeadLetterConfig": {"Arn": DLQ}})
    await router.service.put_events(CTX, [_entry()])
    await router.settle()
    ((arn, _, attributes, _),) = router.queues.sent
    assert arn == DLQ
    assert attributes["ERROR_CODE"].string_value == "SDK_CLIENT_ERROR"
    assert attributes["RETRY_ATTEMPTS"].string_value == "0"
