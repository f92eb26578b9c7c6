"""FunctionPolicies (AddPermission / GetPolicy / RemovePermission, ``allows``), its store and
its wire validation, against the recorded errors of ``TestLambdaPermissions``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_recorded import assert_matches, recorded

from lamina.api.lambda_wire import policies as wire
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
from lamina.domain.models import FunctionConfig
from lamina.domain.policies import (
    AddPermissionRequest,
    PolicyLengthExceededException,
    render_principal,
)
from lamina.services.alias_book import AliasBook
from lamina.services.function_catalog import FunctionCatalog
from lamina.services.function_policies import FunctionPolicies
from lamina.store.aliases import SqliteAliasStore
from lamina.store.function_policy_store import STEPS, SqliteFunctionPolicyStore
from lamina.store.functions import SqliteFunctionStore

REGION, ACCOUNT = "us-east-1", "111111111111"
CTX = RequestContext("req-1", ACCOUNT, REGION)
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"


def function_config(version: str = "$LATEST", name: str = "fn") -> FunctionConfig:
    return FunctionConfig(
        name=name,
        region=REGION,
        account=ACCOUNT,
        role=f"arn:aws:iam::{ACCOUNT}:role/r",
        runtime="python3.12",
        handler="index.handler",
        code_sha256="00" * 32,
        code_size=10,
        last_modified="2024-01-01T00:00:00.000+0000",
        revision_id=f"rev-{version}",
        version=version,
    )


@dataclass
class Region:
    database: Path
    functions: SqliteFunctionStore
    book: AliasBook
    catalog: FunctionCatalog
    policies: FunctionPolicies

    def reopen(self) -> FunctionPolicies:
        self.policies.close()
        self.policies = FunctionPolicies(
            SqliteFunctionPolicyStore(self.database), self.catalog, self.book, REGION, ACCOUNT
        )
        return self.policies


@pytest.fixture
def region(tmp_path: Path) -> Iterator[Region]:
    database = tmp_path / "lamina.sqlite3"
    functions = SqliteFunctionStore(database)
    assert functions.create(function_config(), {}, 0.0)
    functions.put_version(function_config("1"))
    book = AliasBook(SqliteAliasStore(database))
    assert book.create(Alias("fn", "live", "1", REGION, ACCOUNT, "alias-rev"))
    catalog = FunctionCatalog(functions, book, REGION, ACCOUNT)
    policies = FunctionPolicies(SqliteFunctionPolicyStore(database), catalog, book, REGION, ACCOUNT)
    found = Region(database, functions, book, catalog, policies)
    yield found
    found.policies.close()
    book.close()
    functions.close()


def grant(qualifier: str | None = None, **fields: Any) -> AddPermissionRequest:
    base: dict[str, Any] = {
        "function": "fn",
        "qualifier": qualifier,
        "statement_id": "s3",
        "action": "lambda:InvokeFunction",
        "principal": "s3.amazonaws.com",
    }
    return AddPermissionRequest(**{**base, **fields})


def add(policies: FunctionPolicies, request: AddPermissionRequest) -> dict[str, Any]:
    return asyncio.run(policies.add_permission(request))


def remove(
    policies: FunctionPolicies, sid: str, qualifier: str | None = None, revision: str | None = None
) -> None:
    asyncio.run(policies.remove_permission("fn", qualifier, sid, revision))


# --- operations -------------------------------------------------------------------------------


def test_add_get_remove(region: Region) -> None:
    policies = region.policies
    added = add(policies, grant(source_arn="arn:aws:s3:::bucket"))
    assert added == {
        "Sid": "s3",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FN_ARN,
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}},
    }
    policy = policies.get_policy("fn", None)
    assert json.loads(policy.document()) == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [added],
    }
    assert policies.get_policy("fn", "$LATEST") == policy
    first_revision = policy.revision_id
    add(policies, grant(statement_id="sqs", principal="sqs.amazonaws.com"))
    assert policies.get_policy("fn", None).revision_id != first_revision
    remove(policies, "s3")
    assert [s["Sid"] for s in policies.get_policy("fn", None).statements] == ["sqs"]
    remove(policies, "sqs")
    with pytest.raises(ResourceNotFoundException, match="The resource you requested"):
        policies.get_policy("fn", None)


def test_qualified_policies_are_separate(region: Region) -> None:
    policies = region.policies
    add(policies, grant("1"))
    add(policies, grant("live"))
    assert policies.get_policy("fn", "1").statements[0]["Resource"] == f"{FN_ARN}:1"
    assert policies.get_policy("fn", "live").statements[0]["Resource"] == f"{FN_ARN}:live"
    with pytest.raises(ResourceNotFoundException):
        policies.get_policy("fn", None)


def test_errors_leave_the_policy_unchanged(region: Region) -> None:
    policies = region.policies
    add(policies, grant())
    before = policies.get_policy("fn", None)
    with pytest.raises(ResourceConflictException, match=r"statement id \(s3\) provided already"):
        add(policies, grant())
    with pytest.raises(PreconditionFailedException, match="GetPolicy API"):
        add(policies, grant(statement_id="b", revision_id="stale"))
    with pytest.raises(PreconditionFailedException):
        remove(policies, "s3", revision="stale")
    with pytest.raises(ResourceNotFoundException, match="Statement nope is not found"):
        remove(policies, "nope")
    with pytest.raises(InvalidParameterValueException, match="principal was invalid"):
        add(policies, grant(statement_id="c", principal="invalid.nonaws.com"))
    with pytest.raises(InvalidParameterValueException, match=r"\$LATEST"):
        add(policies, grant("$LATEST", statement_id="d"))
    with pytest.raises(InvalidParameterValueException, match="InvokedViaFunctionUrl"):
        add(policies, grant(statement_id="e", action="lambda:InvokeFunctionUrl",
                            invoked_via_function_url=True))  # fmt: skip
    assert policies.get_policy("fn", None) == before
    assert region.reopen().get_policy("fn", None) == before


def revision_of(region: Region, version: str) -> str:
    config = region.catalog.config("fn", version)
    assert config is not None
    return config.revision_id


def test_revision_id_of_target_without_policy(region: Region) -> None:
    """With no policy yet, RevisionId is the function's, version's or alias's."""
    policies = region.policies
    with pytest.raises(PreconditionFailedException):
        add(policies, grant("live", revision_id="rev-$LATEST"))
    add(policies, grant("live", revision_id="alias-rev"))
    add(policies, grant("1", revision_id="rev-1"))
    add(policies, grant(revision_id="rev-$LATEST"))
    current = policies.get_policy("fn", None).revision_id
    # The target's RevisionId becomes the policy's (function, version and alias).
    assert revision_of(region, "$LATEST") == current
    assert revision_of(region, "1") == policies.get_policy("fn", "1").revision_id
    alias = region.book.lookup("fn", "live")
    assert alias is not None and alias.revision_id == policies.get_policy("fn", "live").revision_id
    add(policies, grant(statement_id="two", revision_id=current))
    remove(policies, "two")
    remove(policies, "s3")
    assert revision_of(region, "$LATEST") != current


