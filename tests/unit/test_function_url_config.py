"""Function URL configurations: the wire's validation and the service's errors compared
with the recordings (TestLambdaUrl), the store's round trip, and the service's rules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
from aws_recorded import ACCOUNT, REGION, assert_matches, recorded

from lamina.api import url_wire
from lamina.domain.context import RequestContext
from lamina.domain.errors import LambdaError
from lamina.domain.names import FunctionRef
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.function_urls import FunctionUrlService
from lamina.services.url_address import UrlAddresses
from lamina.services.url_model import Cors, FunctionUrlConfig, UrlConfigChange
from lamina.store.function_url_store import SqliteFunctionUrlStore
from lamina.store.functions import SqliteFunctionStore
from lamina.store.sqlite import connect

CTX = RequestContext("req", ACCOUNT, REGION)
FN = "fn"
EXCEPTIONS = "TestLambdaUrl::test_url_config_exceptions"


class FakeCatalog:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def config(self, name: str, version: str = "$LATEST") -> object | None:
        return object() if name in self.names else None


class FakeAliases:
    def __init__(self, aliases: set[tuple[str, str]]) -> None:
        self.aliases = aliases

    def lookup(self, function: str, name: str) -> object | None:
        return object() if (function, name) in self.aliases else None


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, FunctionUrlConfig] = {}

    def put(self, config: FunctionUrlConfig) -> bool:
        self.rows[config.url_id] = config
        return True

    def delete(self, url_id: str) -> None:
        self.rows.pop(url_id, None)

    def all(self) -> list[FunctionUrlConfig]:
        return list(self.rows.values())

    def close(self) -> None:
        pass


def _service(
    names: set[str] | None = None, aliases: set[tuple[str, str]] | None = None
) -> tuple[FunctionUrlService, MemoryStore]:
    store = MemoryStore()
    service = FunctionUrlService(
        cast(SqliteFunctionUrlStore, store),
        cast(FunctionCatalog, FakeCatalog({FN} if names is None else names)),
        cast(AliasBook, FakeAliases({(FN, "urlalias")} if aliases is None else aliases)),
        UrlAddresses("http://127.0.0.1:4566"),
        REGION,
    )
    return service, store


def _error(call: Any) -> LambdaError:
    with pytest.raises(LambdaError) as caught:
        call()
    return caught.value


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# (recorded key, operation, params) of the wire's validation errors.
SHAPE_CASES = [
    (f"{op}_function_url_config_{case}", operation, params)
    for op, operation in (
        ("create", "CreateFunctionUrlConfig"),
        ("get", "GetFunctionUrlConfig"),
        ("delete", "DeleteFunctionUrlConfig"),
    )
    for case, params in (
        ("qualifier_version", {"FunctionName": FN, "Qualifier": "1"}),
        ("qualifier_version_doesnotexist", {"FunctionName": FN, "Qualifier": "2"}),
        ("qualifier_latest", {"FunctionName": FN, "Qualifier": "$LATEST"}),
        ("name_doesnotexist_qualifier", {"FunctionName": "nope", "Qualifier": "1"}),
    )
    if not (op == "delete" and case == "qualifier_latest")
]


@pytest.mark.parametrize(("key", "operation", "params"), SHAPE_CASES)
def test_qualifier_shapes_as_recorded(key: str, operation: str, params: dict[str, Any]) -> None:
    params = {**params, "AuthType": "NONE"} if operation.startswith("Create") else params
    if operation.startswith("Create"):
        error = _error(lambda: url_wire.change(CTX, params, operation, create=True))
    else:
        error = _error(lambda: url_wire.target(CTX, params, operation))
    assert_matches(error, recorded(EXCEPTIONS, key))


def test_qualifier_mismatch_as_recorded() -> None:
    params = {"FunctionName": f"{FN}:urlalias", "Qualifier": "other", "AuthType": "NONE"}
    for prefix, call in (
        ("create", lambda: url_wire.change(CTX, params, "CreateFunctionUrlConfig", create=True)),
        ("get", lambda: url_wire.target(CTX, params, "GetFunctionUrlConfig")),
    ):
        key = f"{prefix}_function_url_config_qualifier_alias_doesnotmatch_arn"
        assert_matches(_error(call), recorded(EXCEPTIONS, key))


def test_invoke_mode_as_recorded() -> None:
    params = {"FunctionName": FN, "AuthType": "NONE", "InvokeMode": "UNKNOWN"}
    error = _error(lambda: url_wire.change(CTX, params, "CreateFunctionUrlConfig", create=True))
    expected = recorded(
        "TestLambdaURL::test_lambda_url_invalid_invoke_mode",
        "invoke_function_invalid_invoke_type",
        file="test_lambda",
    )
    assert_matches(error, expected)


def test_service_errors_as_recorded() -> None:
    service, store = _service()
    missing = FunctionRef("nope", None)
    no_alias = FunctionRef(FN, "missing")
    change = UrlConfigChange(auth_type="NONE")
    for key, call in (
        ("create_function_url_config_name_doesnotexist", service.create(CTX, missing, change)),
        (
            "create_function_url_config_qualifier_alias_doesnotexist",
            service.create(CTX, no_alias, change),
        ),
    ):
        assert_matches(_error(lambda call=call: _run(call)), recorded(EXCEPTIONS, key))
    for key, ref in (
        ("get_function_url_config_name_doesnotexist", missing),
        ("get_function_url_config_qualifier_alias_doesnotexist", no_alias),
        ("get_function_url_config_config_doesnotexist", FunctionRef(FN, None)),
    ):
        assert_matches(_error(lambda ref=ref: service.get(CTX, ref)), recorded(EXCEPTIONS, key))
    assert store.rows == {}


def test_conflict_as_recorded() -> None:
    service, store = _service()
    target = FunctionRef(FN, None)
    created = _run(service.create(CTX, target, UrlConfigChange(auth_type="NONE")))
    error = _error(lambda: _run(service.create(CTX, target, UrlConfigChange(auth_type="NONE"))))
    expected = recorded("TestLambdaUrl::test_url_config_lifecycle", "failed_duplication")
    assert_matches(error, expected, {"<resource:1>": FN})
    assert list(store.rows.values()) == [created]


def test_create_answer_shape_as_recorded() -> None:
    service, _ = _service()
    config = _run(service.create(CTX, FunctionRef(FN, None), UrlConfigChange(auth_type="NONE")))
    out = url_wire.config_out(CTX, service, config, created_only=True, invoke_mode_given=False)
    expected = recorded("TestLambdaUrl::test_url_config_lifecycle", "url_creation")
    assert set(out) == set(expected) - {"ResponseMetadata"}
    got = url_wire.config_out(CTX, service, config)
    expected = recorded("TestLambdaUrl::test_url_config_lifecycle", "get_url_config")
    assert set(got) == set(expected) - {"ResponseMetadata"}
    assert got["FunctionUrl"] == f"http://{config.url_id}.lambda-url.{REGION}.localhost:4566/"
    assert len(config.url_id) == 32 and config.url_id.isalnum() and config.url_id.islower()


def test_update_keeps_what_is_not_given() -> None:
    service, _ = _service()
    target = FunctionRef(FN, "urlalias")
    cors = Cors(allow_origins=("*",), max_age=10)
    created = _run(
        service.create(CTX, target, UrlConfigChange(auth_type="NONE", cors=cors, cors_given=True))
    )
    updated = _run(service.update(CTX, target, UrlConfigChange(invoke_mode="RESPONSE_STREAM")))
    assert (updated.auth_type, updated.cors, updated.url_id) == ("NONE", cors, created.url_id)
    assert updated.invoke_mode == "RESPONSE_STREAM" and updated.created == created.created
    cleared = _run(service.update(CTX, target, UrlConfigChange(cors=None, cors_given=True)))
    assert cleared.cors is None
    assert service.lookup(created.url_id) == cleared


def test_function_deleted_forgets_its_urls() -> None:
    service, _ = _service()
    config = _run(service.create(CTX, FunctionRef(FN, None), UrlConfigChange(auth_type="NONE")))
    service.function_deleted(FN)
    assert service.lookup(config.url_id) is None


def test_store_round_trip_and_cascade(tmp_path: Path) -> None:
    database = tmp_path / "lamina.sqlite3"
    functions = SqliteFunctionStore(database)
    store = SqliteFunctionUrlStore(database)
    config = FunctionUrlConfig(
        url_id="a" * 32,
        function=FN,
        qualifier="live",
        auth_type="AWS_IAM",
        invoke_mode="RESPONSE_STREAM",
        cors=Cors(allow_credentials=True, allow_methods=("GET",), max_age=0),
        created=1.5,
        modified=2.5,
    )
    assert store.put(config) is False  # no such function: nothing stored
    assert store.all() == []
    raw = connect(database)
    raw.execute("INSERT INTO functions(name, created_at) VALUES (?, 0)", (FN,))
    assert store.put(config) is True
    unqualified = FunctionUrlConfig("b" * 32, FN, None, "NONE", created=1.0, modified=1.0)
    assert store.put(unqualified) is True
    assert sorted(store.all(), key=lambda c: c.url_id) == [config, unqualified]
    store.delete("b" * 32)
    assert store.all() == [config]
    raw.execute("DELETE FROM functions WHERE name=?", (FN,))  # the function's deletion
    assert store.all() == []
    raw.close()
    store.close()
    functions.close()
