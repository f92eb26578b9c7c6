"""The typed function services (no wire dicts): FunctionService/VersionService over real
SQLite stores and a code store, the AliasBook both sides of the functions/aliases cycle read,
the signals a write emits, and the wire conversions of ``api.lambda_wire``."""

from __future__ import annotations

import asyncio
import functools
import io
import zipfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lamina.api.lambda_wire import functions as function_wire
from lamina.api.lambda_wire import invoke as invoke_wire
from lamina.domain.aliases import Alias
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    InvalidParameterValueException,
    LambdaError,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from lamina.domain.models import LATEST, FunctionConfig
from lamina.domain.requests.functions import (
    CodeSource,
    CreateFunctionRequest,
    FunctionSettings,
    LoggingSettings,
    UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
)
from lamina.domain.requests.versions import PublishVersionRequest
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.function_packages import FunctionPackages
from lamina.services.functions import FunctionService
from lamina.services.signals import LambdaSignals
from lamina.services.versions import VersionService
from lamina.store.aliases import SqliteAliasStore
from lamina.store.code import CodeStore
from lamina.store.functions import SqliteFunctionStore

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
CTX = RequestContext("req-1", ACCOUNT, REGION)


def package(text: str = "def handler(event, context):\n    return 1\n") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", text)
    return buf.getvalue()


@dataclass
class Region:
    functions: FunctionService
    versions: VersionService
    book: AliasBook
    changed: list[str]
    deleted: list[str]


@pytest.fixture
def region(tmp_path: Path) -> Iterator[Region]:
    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3")
    book = AliasBook(SqliteAliasStore(tmp_path / "lamina.sqlite3"))
    catalog = FunctionCatalog(store, book, REGION, ACCOUNT)
    signals = LambdaSignals()
    changed: list[str] = []
    deleted: list[str] = []
    signals.function_changed.connect(changed.append)
    signals.function_deleted.connect(deleted.append)
    packages = FunctionPackages(CodeStore(tmp_path / "code"), store, None)
    functions = FunctionService(catalog, packages, signals, lambda sha: f"https://code/{sha}")
    yield Region(functions, VersionService(catalog), book, changed, deleted)
    book.close()
    store.close()


def create_request(name: str = "fn", **settings: Any) -> CreateFunctionRequest:
    base: dict[str, Any] = {"role": ROLE, "runtime": "python3.12", "handler": "index.handler"}
    return CreateFunctionRequest(
        name=name,
        settings=FunctionSettings(**{**base, **settings}),
        code=CodeSource(zip_file=package()),
    )


def in_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in its own event loop (fixtures are resolved by name)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def raised(error: type[LambdaError], call: Any) -> LambdaError:
    with pytest.raises(error) as excinfo:
        call()
    return excinfo.value


# --- the service --------------------------------------------------------------------------------


@in_loop
async def test_create_answers_pending_and_stores_active(region: Region) -> None:
    created = await region.functions.create(create_request(timeout=9))
    assert created.config.state == "Pending" and created.published is None
    stored = region.functions.get_configuration("fn", None)
    assert stored.state == "Active" and stored.timeout == 9
    assert stored.revision_id != created.config.revision_id
    details = region.functions.get_function("fn", None)
    assert details.code_location == f"https://code/{stored.code_sha256}"
    assert details.tags is None


@in_loop
async def test_create_with_publish_answers_the_version(region: Region) -> None:
    request = create_request()
    created = await region.functions.create(
        CreateFunctionRequest(request.name, request.settings, request.code, publish=True)
    )
    assert created.published is not None and created.published.version == "1"
    assert function_wire.created_to_wire(created)["Version"] == "1"


@in_loop
async def test_rejected_create_changes_nothing(region: Region) -> None:
    with pytest.raises(InvalidParameterValueException, match="reserved keys"):
        await region.functions.create(create_request(environment={"AWS_REGION": "x"}))
    with pytest.raises(InvalidParameterValueException, match="mandatory"):
        await region.functions.create(create_request(handler=None))
    assert region.functions.config("fn") is None
    await region.functions.create(create_request())
    with pytest.raises(ResourceConflictException, match="Function already exist: fn"):
        await region.functions.create(create_request())
    assert region.changed == []  # creating is no change of an existing function


