"""Alias and version rules (domain.aliases, domain.versions) and the alias service's routing and
persistence, against the responses recorded from AWS where they exist."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_recorded import ACCOUNT, REGION, assert_matches, recorded

from lamina.domain.aliases import (
    Alias,
    alias_shape_errors,
    check_routing,
    is_alias_name,
    validate_alias_name,
)
from lamina.domain.errors import LambdaError, ValidationException
from lamina.domain.models import FunctionConfig
from lamina.domain.names import validation_exception
from lamina.domain.versions import (
    check_publish_preconditions,
    fingerprint,
    max_items,
    page_after,
    publish_shape_errors,
    version_key,
)
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.store.aliases import SqliteAliasStore
from lamina.store.functions import SqliteFunctionStore

ROUTING = "TestLambdaAlias::test_notfound_and_invalid_routingconfigs"


def shape_error(params: dict[str, Any], *, create: bool = True) -> LambdaError:
    errors = alias_shape_errors(params, create=create)
    assert errors, params
    return validation_exception(errors)


def raised(call: Callable[[], Any]) -> LambdaError:
    with pytest.raises(LambdaError) as excinfo:
        call()
    return excinfo.value


def alias_params(version: str, weights: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": "custom",
        "FunctionVersion": version,
        "RoutingConfig": {"AdditionalVersionWeights": weights},
    }


def test_weight_shapes_match_aws() -> None:
    content = recorded(ROUTING)
    assert_matches(shape_error(alias_params("1", {"2": 2})), content["routing_config_exc_toohigh"])
    assert_matches(shape_error(alias_params("1", {"2": -1})), content["routing_config_exc_subzero"])
    assert_matches(
        shape_error(alias_params("1", {"$LATEST": 0.5})),
        content["routing_config_exc_version_latest"],
    )
    assert alias_shape_errors(alias_params("1", {"2": 0.0}), create=True) == []
    assert alias_shape_errors(alias_params("1", {"2": 1}), create=True) == []
    assert len(alias_shape_errors(alias_params("1", {"2": math.nan}), create=True)) == 1


def test_routing_rules_match_aws() -> None:
    content = recorded(ROUTING)
    assert_matches(
        raised(lambda: check_routing("1", {"1": 0.8, "2": 0.2})),
        content["routing_config_exc_toomany"],
    )
    assert_matches(
        raised(lambda: check_routing("1", {"1": 0.5})), content["routing_config_exc_sameversion"]
    )
    latest = raised(lambda: check_routing("$LATEST", {"1": 0.5}))
    assert_matches(latest, content["target_version_exc_version_latest"])
    assert "Type" not in latest.body()
    check_routing("$LATEST", {})
    check_routing("1", {"2": 0.5})


def test_alias_names_match_aws() -> None:
    content = recorded("TestLambdaAlias::test_alias_naming")
    params = {"Name": "2024", "FunctionVersion": "1"}
    assert_matches(shape_error(params), content["create_alias_number_exception"])
    assert validate_alias_name("2024-01-02") == "2024-01-02"
    with pytest.raises(ValidationException):
        validate_alias_name("a" * 129)
    assert is_alias_name("live") and is_alias_name("2024-01-02")
    assert not is_alias_name("12") and not is_alias_name("$LATEST")
    missing = shape_error({"Name": "x"})
    assert missing.message == (
        "1 validation error detected: Value null at 'functionVersion' failed to satisfy "
        "constraint: Member must not be null"
    )
    assert alias_shape_errors({"Name": "x"}, create=False) == []


def test_alias_wire_form() -> None:
    alias = Alias("fn", "live", "1", REGION, ACCOUNT, "rev", "d", {"2": 0.25})
    assert alias.to_wire() == {
        "AliasArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn:live",
        "Name": "live",
        "FunctionVersion": "1",
        "Description": "d",
        "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}},
        "RevisionId": "rev",
    }
    assert "RoutingConfig" not in alias.replace(weights={}).to_wire()
    assert Alias.from_record(alias.to_record()) == alias
    assert alias.versions == ("1", "2")


def config(**changes: Any) -> FunctionConfig:
    base = FunctionConfig(
        name="fn",
        region=REGION,
        account=ACCOUNT,
        role="arn:aws:iam::111111111111:role/r",
        runtime="python3.12",
        handler="index.handler",
        code_sha256="00" * 32,
        code_size=10,
        last_modified="2024-01-01T00:00:00.000+0000",
        revision_id="r1",
    )
    return base.replace(**changes)


def test_fingerprint_ignores_bookkeeping() -> None:
    base = config()
    assert fingerprint(base) == fingerprint(
        base.replace(
            version="3",
            revision_id="r2",
            last_modified="2025-01-01T00:00:00.000+0000",
            state="Active",
            last_update_status="Successful",
            published_from="x",
        )
    )
    for change in ({"description": "d"}, {"timeout": 9}, {"code_sha256": "11" * 32}):
        assert fingerprint(base) != fingerprint(base.replace(**change)), change


def test_publish_preconditions_match_aws() -> None:
    latest = config()
    content = recorded("TestLambdaVersions::test_publish_with_wrong_revisionid")
    assert_matches(
        raised(lambda: check_publish_preconditions(latest, "doesntexist", None)),
        content["publish_wrong_revisionid_exc"],
    )
    content = recorded("TestLambdaVersions::test_publish_with_wrong_sha256")
    assert_matches(
        raised(lambda: check_publish_preconditions(latest, None, "somenonexistentsha256")),
        content["publish_wrong_sha256_exc"],
        {"<code-sha256:1>": latest.code_sha256_b64},
    )
    check_publish_preconditions(latest, "r1", latest.code_sha256_b64)
    assert len(publish_shape_errors({"Description": "d" * 257, "PublishTo": "SOMEWHERE"})) == 2
    assert publish_shape_errors({"Description": "d" * 256}) == []


def test_pages_and_limits() -> None:
    items = [(version_key(v), v) for v in ("3", "$LATEST", "10", "1")]
    assert page_after(items, None, 2) == (["$LATEST", "1"], True)
    assert page_after(items, version_key("1"), 2) == (["3", "10"], False)
    assert page_after(items, version_key("2"), 5) == (["3", "10"], False)  # "2" was deleted
    assert page_after(items, version_key("10"), 5) == ([], False)
    assert max_items(None) is None and max_items(1) == 1 and max_items(10000) == 10000
    for bad in (0, 10001, "x"):
        with pytest.raises(ValidationException):
            max_items(bad)


# --- the service's routing and persistence ---------------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[FunctionCatalog, SqliteAliasStore]]:
    store = SqliteFunctionStore(tmp_path / "lamina.sqlite3")
    aliases = SqliteAliasStore(tmp_path / "lamina.sqlite3")
    functions = FunctionCatalog(store, AliasBook(aliases), REGION, ACCOUNT)
    yield functions, aliases
    aliases.close()
    store.close()


def test_route_by_weight(services: tuple[FunctionCatalog, SqliteAliasStore]) -> None:
    functions, store = services
    draws = iter([0.05, 0.15, 0.0999, 0.1])
    book = AliasBook(store, chance=lambda: next(draws))
    alias = Alias("fn", "live", "1", REGION, ACCOUNT, "rev", weights={"2": 0.1})
    assert [book.route(alias) for _ in range(4)] == ["2", "1", "2", "1"]
    assert book.route(alias.replace(weights={})) == "1"


def test_aliases_persist_and_cascade(services: tuple[FunctionCatalog, SqliteAliasStore]) -> None:
    functions, store = services
    latest = config(state="Active")
    assert functions.store.create(latest, {}, 0.0)
    alias = Alias("fn", "live", "$LATEST", REGION, ACCOUNT, "rev")
    assert store.create(alias)
    assert not store.create(alias)
    assert AliasBook(store).lookup("fn", "live") == alias
    functions.store.delete("fn")
    assert store.all() == []


def test_version_counter_migrates_old_data(tmp_path: Path) -> None:
    """A data directory from before versions had numbers: the counter column is added and
    numbering continues after the versions already there."""
    import sqlite3

    path = tmp_path / "lamina.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE functions (name TEXT PRIMARY KEY, tags TEXT NOT NULL DEFAULT '{}',"
        " created_at REAL NOT NULL);"
        "CREATE TABLE function_versions (name TEXT NOT NULL, version TEXT NOT NULL,"
        " config TEXT NOT NULL, PRIMARY KEY (name, version));"
        "INSERT INTO functions(name, created_at) VALUES ('fn', 0);"
        "INSERT INTO function_versions VALUES ('fn', '2', '{}');"
    )
    conn.commit()
    conn.close()
    store = SqliteFunctionStore(path)
    try:
        assert store.next_version("fn") == "3"
        published = config(version="3", published_from="x")
        store.publish(published, config())
        store.delete_version("fn", "3")
        assert store.next_version("fn") == "4"
    finally:
        store.close()
