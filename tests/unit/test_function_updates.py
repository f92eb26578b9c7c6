"""State transitions of updates (services.function_updates, domain.function_states): stored
``InProgress`` until applied, what invocations resolve meanwhile, versions published with an
update, restart recovery, SnapStart's wire form."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from lamina.domain import function_states
from lamina.domain.errors import ResourceConflictException
from lamina.domain.models import LATEST, FunctionConfig
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.function_updates import FunctionUpdates
from lamina.services.signals import LambdaSignals
from lamina.store.aliases import SqliteAliasStore
from lamina.store.functions import SqliteFunctionStore

REGION, ACCOUNT = "us-east-1", "000000000000"
AWS_CONFLICT = (
    "The operation cannot be performed at this time. An update is in progress for resource: "
    "arn:aws:lambda:us-east-1:000000000000:function:fn"
)


def config(**changes: object) -> FunctionConfig:
    base = FunctionConfig(
        name="fn",
        region=REGION,
        account=ACCOUNT,
        role="arn:aws:iam::000000000000:role/r",
        runtime="python3.12",
        handler="h.handler",
        code_sha256="00" * 32,
        code_size=1,
        last_modified="2026-01-01T00:00:00.000+0000",
        revision_id=str(uuid.uuid4()),
        state="Active",
        state_reason=None,
        state_reason_code=None,
        last_update_status="Successful",
    )
    return base.replace(**changes)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[FunctionCatalog]:
    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3")
    aliases = SqliteAliasStore(tmp_path / "lamina.sqlite3")
    catalog = FunctionCatalog(store, AliasBook(aliases), REGION, ACCOUNT)
    created = config()
    assert store.create(created, {}, 0.0)
    catalog.remember(created)
    yield catalog
    store.close()
    aliases.close()


def changed_names(signals: LambdaSignals) -> list[str]:
    names: list[str] = []
    signals.function_changed.connect(names.append)
    return names


def begin(catalog: FunctionCatalog, **changes: object) -> FunctionConfig:
    previous = catalog.require("fn")
    updated = previous.replace(
        revision_id=str(uuid.uuid4()), **changes, **function_states.UPDATE_IN_PROGRESS
    )
    catalog.begin_update(previous, updated)
    return updated


# --- domain ------------------------------------------------------------------------------


def test_the_conflict_is_awss_409_only_while_updating() -> None:
    function_states.check_not_updating(config())
    with pytest.raises(ResourceConflictException) as excinfo:
        function_states.check_not_updating(config(**function_states.UPDATE_IN_PROGRESS))
    assert (excinfo.value.status, str(excinfo.value.args[0])) == (409, AWS_CONFLICT)


@pytest.mark.parametrize(
    ("apply_on", "version", "wire"),
    [
        ("None", LATEST, {"ApplyOn": "None", "OptimizationStatus": "Off"}),
        ("None", "1", {"ApplyOn": "None", "OptimizationStatus": "Off"}),
        (
            "PublishedVersions",
            LATEST,
            {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"},
        ),
        ("PublishedVersions", "3", {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}),
    ],
)
def test_snap_start_wire(apply_on: str, version: str, wire: dict[str, str]) -> None:
    shown = config(snap_start_apply_on=apply_on, version=version)
    assert shown.to_wire()["SnapStart"] == wire
    # The record round-trips, and leaves the default out (fingerprints stay as they were).
    assert FunctionConfig.from_record(shown.to_record()) == shown
    assert ("snap_start_apply_on" in shown.to_record()) == (apply_on != "None")


# --- transitions ---------------------------------------------------------------------------


def test_an_update_is_stored_in_progress_and_applied_on_the_next_loop_turn(
    catalog: FunctionCatalog,
) -> None:
    signals = LambdaSignals()
    changed = changed_names(signals)
    updates = FunctionUpdates(catalog, signals)
    before = catalog.require("fn")

    async def scenario() -> None:
        updated = begin(catalog, description="new")
        updates.begin("fn")
        # Stored (durably) and shown in progress; invocations still get the old one.
        assert catalog.store.get("fn") == updated
        assert catalog.require("fn").last_update_status == "InProgress"
        assert catalog.require("fn", route=True) == before
        assert changed == []
        await asyncio.sleep(0)
        applied = catalog.require("fn")
        assert applied.last_update_status == "Successful"
        assert applied.last_update_status_reason is None
        assert applied.description == "new"
        assert applied.revision_id != updated.revision_id
        assert catalog.require("fn", route=True) == applied
        assert catalog.store.get("fn") == applied
        assert changed == ["fn"]

    asyncio.run(scenario())


def test_settle_seconds_hold_the_update(catalog: FunctionCatalog) -> None:
    updates = FunctionUpdates(catalog, LambdaSignals(), settle_seconds=0.2)

    async def scenario() -> None:
        begin(catalog)
        updates.begin("fn")
        await asyncio.sleep(0.05)
        with pytest.raises(ResourceConflictException):
            function_states.check_not_updating(catalog.require("fn"))
        await asyncio.sleep(0.3)
        function_states.check_not_updating(catalog.require("fn"))

    asyncio.run(scenario())


def test_a_version_published_with_the_update_becomes_active(catalog: FunctionCatalog) -> None:
    updates = FunctionUpdates(catalog, LambdaSignals())

    async def scenario() -> None:
        updated = begin(catalog, description="v1")
        version, created = catalog.publish(updated, pending=True)
        assert created and version.version == "1"
        shown = version.to_wire()
        assert (shown["State"], shown["StateReasonCode"]) == ("Pending", "Creating")
        assert "LastUpdateStatus" not in shown
        updates.begin("fn", "1")
        await asyncio.sleep(0)
        active = catalog.require("fn", "1")
        assert (active.state, active.state_reason, active.last_update_status) == (
            "Active",
            None,
            "Successful",
        )
        assert active.revision_id == version.revision_id
        assert catalog.store.get("fn", "1") == active

    asyncio.run(scenario())


def test_a_deleted_function_is_not_brought_back(catalog: FunctionCatalog) -> None:
    signals = LambdaSignals()
    updates = FunctionUpdates(catalog, signals, settle_seconds=0.05)

    async def scenario() -> None:
        begin(catalog)
        updates.begin("fn")
        catalog.store.delete("fn")
        catalog.forget_function("fn")
        updates.forget("fn")
        await asyncio.sleep(0.1)
        assert catalog.config("fn") is None
        assert catalog.store.get("fn") is None

    asyncio.run(scenario())


def test_the_clean_up_runs_once_the_update_is_applied_or_the_function_deleted(
    catalog: FunctionCatalog,
) -> None:
    """The package of the configuration before an update is released only when that
    configuration stops serving invocations."""
    updates = FunctionUpdates(catalog, LambdaSignals(), settle_seconds=0.05)
    cleaned: list[str] = []

    def clean_up(label: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            cleaned.append(label)

        return run

    async def scenario() -> None:
        begin(catalog)
        updates.begin("fn", None, clean_up("applied"))
        await asyncio.sleep(0.01)
        assert cleaned == []  # still serving the configuration before the update
        await asyncio.sleep(0.1)
        assert cleaned == ["applied"]
        begin(catalog)
        updates.begin("fn", None, clean_up("deleted"))
        updates.forget("fn")
        await asyncio.sleep(0.01)
        assert cleaned == ["applied", "deleted"]
        await updates.stop()

    asyncio.run(scenario())


def test_recover_applies_what_a_previous_run_left(catalog: FunctionCatalog) -> None:
    updated = begin(catalog)
    catalog.publish(updated, pending=True)
    fresh = FunctionCatalog(catalog.store, catalog.aliases, REGION, ACCOUNT)
    FunctionUpdates(fresh, LambdaSignals()).recover()
    assert fresh.require("fn").last_update_status == "Successful"
    assert fresh.require("fn", "1").state == "Active"
    assert catalog.store.get("fn", "1") == fresh.require("fn", "1")