def test_missing_targets(region: Region) -> None:
    policies = region.policies
    with pytest.raises(ResourceNotFoundException, match=f"Function not found: {FN_ARN}x$"):
        add(policies, grant(function="fnx"))
    with pytest.raises(ResourceNotFoundException, match=f"Function not found: {FN_ARN}:42$"):
        add(policies, grant("42"))
    with pytest.raises(ResourceNotFoundException, match=f"Cannot find alias arn: {FN_ARN}:nope$"):
        add(policies, grant("nope"))
    with pytest.raises(ResourceNotFoundException, match=f"No policy found for: {FN_ARN}x$"):
        asyncio.run(policies.remove_permission("fnx", None, "s3", None))
    with pytest.raises(ResourceNotFoundException, match="No policy is associated"):
        remove(policies, "s3")
    for qualifier in (None, "7", "nope"):
        with pytest.raises(ResourceNotFoundException, match="The resource you requested"):
            policies.get_policy("fn" if qualifier else "fnx", qualifier)


def test_size_limit(region: Region) -> None:
    policies = region.policies
    arn = "arn:aws:sns:us-east-1:111111111111:" + "t" * 400
    count = 0
    with pytest.raises(PolicyLengthExceededException, match=r"bigger than the limit \(20480\)"):
        for n in range(100):
            add(policies, grant(statement_id=f"s{n}", source_arn=arn))
            count += 1
    policy = policies.get_policy("fn", None)
    assert len(policy.statements) == count
    assert policy.size() <= 20480


# --- what goes with versions, aliases and functions -------------------------------------------


def test_deleted_version_alias_and_function_lose_their_policies(region: Region) -> None:
    policies = region.policies
    add(policies, grant())
    add(policies, grant("1"))
    add(policies, grant("live"))

    region.book.delete("fn", "live")
    policies.alias_changed("fn", "live")
    region.book.create(Alias("fn", "live", "1", REGION, ACCOUNT, "again"))
    with pytest.raises(ResourceNotFoundException):
        policies.get_policy("fn", "live")
    assert region.reopen().get_policy("fn", None)  # the function's stays, stored
    with pytest.raises(ResourceNotFoundException):
        region.policies.get_policy("fn", "live")  # and the alias's is gone from the store

    region.book.delete("fn", "live")
    region.functions.delete_version("fn", "1")
    region.catalog.forget_version("fn", "1")
    region.policies.function_changed("fn")
    assert not region.policies.allows("fn", "1", principal="s3.amazonaws.com",
                                      action="lambda:InvokeFunction")  # fmt: skip

    region.functions.delete("fn")  # the store's cascade removes the rows
    region.catalog.forget_function("fn")
    region.policies.function_changed("fn")
    assert region.functions.create(function_config(), {}, 0.0)
    with pytest.raises(ResourceNotFoundException):
        region.reopen().get_policy("fn", None)


