"""The configuration services with typed requests (aliases, reserved and provisioned
concurrency, event invoke configs), their wire conversion, handlers and signals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lamina.api.lambda_config_api import lambda_config_handlers
from lamina.api.lambda_wire import aliases as alias_wire
from lamina.api.lambda_wire import event_invoke_config as config_wire
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    LambdaError,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from lamina.domain.models import FunctionConfig
from lamina.domain.provisioned import AllocationStatus
from lamina.domain.requests.aliases import AliasKey, CreateAlias, ListAliases, UpdateAlias
from lamina.domain.requests.concurrency import PutFunctionConcurrency
from lamina.domain.requests.provisioned import ProvisionedTarget, PutProvisionedConcurrency
from lamina.runtime.concurrency import ConcurrencyLimiter
from lamina.services.alias_book import AliasBook
from lamina.services.aliases import AliasService
from lamina.services.concurrency import ConcurrencyService
from lamina.services.event_invoke_config import EventInvokeConfigService
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.metrics import MetricsCollector
from lamina.services.provisioned import ProvisionedConcurrencyService
from lamina.services.signals import LambdaSignals
from lamina.store.aliases import SqliteAliasStore
from lamina.store.concurrency import SqliteConcurrencyStore
from lamina.store.event_invoke_config import SqliteEventInvokeConfigStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.provisioned import SqliteProvisionedStore

REGION, ACCOUNT = "eu-west-1", "123456789012"
CTX = RequestContext("req-1", ACCOUNT, REGION)


def function_config(version: str = "$LATEST") -> FunctionConfig:
    return FunctionConfig(
        name="fn",
        region=REGION,
        account=ACCOUNT,
        role=f"arn:aws:iam::{ACCOUNT}:role/r",
        runtime="python3.12",
        handler="index.handler",
        code_sha256="00" * 32,
        code_size=10,
        last_modified="2024-01-01T00:00:00.000+0000",
        revision_id="r1",
        version=version,
    )


@dataclass
class FakeEnvironments:
    """What the provisioned service tells ProvisionedEnvironments, recorded."""

    configured: dict[str, dict[str, Any]] = field(default_factory=dict)

    def configure(self, key: str, function: str, targets: dict[str, Any]) -> None:
        self.configured[key] = {version: count for version, (_, count) in targets.items()}

    def remove(self, key: str) -> None:
        self.configured.pop(key, None)

    def status(self, key: str) -> AllocationStatus:
        wanted = sum(self.configured.get(key, {}).values())
        return AllocationStatus("READY", wanted, wanted)


@dataclass
class Region:
    signals: LambdaSignals
    book: AliasBook
    catalog: FunctionCatalog
    aliases: AliasService
    concurrency: ConcurrencyService
    provisioned: ProvisionedConcurrencyService
    configs: EventInvokeConfigService
    environments: FakeEnvironments
    events: list[tuple[Any, ...]]


@pytest.fixture
def region(tmp_path: Path) -> Iterator[Region]:
    database = tmp_path / "lamina.sqlite3"
    store = SqliteFunctionStore(database)
    assert store.create(function_config(), {}, 0.0)
    for version in ("1", "2"):
        store.put_version(function_config(version))
    signals = LambdaSignals()
    events: list[tuple[Any, ...]] = []
    signals.alias_changed.connect(lambda f, a: events.append(("alias", f, a)))
    signals.capacity_freed.connect(lambda: events.append(("capacity",)))
    book = AliasBook(SqliteAliasStore(database))
    catalog = FunctionCatalog(store, book, REGION, ACCOUNT)
    limiter = ConcurrencyLimiter(100, unreserved_minimum=10)
    environments = FakeEnvironments()
    provisioned = ProvisionedConcurrencyService(
        SqliteProvisionedStore(database),
        catalog,
        book,
        limiter,
        environments,
        signals,  # type: ignore[arg-type]
    )
    configs = EventInvokeConfigService(SqliteEventInvokeConfigStore(database), catalog, book)
    signals.alias_changed.connect(provisioned.alias_changed)
    yield Region(
        signals,
        book,
        catalog,
        AliasService(book, catalog, signals),
        ConcurrencyService(SqliteConcurrencyStore(database), catalog, limiter, signals),
        provisioned,
        configs,
        environments,
        events,
    )
    store.close()


def raised(call: Any) -> LambdaError:
    with pytest.raises(LambdaError) as excinfo:
        call()
    return excinfo.value


# --- wire conversion ---------------------------------------------------------------------------


def test_alias_wire_reports_name_errors_first_then_arn_rules() -> None:
    error = raised(lambda: alias_wire.create_alias(CTX, {"FunctionName": "bad name!", "Name": "9"}))
    assert isinstance(error, ValidationException)
    assert error.message.startswith("3 validation errors detected: Value 'bad name!' at")
    other_account = "arn:aws:lambda:eu-west-1:000000000000:function:fn"
    params = {"FunctionName": other_account, "Name": "live", "FunctionVersion": "1"}
    assert isinstance(raised(lambda: alias_wire.create_alias(CTX, params)), AccessDeniedException)
    request = alias_wire.create_alias(
        CTX,
        {
            "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:fn:ignored",
            "Name": "live",
            "FunctionVersion": "1",
            "RoutingConfig": {"AdditionalVersionWeights": {"2": 1}},
        },
    )
    assert request == CreateAlias("fn", "live", "1", "", {"2": 1.0})


def test_event_config_wire_checks_settings_before_the_function_arn() -> None:
    other_account = {"FunctionName": "arn:aws:lambda:eu-west-1:000000000000:function:fn"}
    assert isinstance(
        raised(lambda: config_wire.put_config(CTX, other_account)), InvalidParameterValueException
    )
    bad = {"FunctionName": "fn", "MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 1}
    error = raised(lambda: config_wire.update_config(CTX, bad))
    assert error.message.startswith("2 validation errors detected:")


# --- services ----------------------------------------------------------------------------------


def test_alias_lifecycle_emits_alias_changed(region: Region) -> None:
    aliases = region.aliases
    created = aliases.create(CTX, CreateAlias("fn", "live", "1", "first"))
    assert created.arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn:live"
    assert region.events == []
    with pytest.raises(ResourceConflictException):
        aliases.create(CTX, CreateAlias("fn", "live", "2"))
    with pytest.raises(PreconditionFailedException):
        aliases.update(CTX, UpdateAlias("fn", "live", revision_id="stale"))
    updated = aliases.update(CTX, UpdateAlias("fn", "live", weights={"2": 0.5}))
    assert (updated.description, updated.weights) == ("first", {"2": 0.5})
    assert updated.revision_id != created.revision_id
    assert region.events == [("alias", "fn", "live")]
    page = aliases.list_aliases(CTX, ListAliases("fn", function_version="1"))
    assert page.aliases == (updated,) and page.next_marker is None
    aliases.delete(CTX, AliasKey("fn", "live"))
    aliases.delete(CTX, AliasKey("fn", "live"))  # absent: succeeds, no second signal
    assert region.events == [("alias", "fn", "live")] * 2
    with pytest.raises(ResourceNotFoundException):
        aliases.get(CTX, AliasKey("fn", "live"))


def test_rejected_alias_changes_nothing(region: Region) -> None:
    with pytest.raises(ResourceNotFoundException) as excinfo:
        region.aliases.create(CTX, CreateAlias("fn", "live", "7"))
    assert excinfo.value.message.endswith("function:fn:7")
    with pytest.raises(InvalidParameterValueException):
        region.aliases.create(CTX, CreateAlias("fn", "live", "1", weights={"1": 0.5}))
    assert region.book.aliases_of("fn") == []


def test_reservation_frees_capacity_and_follows_the_function(region: Region) -> None:
    concurrency = region.concurrency
    assert concurrency.put(CTX, PutFunctionConcurrency("fn", 30)) == 30
    assert concurrency.get(CTX, "fn") == 30 and concurrency.reserved("fn") == 30
    figures = concurrency.account_concurrency()
    assert (figures.limit, figures.unreserved) == (100, 70)
    assert region.events == [("capacity",)]
    with pytest.raises(ResourceNotFoundException):
        concurrency.put(CTX, PutFunctionConcurrency("nope", 1))
    region.catalog.store.delete("fn")
    region.catalog.forget_function("fn")
    concurrency.function_changed("fn")
    assert concurrency.reserved("fn") is None
    assert concurrency.account_concurrency().unreserved == 100


def test_provisioned_alias_follows_its_alias(region: Region) -> None:
    region.aliases.create(CTX, CreateAlias("fn", "live", "1"))
    latest = PutProvisionedConcurrency(ProvisionedTarget("fn", None), 2)
    with pytest.raises(InvalidParameterValueException):
        region.provisioned.put(CTX, latest)
    view = region.provisioned.put(
        CTX, PutProvisionedConcurrency(ProvisionedTarget("fn", "live"), 4)
    )
    assert view.config.requested == 4 and view.status.status == "READY"
    assert region.environments.configured == {"fn:live": {"1": 4}}
    region.aliases.update(CTX, UpdateAlias("fn", "live", function_version="2"))
    assert region.environments.configured == {"fn:live": {"2": 4}}
    region.aliases.delete(CTX, AliasKey("fn", "live"))
    assert region.environments.configured == {}
    assert ("capacity",) in region.events


def test_handlers_render_the_wire_shapes(region: Region) -> None:
    handlers = lambda_config_handlers(
        region.aliases, region.concurrency, region.provisioned, region.configs
    )

    def call(operation: str, **params: Any) -> dict[str, Any]:
        return asyncio.run(handlers[operation](CTX, params))

    call("CreateAlias", FunctionName="fn", Name="live", FunctionVersion="1")
    out = call("GetAlias", FunctionName="fn", Name="live")
    assert list(out) == ["AliasArn", "Name", "FunctionVersion", "Description", "RevisionId"]
    assert call("GetFunctionConcurrency", FunctionName="fn") == {}
    put = call("PutFunctionConcurrency", FunctionName="fn", ReservedConcurrentExecutions=5)
    assert put == {"ReservedConcurrentExecutions": 5}
    call("PutProvisionedConcurrencyConfig", FunctionName="fn", Qualifier="1",
         ProvisionedConcurrentExecutions=1)  # fmt: skip
    listed = call("ListProvisionedConcurrencyConfigs", FunctionName="fn")
    assert listed["ProvisionedConcurrencyConfigs"][0]["FunctionArn"].endswith(
        f"{REGION}:{ACCOUNT}:function:fn:1"
    )
    config = call(
        "PutFunctionEventInvokeConfig", FunctionName="fn", Qualifier="live", MaximumRetryAttempts=1
    )
    assert config["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn:live"
    updated = call(
        "UpdateFunctionEventInvokeConfig",
        FunctionName="fn",
        Qualifier="live",
        MaximumEventAgeInSeconds=60,
    )
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 60)
    page = call("ListFunctionEventInvokeConfigs", FunctionName="fn", MaxItems=1)
    assert len(page["FunctionEventInvokeConfigs"]) == 1 and "NextMarker" not in page
    assert call("DeleteFunctionEventInvokeConfig", FunctionName="fn", Qualifier="live") == {}
    with pytest.raises(ResourceNotFoundException):
        call("GetFunctionEventInvokeConfig", FunctionName="fn", Qualifier="live")


def test_metrics_sources_render_in_registration_order() -> None:
    metrics = MetricsCollector(sources=[lambda f: "# first\n"])
    metrics.add_source(lambda f: "# second\n")
    text = metrics.render()
    assert text.index("# first") < text.index("# second")
