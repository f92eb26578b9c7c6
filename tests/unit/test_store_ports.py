"""The store ports' contracts (store/ports.py), checked through the port types against the
SQLite implementations: another backend must pass the same tests (give the fixtures its
classes). The implementations' signatures match their ports (mypy proves it too)."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.aliases import Alias
from lamina.domain.destinations import DestinationConfig
from lamina.domain.layers import LayerPolicy, LayerVersion
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.provisioned import ProvisionedConfig
from lamina.store import ports
from lamina.store.aliases import SqliteAliasStore
from lamina.store.async_queue import AsyncQueueStore
from lamina.store.concurrency import SqliteConcurrencyStore
from lamina.store.event_invoke_config import SqliteEventInvokeConfigStore
from lamina.store.event_source_mappings import SqliteEventSourceMappingStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.layers import SqliteLayerStore
from lamina.store.log_records import LogEvent, ResourceAlreadyExists, ResourceNotFound
from lamina.store.log_store import SqliteLogStore
from lamina.store.provisioned import SqliteProvisionedStore
from lamina.store.records import INVOKE, EventInvokeConfig, NewEvent, Retained
from lamina.store.sqs_store import SqliteSqsStore

IMPLEMENTATIONS: list[tuple[type[Any], type[Any]]] = [
    (ports.FunctionStore, SqliteFunctionStore),
    (ports.AliasStore, SqliteAliasStore),
    (ports.LayerStore, SqliteLayerStore),
    (ports.ConcurrencyStore, SqliteConcurrencyStore),
    (ports.ProvisionedStore, SqliteProvisionedStore),
    (ports.EventInvokeConfigStore, SqliteEventInvokeConfigStore),
    (ports.LogStore, SqliteLogStore),
    (ports.AsyncQueue, AsyncQueueStore),
    (ports.MappingStore, SqliteEventSourceMappingStore),
    (ports.SqsStore, SqliteSqsStore),
]


@pytest.mark.parametrize(("port", "implementation"), IMPLEMENTATIONS)
def test_implementation_has_every_method_of_its_port(
    port: type[Any], implementation: type[Any]
) -> None:
    methods = {n: f for n, f in vars(port).items() if inspect.isfunction(f) and n[0] != "_"}
    assert "close" in methods
    for name, declared in methods.items():
        implemented = getattr(implementation, name)
        assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(declared)
        assert list(inspect.signature(implemented).parameters) == list(
            inspect.signature(declared).parameters
        ), name


# --- fixtures: one data directory, the stores of ``lamina.sqlite3`` ----------------------


@dataclasses.dataclass
class Stores:
    functions: ports.FunctionStore
    aliases: ports.AliasStore
    layers: ports.LayerStore
    concurrency: ports.ConcurrencyStore
    provisioned: ports.ProvisionedStore
    configs: ports.EventInvokeConfigStore


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    path = tmp_path / "lamina.sqlite3"
    opened = Stores(
        SqliteFunctionStore(path),
        SqliteAliasStore(path),
        SqliteLayerStore(path),
        SqliteConcurrencyStore(path),
        SqliteProvisionedStore(path),
        SqliteEventInvokeConfigStore(path),
    )
    yield opened
    for field in dataclasses.fields(opened):
        store = getattr(opened, field.name)
        store.close()


def config(name: str = "fn", **changes: Any) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        region="us-east-1",
        account="000000000000",
        role="arn:aws:iam::000000000000:role/r",
        runtime="python3.12",
        handler="index.handler",
        code_sha256="ab" * 32,
        code_size=10,
        last_modified="2024-01-01T00:00:00.000+0000",
        revision_id="r1",
    ).replace(**changes)


def layer(name: str = "lib") -> LayerVersion:
    return LayerVersion(name, "us-east-1", "000000000000", 0, "cd" * 32, 5, 9, "2024-01-01")


# --- functions and what belongs to them ---------------------------------------------------


def test_function_create_get_and_not_found(stores: Stores) -> None:
    functions = stores.functions
    assert functions.get("fn") is None and functions.get_tags("fn") is None
    assert functions.versions("fn") == [] and functions.next_version("fn") == "1"
    assert functions.create(config(), {"k": "v"}, 1.0)
    assert not functions.create(config(revision_id="other"), {}, 2.0)  # nothing changed
    assert functions.get("fn") == config() and functions.get_tags("fn") == {"k": "v"}
    assert functions.get("fn", "1") is None
    assert functions.code_usage() == (1, 10)
    assert not functions.delete("missing")


def test_version_numbers_are_never_reused(stores: Stores) -> None:
    functions = stores.functions
    functions.create(config(), {}, 1.0)
    for number in ("1", "2"):
        assert functions.next_version("fn") == number
        functions.publish(config(version=number), config(revision_id=f"after-{number}"))
    assert functions.versions("fn") == [LATEST, "1", "2"]
    assert functions.get("fn") == config(revision_id="after-2")
    functions.delete_version("fn", "2")
    functions.delete_version("fn", "9")  # nothing to delete: no error
    assert functions.next_version("fn") == "3"
    assert {c.version for c in functions.all_versions()} == {LATEST, "1"}


def test_tags_and_latest_change_together(stores: Stores) -> None:
    functions = stores.functions
    functions.create(config(), {}, 1.0)
    functions.set_tags("fn", {"a": "b"}, config(revision_id="r2"))
    assert functions.get_tags("fn") == {"a": "b"}
    assert functions.get("fn") == config(revision_id="r2")


def test_list_latest_pages_by_name(stores: Stores) -> None:
    for name in ("c", "a", "b"):
        stores.functions.create(config(name), {}, 1.0)
    assert [c.name for c in stores.functions.list_latest(None, 2)] == ["a", "b"]
    assert [c.name for c in stores.functions.list_latest("b", 2)] == ["c"]


def test_deleting_a_function_deletes_what_belongs_to_it(stores: Stores) -> None:
    stores.functions.create(config(), {}, 1.0)
    alias = Alias("fn", "live", LATEST, "us-east-1", "000000000000", "rev")
    assert stores.aliases.create(alias)
    assert not stores.aliases.create(alias)
    assert stores.concurrency.put("fn", 3)
    assert stores.provisioned.put(ProvisionedConfig("fn", "live", 1, "2024"))
    event_config = EventInvokeConfig("fn", LATEST, 1, 60, DestinationConfig(), 1.0)
    assert stores.configs.put(event_config)
    assert stores.aliases.all() == [alias] and stores.concurrency.all() == {"fn": 3}
    assert stores.configs.all() == [event_config]

    assert stores.functions.delete("fn")
    assert stores.functions.get("fn") is None and stores.functions.versions("fn") == []
    assert stores.aliases.all() == [] and stores.concurrency.all() == {}
    assert stores.provisioned.all() == [] and stores.configs.all() == []


def test_rows_of_a_missing_function_are_refused(stores: Stores) -> None:
    assert not stores.concurrency.put("ghost", 1)
    assert not stores.provisioned.put(ProvisionedConfig("ghost", "1", 1, "2024"))
    assert not stores.configs.put(EventInvokeConfig("ghost", LATEST, 0, 60, DestinationConfig(), 0))
    assert stores.concurrency.all() == {} and stores.provisioned.all() == []
    assert stores.configs.all() == []


def test_per_function_rows_replace_and_delete(stores: Stores) -> None:
    stores.functions.create(config(), {}, 1.0)
    alias = Alias("fn", "live", LATEST, "us-east-1", "000000000000", "rev")
    stores.aliases.create(alias)
    stores.aliases.put(dataclasses.replace(alias, revision_id="rev2"))
    assert stores.aliases.all()[0].revision_id == "rev2"
    stores.aliases.delete("fn", "live")
    stores.aliases.delete("fn", "live")
    assert stores.aliases.all() == []
    for qualifier in (LATEST, "1"):
        stores.configs.put(EventInvokeConfig("fn", qualifier, 0, 60, DestinationConfig(), 0))
    stores.configs.delete("fn", "1")
    assert [c.qualifier for c in stores.configs.all()] == [LATEST]
    stores.configs.delete("fn")
    assert stores.configs.all() == []


# --- layers -------------------------------------------------------------------------------


def test_layer_versions_and_policies(stores: Stores) -> None:
    layers = stores.layers
    assert layers.get("lib", 1) is None and layers.get_policy("lib", 1) is None
    assert layers.delete("lib", 1) is None
    assert [layers.publish(layer()).version for _ in range(2)] == [1, 2]
    assert [v.version for v in layers.versions("lib")] == [2, 1]
    assert layers.total_code_size() == 10 and layers.referenced_code() == {"cd" * 32}

    policy = LayerPolicy("rev", ({"Sid": "s", "Action": "lambda:GetLayerVersion"},))
    assert layers.change_policy("lib", 1, lambda current: policy) == policy

    def refuse(current: LayerPolicy | None) -> LayerPolicy | None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        layers.change_policy("lib", 1, refuse)
    assert layers.get_policy("lib", 1) == policy
    with pytest.raises(LookupError):
        layers.change_policy("lib", 7, lambda current: policy)

    for number in (1, 2):
        assert layers.delete("lib", number) is not None
    assert layers.all_versions() == []
    assert layers.publish(layer()).version == 3  # numbers are never reused


# --- logs ---------------------------------------------------------------------------------


def test_log_groups_exist_or_not(tmp_path: Path) -> None:
    logs: ports.LogStore = SqliteLogStore(tmp_path / "logs.sqlite3")
    try:
        logs.create_log_group("/g")
        with pytest.raises(ResourceAlreadyExists):
            logs.create_log_group("/g")
        logs.append([LogEvent("/g", "s", 5, "hello")])
        assert [e.message for e in logs.filter_log_events("/g").items] == ["hello"]
        logs.delete_log_group("/g")
        for call in (
            lambda: logs.delete_log_group("/g"),
            lambda: logs.put_retention_policy("/g", 1),
            lambda: logs.describe_log_streams("/g"),
        ):
            with pytest.raises(ResourceNotFound):
                call()
    finally:
        logs.close()


# --- the asynchronous queue ---------------------------------------------------------------


def new_event(function: str = "fn", due_at: float = 0.0) -> NewEvent:
    return NewEvent(INVOKE, function, "req", b"{}", "trace", 0.0, due_at)


def test_async_queue_survives_reopening_and_leases(tmp_path: Path) -> None:
    path = tmp_path / "async.sqlite3"

    async def scenario() -> None:
        queue: ports.AsyncQueue = AsyncQueueStore(path)
        first = await queue.enqueue(new_event())
        await queue.enqueue(new_event("other", due_at=50.0))
        queue.close()  # the events were committed before enqueue returned

        queue = AsyncQueueStore(path)
        assert await queue.next_due(set()) == 0.0
        assert await queue.next_due({"fn"}) == 50.0
        (claimed,) = await queue.claim(10.0, 10, 30.0, set())
        assert (claimed.id, claimed.claims) == (first, 1)
        assert await queue.claim(20.0, 10, 30.0, set()) == []  # leased until 40
        assert queue.counts(20.0)["fn"]["in_flight"] == 1
        assert await queue.release_leases() == {"fn": 1}
        (again,) = await queue.claim(20.0, 10, 30.0, set())
        assert again.claims == 2
        again.due_at, again.errors = 100.0, 1
        await queue.reschedule(again)
        assert queue.counts(20.0)["fn"]["retrying"] == 1
        kept = Retained("fn", "dead-letter", None, "req", b"{}", None, 1.0)
        await queue.finish(again.id, [], [kept])
        await queue.retain(dataclasses.replace(kept, reason="other"))
        assert [r["reason"] for r in queue.retained("fn", 10)] == ["other", "dead-letter"]
        assert queue.counts(20.0)["fn"] == {
            "pending": 0,
            "in_flight": 0,
            "retrying": 0,
            "deliveries": 0,
            "retained": 2,
        }
        queue.close()

    asyncio.run(scenario())