def test_stale_rows_are_dropped_at_start(region: Region) -> None:
    """A crash between an alias's deletion and its policy's leaves a row: dropped at start."""
    add(region.policies, grant("live"))
    region.book.delete("fn", "live")  # no signal: as if the process died here
    policies = region.reopen()
    region.book.create(Alias("fn", "live", "1", REGION, ACCOUNT, "again"))
    with pytest.raises(ResourceNotFoundException):
        policies.get_policy("fn", "live")


# --- allows -----------------------------------------------------------------------------------


def test_allows_reads_the_qualifiers_policy(region: Region) -> None:
    policies = region.policies
    rule = "arn:aws:events:us-east-1:111111111111:rule/r"
    add(policies, grant(principal="events.amazonaws.com", source_arn=rule))
    add(policies, grant("live", statement_id="url", action="lambda:InvokeFunctionUrl",
                        principal="*", function_url_auth_type="NONE"))  # fmt: skip
    events: dict[str, Any] = {
        "principal": "events.amazonaws.com",
        "action": "lambda:InvokeFunction",
    }
    assert policies.allows("fn", None, source_arn=rule, **events)
    assert policies.allows("fn", "$LATEST", source_arn=rule, **events)
    assert not policies.allows("fn", None, source_arn=rule + "2", **events)
    assert not policies.allows("fn", "live", source_arn=rule, **events)
    assert not policies.allows("other", None, source_arn=rule, **events)
    url: dict[str, Any] = {"principal": "*", "action": "lambda:InvokeFunctionUrl"}
    assert policies.allows("fn", "live", function_url_auth_type="NONE", **url)
    assert not policies.allows("fn", "live", function_url_auth_type="AWS_IAM", **url)
    assert not policies.allows("fn", None, function_url_auth_type="NONE", **url)
    # Answers are remembered, but never past a change of the policy.
    assert policies.allows("fn", "live", function_url_auth_type="NONE", **url)
    remove(policies, "url", qualifier="live")
    assert not policies.allows("fn", "live", function_url_auth_type="NONE", **url)


# --- wire ------------------------------------------------------------------------------------


def wire_error(params: dict[str, Any]) -> LambdaError:
    with pytest.raises(LambdaError) as failed:
        wire.add_permission_request(CTX, params)
    return failed.value


@pytest.mark.parametrize(
    ("key", "params"),
    [
        (
            "add_permission_invalid_statement_id",
            {"StatementId": "example.com"},
        ),
        (
            "add_permission_fn_qualifier_invalid",
            {"Qualifier": "invalid-qualifier-with-?-char"},
        ),
        (
            "add_permission_fn_qualifier_mismatch",
            {"FunctionName": "fn:alias-not-42", "Qualifier": "42"},
        ),
    ],
)
def test_wire_errors_match_aws(key: str, params: dict[str, Any]) -> None:
    base = {
        "FunctionName": "fn",
        "StatementId": "s3",
        "Action": "lambda:InvokeFunction",
        "Principal": "s3.amazonaws.com",
    }
    error = wire_error({**base, **params})
    assert_matches(error, recorded("TestLambdaPermissions::test_permission_exceptions", key))


def test_wire_validates_every_member() -> None:
    error = wire_error(
        {
            "FunctionName": "fn",
            "StatementId": "s",
            "Action": "iam:PassRole",
            "Principal": "*",
            "SourceAccount": "12",
            "FunctionUrlAuthType": "OPEN",
        }
    )
    assert isinstance(error, ValidationException)
    assert error.message.startswith("3 validation errors detected: ")
    assert "at 'action'" in error.message and "at 'sourceAccount'" in error.message
    request = wire.add_permission_request(
        CTX,
        {
            "FunctionName": f"{FN_ARN}:live",
            "StatementId": "s",
            "Action": "lambda:InvokeFunction",
            "Principal": "*",
            "InvokedViaFunctionUrl": True,
        },
    )
    assert (request.function, request.qualifier, request.invoked_via_function_url) == (
        "fn",
        "live",
        True,
    )


def test_principals_render_as_aws() -> None:
    assert render_principal("*") == "*"
    assert render_principal("111111111111") == {"AWS": "arn:aws:iam::111111111111:root"}
    assert render_principal("arn:aws:iam::111111111111:role/r") == {
        "AWS": "arn:aws:iam::111111111111:role/r"
    }
    assert render_principal("alexa-appkit.amazon.com") == {"Service": "alexa-appkit.amazon.com"}
    for bad in ("invalid.nonaws.com", "12345", "arn:aws:s3:::bucket", "amazonaws.com"):
        with pytest.raises(InvalidParameterValueException):
            render_principal(bad)


def test_store_schema_is_numbered_and_idempotent(region: Region) -> None:
    add(region.policies, grant())
    for _ in range(2):
        store = SqliteFunctionPolicyStore(region.database)
        assert list(store.all()) == [("fn", "")]
        store.close()
    conn = sqlite3.connect(region.database)
    try:
        row = conn.execute(
            "SELECT version FROM lamina_schema WHERE component='function_policies'"
        ).fetchone()
    finally:
        conn.close()
    assert row == (len(STEPS),)