@in_loop
async def test_updates_take_typed_settings_and_emit_function_changed(region: Region) -> None:
    await region.functions.create(create_request())
    latest = region.functions.config("fn")
    assert latest is not None
    stale = UpdateFunctionConfigurationRequest("fn", None, FunctionSettings(), "stale")
    with pytest.raises(PreconditionFailedException):
        await region.functions.update_configuration(stale)
    qualified = UpdateFunctionConfigurationRequest("fn", "1", FunctionSettings(timeout=5))
    with pytest.raises(InvalidParameterValueException, match="versions other than"):
        await region.functions.update_configuration(qualified)
    assert region.changed == []
    settings = FunctionSettings(
        memory_size=256, logging=LoggingSettings(log_format="JSON"), environment={}
    )
    answer = await region.functions.update_configuration(
        UpdateFunctionConfigurationRequest("fn", None, settings, latest.revision_id)
    )
    assert answer.last_update_status == "InProgress"
    # A second update while this one is in progress is refused (AWS's 409) ...
    code = UpdateFunctionCodeRequest("fn", None, CodeSource(zip_file=package("x = 2\n")))
    with pytest.raises(ResourceConflictException, match="An update is in progress"):
        await region.functions.update_code(code)
    # ... until the loop's next turn applies it (function_changed then).
    await asyncio.sleep(0)
    assert region.changed == ["fn"]
    stored = region.functions.get_configuration("fn", None)
    assert stored.last_update_status == "Successful"
    assert stored.memory_size == 256 and stored.environment == {}
    assert (stored.application_log_level, stored.system_log_level) == ("INFO", "INFO")
    await region.functions.update_code(code)
    await asyncio.sleep(0)
    assert region.changed == ["fn", "fn"]
    assert region.functions.get_configuration("fn", None).code_sha256 != stored.code_sha256


@in_loop
async def test_update_code_dry_run_changes_nothing(region: Region) -> None:
    await region.functions.create(create_request())
    before = region.functions.get_configuration("fn", None)
    code = CodeSource(zip_file=package("y = 1\n"))
    answer = await region.functions.update_code(
        UpdateFunctionCodeRequest("fn", None, code, dry_run=True)
    )
    assert answer == before == region.functions.get_configuration("fn", None)
    assert region.changed == []


@in_loop
async def test_alias_book_guards_versions_and_resolves_qualifiers(region: Region) -> None:
    await region.functions.create(create_request())
    published = region.versions.publish(PublishVersionRequest("fn"))
    assert published.version == "1"
    # Nothing changed since: the same version again.
    assert region.versions.publish(PublishVersionRequest("fn")).revision_id == (
        published.revision_id
    )
    alias = Alias("fn", "live", "1", REGION, ACCOUNT, "rev")
    assert region.book.create(alias) and not region.book.create(alias)
    assert region.functions.require("fn", "live").version == "1"
    error = raised(ResourceNotFoundException, lambda: region.functions.require("fn", "gone"))
    assert error.message.endswith("function:fn:gone")
    with pytest.raises(ResourceConflictException, match=r"reference it: \[live\]"):
        await region.functions.delete("fn", "1")
    assert region.functions.config("fn", "1") is not None
    assert region.book.delete("fn", "live") and not region.book.delete("fn", "live")
    await region.functions.delete("fn", "1")
    assert region.functions.config("fn", "1") is None
    assert region.deleted == []  # a version went, not the function
    await region.functions.delete("fn", None)
    assert region.functions.config("fn") is None
    assert region.deleted == ["fn"] and region.changed == ["fn", "fn"]


