"""Recursive loop detection (services/recursion.py): the Lineage counter in trace headers,
the 16-invocation limit, ``Allow``, and the batch header of an SQS event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from lamina.runtime.invocation import Invocation, Outcome
from lamina.services.event_sources.invoker import (
    FunctionTarget,
    FunctionUnavailable,
    InvokeServiceInvoker,
)
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.recursion import (
    MAX_INVOCATIONS,
    RecursionGuard,
    RecursiveInvocationException,
    batch_trace_header,
    lineage_key,
    parse_lineage,
    with_lineage,
)
from lamina.store.function_options_store import SqliteFunctionOptionsStore
from lamina.store.functions import SqliteFunctionStore

ARN = "arn:aws:lambda:us-east-1:000000000000:function:looper"
ROOT = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"


@pytest.fixture
def options(tmp_path: Path) -> SqliteFunctionOptionsStore:
    database = tmp_path / "lamina.sqlite3"
    functions = SqliteFunctionStore(database)  # the functions table the options refer to
    with functions._tx() as conn:
        conn.execute("INSERT INTO functions(name, created_at) VALUES ('looper', 0)")
    functions.close()
    return SqliteFunctionOptionsStore(database)


@pytest.fixture
def guard(options: SqliteFunctionOptionsStore) -> RecursionGuard:
    return RecursionGuard(options, cast(FunctionCatalog, None))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        (ROOT, {}),
        (f"{ROOT};Lineage=a87bd80c:3", {"a87bd80c": 3}),
        (f"{ROOT};Lineage=a87bd80c:3|0123abcd:1", {"a87bd80c": 3, "0123abcd": 1}),
        (f"{ROOT};Lineage=a87bd80c:3%7C0123abcd:1", {"a87bd80c": 3, "0123abcd": 1}),  # botocore
        (f"{ROOT};Lineage=short:3|a87bd80c:x|0123abcd:", {}),  # malformed entries ignored
    ],
)
def test_parse_lineage(header: str | None, expected: dict[str, int]) -> None:
    assert parse_lineage(header) == expected


def test_with_lineage_keeps_the_trace_and_replaces_the_counter() -> None:
    out = with_lineage(f"{ROOT};Lineage=a87bd80c:3", {"a87bd80c": 4})
    assert out == f"{ROOT};Lineage=a87bd80c:4"
    fresh = with_lineage(None, {"a87bd80c": 1})
    assert fresh.startswith("Root=1-") and fresh.endswith(";Lineage=a87bd80c:1")
    # Unusable headers (no Root, control characters) start a new trace.
    assert with_lineage("garbage", {"a": 1}).startswith("Root=1-")
    assert "\n" not in with_lineage("Root=1-x\nInjected: 1", {"a": 1})


def test_sixteen_invocations_run_the_seventeenth_is_stopped(guard: RecursionGuard) -> None:
    header: str | None = None
    for hop in range(1, MAX_INVOCATIONS + 1):
        header = guard.admit("looper", ARN, header)
        assert parse_lineage(header) == {lineage_key(ARN): hop}
    with pytest.raises(RecursiveInvocationException) as info:
        guard.admit("looper", ARN, header)
    assert info.value.status == 400
    assert guard.dropped == {"looper": 1}
    assert 'lamina_recursive_invocations_dropped_total{function="looper"} 1' in (
        guard.render_metrics()
    )
    # Another function in the same chain has its own count.
    other = "arn:aws:lambda:us-east-1:000000000000:function:other"
    counts = parse_lineage(guard.admit("other", other, header))
    assert counts == {lineage_key(ARN): MAX_INVOCATIONS, lineage_key(other): 1}


def test_allow_lets_the_chain_go_on(
    guard: RecursionGuard, options: SqliteFunctionOptionsStore, tmp_path: Path
) -> None:
    assert options.put_recursion("looper", "Allow")
    assert not options.put_recursion("gone", "Allow")  # no such function: nothing stored
    # Durable: a store opened again reads it.
    assert SqliteFunctionOptionsStore(tmp_path / "lamina.sqlite3").recursion("looper") == "Allow"
    header = f"{ROOT};Lineage={lineage_key(ARN)}:{MAX_INVOCATIONS}"
    assert parse_lineage(guard.admit("looper", ARN, header))[lineage_key(ARN)] == 17
    assert guard.dropped == {}


def test_batch_trace_header_takes_the_longest_chain() -> None:
    records = [
        {"body": "a", "attributes": {"AWSTraceHeader": f"{ROOT};Lineage=a87bd80c:2"}},
        {"body": "b", "attributes": {"AWSTraceHeader": f"{ROOT};Lineage=a87bd80c:9"}},
        {"body": "c", "attributes": {}},
    ]
    payload = json.dumps({"Records": records}).encode()
    assert batch_trace_header(payload) == f"{ROOT};Lineage=a87bd80c:9"
    assert batch_trace_header(json.dumps({"Records": [records[2]]}).encode()) is None


def test_event_source_invoker_stops_a_looping_batch(guard: RecursionGuard) -> None:
    """An SQS batch whose trace header counts 16 invocations of the function is not run:
    ``FunctionUnavailable``, so it reappears and reaches the queue's dead-letter queue."""
    runs: list[str] = []

    async def run(config: object, invocation: Invocation, *args: object) -> Outcome:
        runs.append(invocation.trace_id or "")
        return Outcome(b"null", None, None, "success", 1.0, None, 128, "")

    service = SimpleNamespace(
        run=run, admit=lambda config, header: guard.admit("looper", ARN, header)
    )
    functions = SimpleNamespace(require=lambda *a, **k: SimpleNamespace(name="looper", arn=ARN))
    invoker = InvokeServiceInvoker(service, functions)  # type: ignore[arg-type]
    target = FunctionTarget("looper", None, ARN)

    def batch(count: int) -> bytes:
        header = f"{ROOT};Lineage={lineage_key(ARN)}:{count}"
        return json.dumps({"Records": [{"attributes": {"AWSTraceHeader": header}}]}).encode()

    with pytest.raises(FunctionUnavailable):
        asyncio.run(invoker.invoke(target, batch(MAX_INVOCATIONS)))
    assert runs == []
    asyncio.run(invoker.invoke(target, batch(MAX_INVOCATIONS - 1)))
    assert len(runs) == 1 and runs[0].endswith(f"Lineage={lineage_key(ARN)}:{MAX_INVOCATIONS}")
