"""The SQS pollers against an in-memory queue and function: batching, deletes, retries,
redrive, partial batch failures, throttles, scaling, FIFO order, the 6 MB limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from event_source_fakes import ACCOUNT, REGION, FakeInvoker, FakeQueueSource

from lamina.domain.event_source_mapping import ENABLED, EventSourceMapping
from lamina.services.event_sources.filters import RecordFilter
from lamina.services.event_sources.sqs_poller import BatchCollector, MappingPoller

LONG_POLL = 0.2


def mapping(queue: str, **settings: Any) -> EventSourceMapping:
    return EventSourceMapping(
        uuid="6b0a6d3e-1c3e-4c3f-9e35-5bfb0a7e0a5b",
        region=REGION,
        account_id=ACCOUNT,
        event_source_arn=queue,
        function_name="fn",
        function_qualifier=None,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn",
        enabled=True,
        state=ENABLED,
        last_modified=0.0,
        **settings,
    )


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def run_poller(
    queues: FakeQueueSource,
    invoker: FakeInvoker,
    m: EventSourceMapping,
    scenario: Callable[[MappingPoller], Awaitable[None]],
    record_filter: RecordFilter | None = None,
) -> None:
    async def main() -> None:
        poller = MappingPoller(
            m,
            queues,
            invoker,
            record_filter or RecordFilter([]),
            long_poll=LONG_POLL,
            idle_backoff=0.05,
        )
        poller.start()
        try:
            await scenario(poller)
        finally:
            await poller.stop()

    asyncio.run(main())


def bodies(invoker: FakeInvoker) -> list[list[str]]:
    return [[r["body"] for r in event["Records"]] for event in invoker.events]


def test_success_deletes_the_batch() -> None:
    queues, invoker = FakeQueueSource(), FakeInvoker()
    queue = queues.create("q")
    for i in range(3):
        queues.send(queue, f"m{i}")

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages)
        queues.send(queue, "late")
        await until(lambda: len(invoker.events) == 2)
        await until(lambda: not queues.queues[queue].messages)

    run_poller(queues, invoker, mapping(queue), scenario)
    assert bodies(invoker) == [["m0", "m1", "m2"], ["late"]]
    record = invoker.events[0]["Records"][0]
    assert record["eventSourceARN"] == queue and record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_function_error_retries_after_visibility_then_redrives() -> None:
    queues = FakeQueueSource(seconds=0.005)
    invoker = FakeInvoker(handler=lambda event: 1 / 0)
    dlq = queues.create("dlq")
    queue = queues.create("q", visibility_timeout=30, max_receive_count=2, dead_letter=dlq)
    queues.send(queue, "poison")

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: bool(queues.queues[dlq].messages))

    run_poller(queues, invoker, mapping(queue, batch_size=1), scenario)
    counts = [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in invoker.events]
    assert counts == ["1", "2"]
    assert queues.bodies(dlq) == ["poison"]


def test_partial_batch_failures_keep_only_the_named_messages() -> None:
    queues = FakeQueueSource(seconds=0.005)
    queue = queues.create("q")
    ids = [queues.send(queue, f"m{i}") for i in range(4)]
    attempts: dict[str, int] = {}

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        failed = []
        for record in event["Records"]:
            n = attempts[record["body"]] = attempts.get(record["body"], 0) + 1
            if record["body"] in ("m1", "m2") and n == 1:
                failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}

    invoker = FakeInvoker(handler=handler)

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages)

    m = mapping(queue, function_response_types=("ReportBatchItemFailures",))
    run_poller(queues, invoker, m, scenario)
    assert bodies(invoker) == [["m0", "m1", "m2", "m3"], ["m1", "m2"]]
    assert queues.deleted[:2] == [ids[0], ids[3]]


def test_invalid_partial_response_fails_the_whole_batch() -> None:
    queues = FakeQueueSource(seconds=0.005)
    queue = queues.create("q")
    queues.send(queue, "m")
    responses = [{"batchItemFailures": [{"foo": "notvalid"}]}, {}]
    invoker = FakeInvoker(handler=lambda event: responses.pop(0))

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages)

    run_poller(
        queues,
        invoker,
        mapping(queue, function_response_types=("ReportBatchItemFailures",)),
        scenario,
    )
    assert bodies(invoker) == [["m"], ["m"]]


def test_throttled_batch_goes_back_and_is_delivered_later() -> None:
    queues = FakeQueueSource(seconds=0.005)
    queue = queues.create("q")
    queues.send(queue, "m")
    invoker = FakeInvoker()
    invoker.throttle_next = 1

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages)
        assert poller.throttles == 1

    run_poller(queues, invoker, mapping(queue), scenario)
    assert [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in invoker.events] == [
        "2"
    ]


def test_batching_window_gathers_messages_arriving_within_it() -> None:
    queues, invoker = FakeQueueSource(seconds=1.0), FakeInvoker()
    queue = queues.create("q")

    async def scenario(poller: MappingPoller) -> None:
        await asyncio.sleep(0.05)
        for i in range(3):
            queues.send(queue, f"m{i}")
            await asyncio.sleep(0.1)
        await until(lambda: len(invoker.events) >= 1, timeout=3)
        await until(lambda: not queues.queues[queue].messages)

    started = time.monotonic()
    run_poller(queues, invoker, mapping(queue, batch_size=20, batching_window=1), scenario)
    assert bodies(invoker) == [["m0", "m1", "m2"]]
    assert time.monotonic() - started >= 1.0


def test_batches_fill_up_to_batch_size_above_ten() -> None:
    queues, invoker = FakeQueueSource(seconds=1.0), FakeInvoker()
    queue = queues.create("q")
    for i in range(25):
        queues.send(queue, f"m{i}")

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages)

    run_poller(queues, invoker, mapping(queue, batch_size=20, batching_window=1), scenario)
    sizes = sorted(len(b) for b in bodies(invoker))
    assert sizes == [5, 20]


def test_payload_limit_sends_the_rest_back() -> None:
    queues = FakeQueueSource()
    queue = queues.create("q")
    for i in range(5):
        queues.send(queue, "x" * 200 + str(i))

    async def scenario() -> None:
        collector = BatchCollector(mapping(queue), queues, long_poll=0.1, payload_limit=1500)
        batch = await collector.collect(None)
        assert 1 <= len(batch) < 5
        assert sum(len(p.encoded) + 1 for p in batch) <= 1500
        rest = [m for m in queues.queues[queue].messages if m.visible_at <= time.monotonic()]
        assert len(rest) == 5 - len(batch)

    asyncio.run(scenario())


def test_pollers_scale_with_the_backlog_up_to_maximum_concurrency() -> None:
    queues = FakeQueueSource()
    queue = queues.create("q")
    for i in range(60):
        queues.send(queue, f"m{i}")
    invoker = FakeInvoker()
    invoker.delay = 0.05

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages, timeout=10)
        assert poller.pollers <= 3
        # Idle pollers retire after an empty long poll: one is left.
        await until(lambda: poller.pollers == 1, timeout=5)

    run_poller(queues, invoker, mapping(queue, batch_size=1, maximum_concurrency=3), scenario)
    assert invoker.peak == 3


def test_reserved_concurrency_bounds_the_pollers() -> None:
    queues = FakeQueueSource()
    queue = queues.create("q")
    for i in range(40):
        queues.send(queue, f"m{i}")
    invoker = FakeInvoker()
    invoker.delay = 0.05
    invoker.reserved = 2

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages, timeout=10)

    run_poller(queues, invoker, mapping(queue, batch_size=1), scenario)
    assert invoker.peak == 2


def test_nothing_is_received_while_the_function_cannot_run() -> None:
    queues = FakeQueueSource()
    queue = queues.create("q")
    queues.send(queue, "m")
    invoker = FakeInvoker()
    invoker.reserved = 0

    async def scenario(poller: MappingPoller) -> None:
        await asyncio.sleep(0.3)
        assert queues.receives == 0
        invoker.reserved = None
        invoker.exists = False
        await asyncio.sleep(0.3)
        assert queues.receives == 0
        invoker.exists = True
        await until(lambda: not queues.queues[queue].messages)

    run_poller(queues, invoker, mapping(queue), scenario)
    assert queues.queues[queue].messages == []
    assert bodies(invoker) == [["m"]]


def test_fifo_failed_message_blocks_its_group_until_it_succeeds() -> None:
    queues = FakeQueueSource(seconds=0.005)
    queue = queues.create("q.fifo", fifo=True)
    for body in ("a1", "a2", "a3"):
        queues.send(queue, body, group="a")
    queues.send(queue, "b1", group="b")
    failed_once: set[str] = set()

    def handler(event: dict[str, Any]) -> None:
        body = event["Records"][0]["body"]
        if body == "a1" and body not in failed_once:
            failed_once.add(body)
            raise RuntimeError("first attempt fails")

    invoker = FakeInvoker(handler=handler)

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: not queues.queues[queue].messages)

    run_poller(queues, invoker, mapping(queue, batch_size=1), scenario)
    group_a = [b[0] for b in bodies(invoker) if b[0].startswith("a")]
    assert group_a == ["a1", "a1", "a2", "a3"]
    assert ["b1"] in bodies(invoker)


def test_stop_ends_a_long_poll_at_once() -> None:
    queues, invoker = FakeQueueSource(), FakeInvoker()
    queue = queues.create("q")

    async def main() -> float:
        poller = MappingPoller(mapping(queue), queues, invoker, RecordFilter([]), long_poll=20)
        poller.start()
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await poller.stop()
        return time.monotonic() - started

    assert asyncio.run(main()) < 0.5


def test_a_message_received_again_within_the_window_is_delivered_once() -> None:
    queues, invoker = FakeQueueSource(seconds=0.01), FakeInvoker()
    queue = queues.create("q")  # visibility 30 "seconds" = 0.3 s, shorter than the window
    queues.send(queue, "m")

    async def scenario(poller: MappingPoller) -> None:
        await until(lambda: len(invoker.events) == 1, timeout=3)
        await until(lambda: not queues.queues[queue].messages)

    run_poller(queues, invoker, mapping(queue, batch_size=20, batching_window=1), scenario)
    records = invoker.events[0]["Records"]
    assert [r["body"] for r in records] == ["m"]
    assert int(records[0]["attributes"]["ApproximateReceiveCount"]) > 1


def test_stop_lets_a_batch_being_invoked_finish_and_settle() -> None:
    queues, invoker = FakeQueueSource(), FakeInvoker()
    invoker.delay = 0.3
    queue = queues.create("q")
    queues.send(queue, "in flight")

    async def main() -> tuple[float, int]:
        poller = MappingPoller(mapping(queue), queues, invoker, RecordFilter([]), long_poll=0.2)
        poller.start()
        await until(lambda: invoker.running == 1)
        started = time.monotonic()
        await poller.stop()  # drain 0: returns at once, the batch finishes in the background
        elapsed = time.monotonic() - started
        await until(lambda: not queues.queues[queue].messages)
        return elapsed, queues.receives

    elapsed, receives = asyncio.run(main())
    assert elapsed < 0.1
    assert receives == 1  # nothing polled after the stop


def test_stop_with_drain_waits_for_the_batch() -> None:
    queues, invoker = FakeQueueSource(), FakeInvoker()
    invoker.delay = 0.2
    queue = queues.create("q")
    queues.send(queue, "in flight")

    async def main() -> None:
        poller = MappingPoller(mapping(queue), queues, invoker, RecordFilter([]), long_poll=0.2)
        poller.start()
        await until(lambda: invoker.running == 1)
        await poller.stop(drain=5.0)
        assert queues.queues[queue].messages == []

    asyncio.run(main())