@in_loop
async def test_alias_book_is_write_through(tmp_path: Path) -> None:
    store = SqliteAliasStore(tmp_path / "aliases.sqlite3")
    SqliteFunctionStore(tmp_path / "aliases.sqlite3").create(
        FunctionConfig("fn", REGION, ACCOUNT, ROLE, None, None, "00" * 32, 1, "t", "r"),
        {},
        0.0,
    )
    book = AliasBook(store)
    alias = Alias("fn", "live", LATEST, REGION, ACCOUNT, "rev", weights={})
    assert book.create(alias)
    assert AliasBook(store).lookup("fn", "live") == alias  # a fresh book reads the store
    book.put(alias.replace(description="d"))
    assert AliasBook(store).aliases_of("fn")[0].description == "d"
    assert book.resolve("fn", "live") == LATEST and book.resolve("fn", "7") == "7"
    store.close()


@in_loop
async def test_tags_and_list_pages(region: Region) -> None:
    for name in ("a", "b", "c"):
        await region.functions.create(create_request(name))
    with pytest.raises(InvalidParameterValueException):
        region.functions.tag("a", {})  # TagResource with no tags
    region.functions.tag("a", {"k": "v"})
    region.functions.untag("a", ["missing"])
    assert region.functions.list_tags("a") == {"k": "v"}
    assert region.functions.get_function("a", None).tags == {"k": "v"}
    assert region.functions.get_function("a", LATEST).tags == {"k": "v"}
    with pytest.raises(ResourceNotFoundException):
        region.functions.list_tags("nope")
    page = region.functions.list_functions(all_versions=False, marker=None, max_items=2)
    assert [c.name for c in page.configs] == ["a", "b"] and page.next_marker == "b"
    rest = region.functions.list_functions(all_versions=False, marker="b", max_items=2)
    assert [c.name for c in rest.configs] == ["c"] and rest.next_marker is None
    usage = region.functions.code_usage()
    assert usage.function_count == 3 and usage.total_code_size == 3 * len(package())


# --- the wire -------------------------------------------------------------------------------------


def test_settings_of_keeps_what_was_given() -> None:
    settings = function_wire.settings_of(
        {
            "Environment": {},
            "TracingConfig": {},
            "Layers": [],
            "Timeout": 7,
            "VpcConfig": {"SubnetIds": []},
            "Description": "",
        }
    )
    assert settings.environment == {} and settings.tracing_mode == "PassThrough"
    assert settings.layers == () and settings.timeout == 7 and settings.description == ""
    assert settings.passthrough == {"VpcConfig": {"SubnetIds": []}}
    assert settings.role is None and settings.logging is None
    assert function_wire.settings_of({}).layers is None


def test_apply_to_text_logging_drops_levels() -> None:
    config = FunctionConfig("fn", REGION, ACCOUNT, ROLE, None, None, "00" * 32, 1, "t", "r")
    as_json = FunctionSettings(logging=LoggingSettings(log_format="JSON", system_log_level="WARN"))
    configured = as_json.apply_to(config)
    assert (configured.application_log_level, configured.system_log_level) == ("INFO", "WARN")
    as_text = FunctionSettings(logging=LoggingSettings(log_format="Text", log_group="/g"))
    plain = as_text.apply_to(configured)
    assert plain.application_log_level is None and plain.log_group == "/g"
    assert FunctionSettings().apply_to(config) is config


def test_wire_shape_errors_come_before_the_service() -> None:
    with pytest.raises(ValidationException, match="at 'functionVersion'"):
        function_wire.list_functions_options({"FunctionVersion": "SOME"})
    with pytest.raises(ValidationException, match="at 'invocationType'"):
        invoke_wire.invoke_request(CTX, {"FunctionName": "fn", "InvocationType": "Later"})
    with pytest.raises(ValidationException, match="1 validation error detected"):
        function_wire.update_configuration_request(CTX, {"FunctionName": "fn", "Timeout": 0})
    request = invoke_wire.invoke_async_request(CTX, {"FunctionName": "fn:live"})
    assert (request.invocation_type, request.qualifier) == ("Event", "live")
    ref = function_wire.function_ref(
        CTX, {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn:3"}, "GetFunction"
    )
    assert (ref.name, ref.qualifier) == ("fn", "3")
