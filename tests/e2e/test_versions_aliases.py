"""Versions and aliases through boto3: golden comparisons with AWS's recordings
(TestLambdaVersions, TestLambdaAlias, TestLambdaRevisions), pagination, invocation by version,
alias and qualified ARN, weighted routing, every bad input with its exact error and unchanged
state, and persistence across a restart.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, ROLE, Capture, LaminaServer, make_zip, unique
from test_functions_api import Golden, assert_golden, b64_sha256, error_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import recorded  # noqa: E402

ARN_PREFIX = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
ECHO = "def handler(event, context):\n    return {'event': event}\n"
# Reports which version ran and how it was invoked.
WHO = (
    "import os\n"
    "def handler(event, context):\n"
    "    return {'version': context.function_version,\n"
    "            'arn': context.invoked_function_arn,\n"
    "            'stage': os.environ.get('STAGE')}\n"
)
FAST = "def handler(event, context):\n    return 1\n"


def zip_of(code: str, name: str = "index.py") -> bytes:
    return make_zip({name: code})


def create(lam: Any, name: str, package: bytes, **kwargs: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "index.handler",
        "Code": {"ZipFile": package},
        **kwargs,
    }
    created: dict[str, Any] = lam.create_function(**params)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return created


def with_sha(expected: Any, placeholder: str, sha: str) -> Any:
    """A recorded error whose message quotes a CodeSha256 (not normalised by ``Golden``)."""
    out = copy.deepcopy(expected)
    for key in ("message", "Message"):
        if key in out:
            out[key] = out[key].replace(placeholder, sha)
    out["Error"]["Message"] = out["Error"]["Message"].replace(placeholder, sha)
    return out


def legacy(response: Any) -> Any:
    """A normalised response in the shape of the older recordings (python3.9, before
    LoggingConfig, RuntimeVersionConfig and SnapStart were reported)."""
    out = {k: v for k, v in response.items() if k not in _LEGACY_ABSENT}
    if "Runtime" in out:
        out["Runtime"] = "python3.9"
    if isinstance(out.get("Configuration"), dict):
        out["Configuration"] = legacy(out["Configuration"])
    return out


_LEGACY_ABSENT = ("LoggingConfig", "RuntimeVersionConfig", "SnapStart")


def _same(response: Any) -> Any:
    return response


# --- golden: versions ------------------------------------------------------------------------


def test_version_lifecycle_matches_aws(lam: Any) -> None:
    """TestLambdaVersions::test_version_lifecycle: publish with a Description, versions stay
    unchanged by later updates, publishing an unchanged $LATEST answers the last version,
    deleting a version."""
    rec = recorded("TestLambdaVersions::test_version_lifecycle")
    name = unique("verlife")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    waiter = lam.get_waiter("function_updated_v2")

    created = lam.create_function(
        FunctionName=name,
        Handler="index.handler",
        Code={"ZipFile": package},
        PackageType="Zip",
        Role=ROLE,
        Runtime="python3.12",
        Description="No version :(",
    )
    assert_golden(golden(created), rec["create_response"])
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_result"])
    listed = lam.list_versions_by_function(FunctionName=name)
    assert_golden(golden(listed), rec["list_versions_result"])

    updated = lam.update_function_configuration(FunctionName=name, Description="First version :)")
    assert_golden(golden(updated), rec["first_update_response"])
    waiter.wait(FunctionName=name)
    got = lam.get_function(FunctionName=name)
    assert_golden(golden(got), rec["first_update_get_function"])

    first = lam.publish_version(FunctionName=name, Description="First version description :)")
    assert_golden(golden(first), rec["first_publish_response"])
    got = lam.get_function(FunctionName=name, Qualifier=first["Version"])
    assert_golden(golden(got), rec["first_publish_get_function"])
    got = lam.get_function_configuration(FunctionName=name, Qualifier=first["Version"])
    assert_golden(golden(got), rec["first_publish_get_function_config"])

    updated = lam.update_function_configuration(FunctionName=name, Description="Second version :))")
    assert_golden(golden(updated), rec["second_update_response"])
    waiter.wait(FunctionName=name)
    got = lam.get_function(FunctionName=name, Qualifier=first["Version"])
    assert_golden(golden(got), rec["first_publish_get_function_after_update"])

    second = lam.publish_version(FunctionName=name)
    assert_golden(golden(second), rec["second_publish_response"])
    third = lam.publish_version(FunctionName=name, Description="Third version description :)))")
    assert_golden(golden(third), rec["third_publish_response"])
    listed = lam.list_versions_by_function(FunctionName=name)
    assert_golden(golden(listed), rec["list_versions_result_after_third_publish"])

    lam.delete_function(FunctionName=name, Qualifier="1")
    listed = lam.list_versions_by_function(FunctionName=name)
    assert_golden(golden(listed), rec["list_versions_result_after_deletion_of_first_version"])
    lam.delete_function(FunctionName=name)


def test_publish_on_create_is_not_republished(lam: Any) -> None:
    """TestLambdaVersions::test_publish_version_on_create: after CreateFunction with Publish,
    PublishVersion (even with another Description) answers version 1 unchanged."""
    rec = recorded("TestLambdaVersions::test_publish_version_on_create")
    name = unique("pubcreate")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    assert_golden(golden(create(lam, name, package, Publish=True)), rec["create_response"])
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_result"])
    got = lam.get_function(FunctionName=name, Qualifier="1")
    assert_golden(golden(got), rec["get_function_version_result"])
    got = lam.get_function(FunctionName=name, Qualifier="$LATEST")
    assert_golden(golden(got), rec["get_function_latest_result"])
    listed = lam.list_versions_by_function(FunctionName=name)
    assert_golden(golden(listed), rec["list_versions_result"])
    again = lam.publish_version(FunctionName=name, Description="Repeated version description :)")
    assert_golden(golden(again), rec["repeated_publish_response"])
    listed = lam.list_versions_by_function(FunctionName=name)
    assert_golden(golden(listed), rec["list_versions_result_after_publish"])
    lam.delete_function(FunctionName=name)


def test_publish_preconditions_match_aws(lam: Any) -> None:
    """TestLambdaVersions::test_publish_with_wrong_revisionid and ..._wrong_sha256 (the latter
    is an older recording: compared in its shape)."""
    for test, key in (
        ("test_publish_with_wrong_revisionid", "publish_wrong_revisionid_exc"),
        ("test_publish_with_wrong_sha256", "publish_wrong_sha256_exc"),
    ):
        rec = recorded(f"TestLambdaVersions::{test}")
        name = unique("precond")
        package = zip_of(ECHO)
        golden = Golden({name: "<function-name:1>"}, [package])
        shape: Callable[[Any], Any] = legacy if "SnapStart" not in rec["create_response"] else _same
        assert_golden(shape(golden(create(lam, name, package))), rec["create_response"])
        got = lam.get_function(FunctionName=name)
        assert_golden(shape(golden(got)), rec["get_fn_response"])
        configuration = got["Configuration"]
        if "revision" in test:
            wrong: dict[str, str] = {"RevisionId": "doesntexist"}
            right = {"RevisionId": configuration["RevisionId"]}
            error_type = lam.exceptions.PreconditionFailedException
            expected = rec[key]
        else:
            wrong = {"CodeSha256": "somenonexistentsha256"}
            right = {"CodeSha256": configuration["CodeSha256"]}
            error_type = lam.exceptions.InvalidParameterValueException
            expected = with_sha(rec[key], "<code-sha256:1>", b64_sha256(package))
        with pytest.raises(error_type) as excinfo:
            lam.publish_version(FunctionName=name, **wrong)
        assert_golden(golden(error_of(excinfo)), expected)
        assert lam.list_versions_by_function(FunctionName=name)["Versions"][-1]["Version"] == (
            "$LATEST"
        )
        published = lam.publish_version(FunctionName=name, **right)
        assert_golden(shape(golden(published)), rec["publish_result"])
        lam.delete_function(FunctionName=name)


def test_update_code_with_publish_matches_aws(lam: Any) -> None:
    """TestLambdaVersions::test_publish_with_update: UpdateFunctionCode with Publish answers the
    new version (still being created). AWS was still creating it when it answered the next two
    GetFunctions; Lamina's versions are ready at once, so those show the settled state."""
    rec = recorded("TestLambdaVersions::test_publish_with_update")
    name = unique("pubupdate")
    first, second = zip_of(ECHO), zip_of(ECHO + "# v2\n")
    golden = Golden({name: "<function-name:1>"}, [first, second])
    assert_golden(golden(create(lam, name, first)), rec["create_response"])
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_result"])
    updated = lam.update_function_code(FunctionName=name, ZipFile=second, Publish=True)
    assert_golden(golden(updated), rec["update_function_code_result"])

    expected = copy.deepcopy(rec["get_function_version_result"])
    configuration = expected["Configuration"]
    for key in ("StateReason", "StateReasonCode"):
        del configuration[key]
    configuration.update(State="Active", LastUpdateStatus="Successful")
    got = lam.get_function(FunctionName=name, Qualifier="1")
    assert_golden(golden(got), expected)

    expected = copy.deepcopy(rec["get_function_latest_result"])
    configuration = expected["Configuration"]
    for key in ("LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
        del configuration[key]
    configuration.update(LastUpdateStatus="Successful")
    got = lam.get_function(FunctionName=name, Qualifier="$LATEST")
    assert_golden(golden(got), expected)
    lam.delete_function(FunctionName=name)


def test_revisions_of_versions_and_aliases_match_aws(lam: Any) -> None:
    """TestLambdaRevisions::test_function_revisions_version_and_alias: publishing changes
    $LATEST's RevisionId, creating an alias changes neither $LATEST's nor the version's; a stale
    RevisionId is a 412 for PublishVersion and UpdateAlias."""
    rec = recorded("TestLambdaRevisions::test_function_revisions_version_and_alias")
    name = unique("revva")
    package = zip_of(ECHO, "handler.py")
    golden = Golden({name: "<function-name:1>"}, [package])
    created = create(
        lam, name, package, Handler="handler.handler", Timeout=30, Environment={"Variables": {}}
    )
    assert_golden(golden(created), rec["create_function_response_rev1"])
    got = lam.get_function(FunctionName=name)
    assert_golden(golden(got), rec["get_function_active_rev2"])
    revision = got["Configuration"]["RevisionId"]
    with pytest.raises(lam.exceptions.PreconditionFailedException) as excinfo:
        lam.publish_version(FunctionName=name, RevisionId="wrong")
    assert_golden(golden(error_of(excinfo)), rec["publish_version_revision_exception"])
    published = lam.publish_version(FunctionName=name, RevisionId=revision)
    assert_golden(golden(published), rec["publish_version_response_rev_v1"])
    lam.get_waiter("published_version_active").wait(FunctionName=name)
    got = lam.get_function(FunctionName=name, Qualifier=published["Version"])
    assert_golden(golden(got), rec["get_function_published_version_rev_v2"])
    got = lam.get_function(FunctionName=name)
    assert_golden(golden(got), rec["get_function_latest_rev3"])

    alias = lam.create_alias(
        FunctionName=name, Name="revision_alias", FunctionVersion=published["Version"]
    )
    assert_golden(golden(alias), rec["create_alias_response_rev_a1"])
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_latest_rev4"])
    got = lam.get_function(FunctionName=name, Qualifier=published["Version"])
    assert_golden(golden(got), rec["get_function_published_version_rev_v3"])
    with pytest.raises(lam.exceptions.PreconditionFailedException) as excinfo:
        lam.update_alias(FunctionName=name, Name="revision_alias", RevisionId="wrong")
    assert_golden(golden(error_of(excinfo)), rec["update_alias_revision_exception"])
    updated = lam.update_alias(
        FunctionName=name,
        Name="revision_alias",
        Description="something changed",
        RevisionId=alias["RevisionId"],
    )
    assert_golden(golden(updated), rec["update_alias_response_rev_a2"])
    lam.delete_function(FunctionName=name)


# --- golden: aliases -------------------------------------------------------------------------


def _two_versions(lam: Any, name: str, package: bytes, **kwargs: Any) -> tuple[Any, Any, Any]:
    """The recorded setup: a function with env testenv=staging, version 1, then testenv=prod
    and version 2. Returns (create response, publish 1, publish 2)."""
    created = create(
        lam, name, package, Environment={"Variables": {"testenv": "staging"}}, **kwargs
    )
    first = lam.publish_version(FunctionName=name)
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"testenv": "prod"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    second = lam.publish_version(FunctionName=name)
    return created, first, second


def test_alias_lifecycle_matches_aws(lam: Any) -> None:
    """TestLambdaAlias::test_alias_lifecycle."""
    rec = recorded("TestLambdaAlias::test_alias_lifecycle")
    name = unique("aliaslife")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    created, first, second = _two_versions(lam, name, package)
    assert_golden(golden(created), rec["create_response"])
    assert_golden(golden(first), rec["publish_v1"])
    assert_golden(golden(second), rec["publish_v2"])

    alias = lam.create_alias(
        FunctionName=name,
        Name="aliasname1_1",
        FunctionVersion="1",
        Description="custom-alias",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}},
    )
    assert_golden(golden(alias), rec["create_alias_1_1"])
    got = lam.get_alias(FunctionName=name, Name="aliasname1_1")
    assert_golden(golden(got), rec["get_alias_1_1"])
    got = lam.get_function(FunctionName=name, Qualifier="aliasname1_1")
    assert_golden(golden(got), rec["get_function_alias_1_1"])
    got = lam.get_function(FunctionName=alias["AliasArn"])
    assert_golden(golden(got), rec["get_function_byarn_alias_1_1"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.get_function(FunctionName=name, Qualifier="aliasdoesnotexist")
    assert_golden(golden(error_of(excinfo)), rec["get_function_alias_notfound_exc"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        missing = alias["AliasArn"].replace("aliasname1_1", "aliasdoesnotexist")
        lam.get_function(FunctionName=missing)
    assert_golden(golden(error_of(excinfo)), rec["get_function_alias_byarn_notfound_exc"])

    for key, kwargs in (
        ("1_2", {"Name": "aliasname1_2", "FunctionVersion": "1", "Description": "custom-alias"}),
        ("1_3", {"Name": "aliasname1_3", "FunctionVersion": "1"}),
        ("2", {"Name": "aliasname2", "FunctionVersion": "2", "Description": "custom-alias"}),
    ):
        assert_golden(
            golden(lam.create_alias(FunctionName=name, **kwargs)), rec[f"create_alias_{key}"]
        )
        got = lam.get_alias(FunctionName=name, Name=kwargs["Name"])
        assert_golden(golden(got), rec[f"get_alias_{key}"])

    full = (
        lam.get_paginator("list_aliases")
        .paginate(FunctionName=name, PaginationConfig={"PageSize": 1})
        .build_full_result()
    )
    assert_golden(golden(full), rec["list_aliases_for_fnname"])

    updated = lam.update_alias(
        FunctionName=name, Name="aliasname1_1", RoutingConfig={"AdditionalVersionWeights": {}}
    )
    assert_golden(golden(updated), rec["update_alias_1_1"])
    got = lam.get_alias(FunctionName=name, Name="aliasname1_1")
    assert_golden(golden(got), rec["get_alias_1_1_after_update"])
    listed = lam.list_aliases(FunctionName=name)
    assert_golden(golden(listed), rec["list_aliases_for_fnname_after_update"])
    updated = lam.update_alias(FunctionName=name, Name="aliasname1_2")
    assert_golden(golden(updated), rec["update_alias_1_2"])
    got = lam.get_alias(FunctionName=name, Name="aliasname1_2")
    assert_golden(golden(got), rec["get_alias_1_2_after_update"])
    listed = lam.list_aliases(FunctionName=name)
    assert_golden(golden(listed), rec["list_aliases_for_fnname_after_update_2"])
    listed = lam.list_aliases(FunctionName=name, FunctionVersion="1")
    assert_golden(golden(listed), rec["list_aliases_for_version"])
    deleted = lam.delete_alias(FunctionName=name, Name="aliasname1_1")
    assert_golden(golden(deleted), rec["delete_alias_response"])
    listed = lam.list_aliases(FunctionName=name)
    assert_golden(golden(listed), rec["list_aliases_for_fnname_afterdelete"])
    lam.delete_function(FunctionName=name)


def test_invalid_routing_configs_match_aws(lam: Any, raw_lam: Any) -> None:
    """TestLambdaAlias::test_notfound_and_invalid_routingconfigs (boto3's own validation off,
    as recorded)."""
    rec = recorded("TestLambdaAlias::test_notfound_and_invalid_routingconfigs")
    name = unique("routing")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    created, first, second = _two_versions(lam, name, package, Publish=True)
    assert_golden(golden(created), rec["create_response"])
    assert_golden(golden(first), rec["publish_v1"])
    assert_golden(golden(second), rec["publish_v2"])

    failures: list[tuple[str, str, dict[str, Any]]] = [
        ("routing_config_exc_toomany", "1", {"1": 0.8, "2": 0.2}),
        ("routing_config_exc_toohigh", "1", {"2": 2}),
        ("routing_config_exc_subzero", "1", {"2": -1}),
        ("routing_config_exc_sameversion", "1", {"1": 0.5}),
        ("target_version_doesnotexist", "10", {"2": 0.5}),
        ("routing_config_exc_version_doesnotexist", "1", {"10": 0.5}),
        ("target_version_exc_version_latest", "$LATEST", {"1": 0.5}),
        ("routing_config_exc_version_latest", "1", {"$LATEST": 0.5}),
    ]
    for key, version, weights in failures:
        with pytest.raises(ClientError) as excinfo:
            raw_lam.create_alias(
                FunctionName=name,
                Name="custom",
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": weights},
            )
        assert_golden(golden(error_of(excinfo)), rec[key])

    latest_alias = raw_lam.create_alias(
        FunctionName=name, Name="custom-latest", FunctionVersion="$LATEST"
    )
    assert_golden(golden(latest_alias), rec["create-alias-latest"])
    with pytest.raises(ClientError) as excinfo:
        raw_lam.create_alias(
            FunctionName=f"{name}-unknown",
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
        )
    unknown = Golden({f"{name}-unknown": "<function-name:1>-unknown"}, [package])
    assert_golden(unknown(error_of(excinfo)), rec["routing_config_exc_fn_doesnotexist"])
    empty = raw_lam.create_alias(
        FunctionName=name,
        Name="custom-empty-routingconfig",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    assert_golden(golden(empty), rec["create_alias_empty_routingconfig"])
    kwargs: dict[str, Any] = {
        "FunctionName": name,
        "Name": "custom",
        "FunctionVersion": "1",
        "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5}},
    }
    assert_golden(golden(raw_lam.create_alias(**kwargs)), rec["create_alias_response"])
    with pytest.raises(ClientError) as excinfo:
        raw_lam.create_alias(**kwargs)
    assert_golden(golden(error_of(excinfo)), rec["routing_config_exc_already_exist"])
    with pytest.raises(ClientError) as excinfo:
        raw_lam.get_alias(FunctionName=name, Name="non-existent")
    assert_golden(golden(error_of(excinfo)), rec["alias_does_not_exist_esc"])
    lam.delete_function(FunctionName=name)


def test_alias_naming_and_missing_aliases_match_aws(lam: Any) -> None:
    """TestLambdaAlias::test_alias_naming (a date is a name, a number is not),
    test_non_existent_alias_deletion (204) and test_non_existent_alias_update (404)."""
    rec = recorded("TestLambdaAlias::test_alias_naming")
    name = unique("naming")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    created = create(lam, name, package, Environment={"Variables": {"testenv": "staging"}})
    assert_golden(golden(created), rec["create_response"])
    assert_golden(golden(lam.publish_version(FunctionName=name)), rec["publish_v1"])
    alias = lam.create_alias(
        FunctionName=name, Name="2024-01-02", FunctionVersion="1", Description="custom-alias"
    )
    assert_golden(golden(alias), rec["create_alias_date"])
    got = lam.get_alias(FunctionName=name, Name="2024-01-02")
    assert_golden(golden(got), rec["get_alias_date"])
    with pytest.raises(ClientError) as excinfo:
        lam.create_alias(
            FunctionName=name, Name="2024", FunctionVersion="1", Description="custom-alias"
        )
    assert_golden(golden(error_of(excinfo)), rec["create_alias_number_exception"])

    deletion = recorded("TestLambdaAlias::test_non_existent_alias_deletion")
    deleted = lam.delete_alias(FunctionName=name, Name="non-existent")
    assert_golden(golden(deleted), deletion["delete_alias_response"])
    update = recorded("TestLambdaAlias::test_non_existent_alias_update")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.update_alias(FunctionName=name, Name="non-existent", Description="new-description")
    assert_golden(golden(error_of(excinfo)), update["update_alias_response"])
    lam.delete_function(FunctionName=name)


# --- pagination ------------------------------------------------------------------------------


def test_list_versions_pagination(lam: Any) -> None:
    """55 published versions: never more than 50 per page, every version once and in order,
    by hand with Marker/MaxItems and with the boto3 paginator."""
    name = unique("manyver")
    create(lam, name, zip_of(ECHO))
    for i in range(55):
        lam.update_function_configuration(FunctionName=name, Description=f"d{i}")
        assert lam.publish_version(FunctionName=name)["Version"] == str(i + 1)
    expected = ["$LATEST", *(str(i) for i in range(1, 56))]

    pages = list(lam.get_paginator("list_versions_by_function").paginate(FunctionName=name))
    assert [len(p["Versions"]) for p in pages] == [50, 6]
    assert "NextMarker" in pages[0] and "NextMarker" not in pages[1]
    assert [v["Version"] for p in pages for v in p["Versions"]] == expected
    assert lam.list_versions_by_function(FunctionName=name, MaxItems=1000)["Versions"][-1][
        "Version"
    ] == str(49)

    by_hand: list[str] = []
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"FunctionName": name, "MaxItems": 7}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_versions_by_function(**kwargs)
        assert len(page["Versions"]) <= 7
        by_hand += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert by_hand == expected
    limited = lam.get_paginator("list_versions_by_function").paginate(
        FunctionName=name, PaginationConfig={"MaxItems": 30, "PageSize": 12}
    )
    assert [len(p["Versions"]) for p in limited] == [12, 12, 6]

    # A marker whose version was deleted meanwhile still continues after it.
    lam.delete_function(FunctionName=name, Qualifier="10")
    rest = lam.list_versions_by_function(FunctionName=name, Marker="10", MaxItems=2)
    assert [v["Version"] for v in rest["Versions"]] == ["11", "12"]
    lam.delete_function(FunctionName=name)


def test_list_aliases_pagination_and_filter(lam: Any) -> None:
    name = unique("manyalias")
    create(lam, name, zip_of(ECHO), Publish=True)
    names = [f"a{i:02d}" for i in range(12)]
    for i, alias in enumerate(names):
        lam.create_alias(FunctionName=name, Name=alias, FunctionVersion="1" if i % 3 else "$LATEST")
    pages = list(
        lam.get_paginator("list_aliases").paginate(
            FunctionName=name, PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(p["Aliases"]) for p in pages] == [5, 5, 2]
    assert [a["Name"] for p in pages for a in p["Aliases"]] == names
    latest = lam.list_aliases(FunctionName=name, FunctionVersion="$LATEST")["Aliases"]
    assert [a["Name"] for a in latest] == names[::3]
    assert lam.list_aliases(FunctionName=name, FunctionVersion="7")["Aliases"] == []
    lam.delete_function(FunctionName=name)


# --- invocation ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def staged(lam: Any) -> Iterator[str]:
    """A function with version 1 (STAGE=one), version 2 (STAGE=two), $LATEST (STAGE=latest)
    and aliases ``stable`` (1) and ``canary`` (1, with 10 % on 2)."""
    name = unique("staged")
    create(lam, name, zip_of(WHO), Environment={"Variables": {"STAGE": "one"}}, Publish=True)
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": "two"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": "latest"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="stable", FunctionVersion="1")
    lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    yield name
    lam.delete_function(FunctionName=name)


def invoke(lam: Any, **kwargs: Any) -> tuple[str, Any]:
    response = lam.invoke(**kwargs)
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    header = response["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"]
    assert header == response["ExecutedVersion"]
    return header, json.loads(response["Payload"].read())


def test_invoke_by_version_alias_and_arn(lam: Any, staged: str) -> None:
    arn = ARN_PREFIX + staged
    cases: list[tuple[dict[str, Any], str, str, str]] = [
        ({"FunctionName": staged}, "$LATEST", "latest", arn),
        ({"FunctionName": staged, "Qualifier": "$LATEST"}, "$LATEST", "latest", f"{arn}:$LATEST"),
        ({"FunctionName": staged, "Qualifier": "1"}, "1", "one", f"{arn}:1"),
        ({"FunctionName": f"{staged}:2"}, "2", "two", f"{arn}:2"),
        ({"FunctionName": f"{arn}:2"}, "2", "two", f"{arn}:2"),
        ({"FunctionName": staged, "Qualifier": "stable"}, "1", "one", f"{arn}:stable"),
        ({"FunctionName": f"{arn}:stable"}, "1", "one", f"{arn}:stable"),
        ({"FunctionName": f"{staged}:stable", "Qualifier": "stable"}, "1", "one", f"{arn}:stable"),
    ]
    for kwargs, version, stage, invoked in cases:
        executed, payload = invoke(lam, **kwargs)
        assert executed == version, kwargs
        assert payload == {"version": version, "arn": invoked, "stage": stage}, kwargs
    # GetFunction / GetFunctionConfiguration through an alias or a qualified ARN.
    for function, qualifier, version, shown in (
        (f"{arn}:stable", None, "1", f"{arn}:stable"),
        (staged, "stable", "1", f"{arn}:stable"),
        (f"{staged}:2", None, "2", f"{arn}:2"),
    ):
        kwargs = {"FunctionName": function} | ({"Qualifier": qualifier} if qualifier else {})
        configuration = lam.get_function_configuration(**kwargs)
        configuration.pop("ResponseMetadata")
        assert (configuration["Version"], configuration["FunctionArn"]) == (version, shown)
        stage = configuration["Environment"]["Variables"]["STAGE"]
        assert stage == {"1": "one", "2": "two"}[version]
        got = lam.get_function(**kwargs)
        assert got["Configuration"] == configuration
        assert "Tags" not in got


def test_weighted_routing(lam: Any, staged: str) -> None:
    """1,000 invocations through ``canary`` (10 % on version 2) land on version 2 within four
    standard deviations of 100; each reports the version that ran."""
    n, p = 1000, 0.1
    counts = {"1": 0, "2": 0}
    for _ in range(n):
        response = lam.invoke(FunctionName=staged, Qualifier="canary", Payload=b"{}")
        assert response["StatusCode"] == 200
        version = response["ExecutedVersion"]
        counts[version] += 1
        payload = json.loads(response["Payload"].read())
        assert payload["version"] == version
        assert payload["stage"] == {"1": "one", "2": "two"}[version]
    sd = math.sqrt(n * p * (1 - p))
    assert abs(counts["2"] - n * p) <= 4 * sd, counts
    assert counts["1"] + counts["2"] == n

    # Weight 0 never routes there; weight 1 always does.
    for weight, expected in ((0.0, "1"), (1.0, "2")):
        lam.update_alias(
            FunctionName=staged,
            Name="canary",
            RoutingConfig={"AdditionalVersionWeights": {"2": weight}},
        )
        seen = {invoke(lam, FunctionName=staged, Qualifier="canary")[0] for _ in range(20)}
        assert seen == {expected}
    lam.update_alias(
        FunctionName=staged, Name="canary", RoutingConfig={"AdditionalVersionWeights": {"2": p}}
    )


def test_alias_follows_updates(lam: Any) -> None:
    """Moving an alias changes what it invokes at once; an alias of $LATEST follows $LATEST."""
    name = unique("follow")
    create(lam, name, zip_of(WHO), Environment={"Variables": {"STAGE": "one"}}, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.create_alias(FunctionName=name, Name="head", FunctionVersion="$LATEST")
    assert invoke(lam, FunctionName=name, Qualifier="live")[1]["stage"] == "one"
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": "two"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke(lam, FunctionName=name, Qualifier="live")[1]["stage"] == "one"
    executed, payload = invoke(lam, FunctionName=name, Qualifier="head")
    assert (executed, payload["stage"]) == ("$LATEST", "two")
    lam.publish_version(FunctionName=name)
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    executed, payload = invoke(lam, FunctionName=name, Qualifier="live")
    assert (executed, payload["stage"]) == ("2", "two")
    # The version an alias left can be deleted now; the one it points to cannot.
    lam.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.delete_function(FunctionName=name, Qualifier="2")
    # Deleting the function deletes its aliases: a new function of that name has none.
    lam.delete_function(FunctionName=name)
    create(lam, name, zip_of(WHO))
    assert lam.list_aliases(FunctionName=name)["Aliases"] == []
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName=name, Name="live")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    lam.delete_function(FunctionName=name)


def test_version_numbers_are_never_reused(lam: Any) -> None:
    name = unique("numbers")
    create(lam, name, zip_of(ECHO), Publish=True)
    lam.update_function_configuration(FunctionName=name, Description="two")
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    lam.delete_function(FunctionName=name, Qualifier="2")
    # $LATEST is unchanged since version 2, but version 2 is gone: a new number.
    assert lam.publish_version(FunctionName=name)["Version"] == "3"
    lam.update_function_code(FunctionName=name, ZipFile=zip_of(ECHO + "# 4\n"))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    latest_before = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    fourth = lam.publish_version(FunctionName=name, Description="fourth")
    assert (fourth["Version"], fourth["Description"]) == ("4", "fourth")
    latest_after = lam.get_function(FunctionName=name)["Configuration"]
    assert latest_after["RevisionId"] != latest_before
    assert latest_after["Description"] == "two"
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == [
        "$LATEST",
        "1",
        "3",
        "4",
    ]
    lam.delete_function(FunctionName=name)


# --- bad input -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def target(lam: Any) -> Iterator[str]:
    """A function with versions 1 and 2 and aliases ``live`` (1, 20 % on 2) and ``head``."""
    name = unique("target")
    create(lam, name, zip_of(ECHO), Publish=True)
    lam.update_function_configuration(FunctionName=name, Description="second")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.publish_version(FunctionName=name)
    lam.create_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}},
    )
    lam.create_alias(FunctionName=name, Name="head", FunctionVersion="$LATEST")
    yield name
    lam.delete_function(FunctionName=name)


def state(lam: Any, name: str) -> Any:
    """Everything the API shows about a function's versions and aliases."""
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    details = []
    for version in versions:
        got = lam.get_function(FunctionName=name, Qualifier=version["Version"])
        got.pop("ResponseMetadata")
        got["Code"].pop("Location")
        details.append(got)
    aliases = lam.list_aliases(FunctionName=name)["Aliases"]
    functions = [
        (f["FunctionName"], f["Version"], f["RevisionId"])
        for page in lam.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
    ]
    return versions, details, aliases, functions


BODY = {  # error type -> (has "Type", message member)
    "ResourceNotFoundException": (True, "Message"),
    "ResourceConflictException": (True, "message"),
    "InvalidParameterValueException": (True, "message"),
    "PreconditionFailedException": (True, "message"),
    "ValidationException": (False, "message"),
}


def rejected(
    lam: Any,
    capture: Capture,
    name: str,
    call: Callable[[], Any],
    status: int,
    code: str,
    message: str,
    typed: bool | None = None,
) -> None:
    """The call fails with exactly this error (status, header, body) and changes nothing."""
    before = state(lam, name)
    with pytest.raises(ClientError) as excinfo:
        call()
    response: dict[str, Any] = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    assert response["Error"]["Message"] == message
    assert capture.last["status_code"] == status
    has_type, key = BODY[code]
    if typed is not None:
        has_type = typed
    body = {"Type": "User", key: message} if has_type else {key: message}
    assert json.loads(capture.last["body"]) == body
    assert state(lam, name) == before


WEIGHTS_VALUE = (
    "failed to satisfy constraint: Map value must satisfy constraint: [Member must have value "
    "less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must "
    "not be null]"
)
ALIAS_PATTERN_TEXT = "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
VERSION_PATTERN_TEXT = (
    r"Member must satisfy regular expression pattern: (\$LATEST(\.PUBLISHED)?|[0-9]+)"
)


def alias_cases(name: str) -> list[tuple[str, dict[str, Any], int, str, str, bool | None]]:
    """(operation, arguments, status, code, message, typed override)."""
    arn = ARN_PREFIX + name
    v = "1 validation error detected: "
    routed = {"FunctionName": name, "Name": "new", "FunctionVersion": "1"}

    def weights(w: dict[str, Any], version: str = "1") -> dict[str, Any]:
        return routed | {
            "FunctionVersion": version,
            "RoutingConfig": {"AdditionalVersionWeights": w},
        }

    return [
        ("create_alias", routed | {"Name": "2024"}, 400, "ValidationException",
         f"{v}Value '2024' at 'name' failed to satisfy constraint: {ALIAS_PATTERN_TEXT}", None),
        ("create_alias", routed | {"Name": "a.b"}, 400, "ValidationException",
         f"{v}Value 'a.b' at 'name' failed to satisfy constraint: {ALIAS_PATTERN_TEXT}", None),
        ("create_alias", routed | {"Name": "n" * 129}, 400, "ValidationException",
         f"{v}Value '{'n' * 129}' at 'name' failed to satisfy constraint: Member must have length "
         "less than or equal to 128", None),
        ("create_alias", {"FunctionName": name, "Name": "new"}, 400, "ValidationException",
         f"{v}Value null at 'functionVersion' failed to satisfy constraint: Member must not be "
         "null", None),
        ("create_alias", routed | {"FunctionVersion": "abc"}, 400, "ValidationException",
         f"{v}Value 'abc' at 'functionVersion' failed to satisfy constraint: "
         f"{VERSION_PATTERN_TEXT}", None),
        ("create_alias", routed | {"Description": "d" * 257}, 400, "ValidationException",
         f"{v}Value '{'d' * 257}' at 'description' failed to satisfy constraint: Member must have "
         "length less than or equal to 256", None),
        ("create_alias", routed | {"Name": "2024", "FunctionVersion": "x"}, 400,
         "ValidationException",
         f"2 validation errors detected: Value '2024' at 'name' failed to satisfy constraint: "
         f"{ALIAS_PATTERN_TEXT}; Value 'x' at 'functionVersion' failed to satisfy constraint: "
         f"{VERSION_PATTERN_TEXT}", None),
        ("create_alias", weights({"2": 1.5}), 400, "ValidationException",
         f"{v}Value '{{2=1.5}}' at 'routingConfig.additionalVersionWeights' {WEIGHTS_VALUE}",
         None),
        ("create_alias", weights({"1": 0.8, "2": 0.2}), 400, "InvalidParameterValueException",
         "Number of items in AdditionalVersionWeights cannot be greater than 1", None),
        ("create_alias", weights({"2": 0.3}, "2"), 400, "InvalidParameterValueException",
         "Invalid function version 2. Function version 2 is already included in routing "
         "configuration.", None),
        ("create_alias", weights({"1": 0.3}, "$LATEST"), 400, "InvalidParameterValueException",
         "$LATEST is not supported for an alias pointing to more than 1 version", False),
        ("create_alias", routed | {"FunctionVersion": "9"}, 404, "ResourceNotFoundException",
         f"Function not found: {arn}:9", None),
        ("create_alias", weights({"9": 0.5}), 404, "ResourceNotFoundException",
         f"Function not found: {arn}:9", None),
        ("create_alias", routed | {"Name": "live"}, 409, "ResourceConflictException",
         f"Alias already exists: {arn}:live", None),
        ("create_alias", routed | {"FunctionName": f"{name}-nope"}, 404,
         "ResourceNotFoundException", f"Function not found: {arn}-nope:1", None),
        ("get_alias", {"FunctionName": name, "Name": "nope"}, 404, "ResourceNotFoundException",
         f"Cannot find alias arn: {arn}:nope", None),
        ("get_alias", {"FunctionName": name, "Name": "12"}, 400, "ValidationException",
         f"{v}Value '12' at 'name' failed to satisfy constraint: {ALIAS_PATTERN_TEXT}", None),
        ("get_alias", {"FunctionName": f"{name}-nope", "Name": "live"}, 404,
         "ResourceNotFoundException", f"Function not found: {arn}-nope", None),
        ("update_alias", {"FunctionName": name, "Name": "nope"}, 404,
         "ResourceNotFoundException", f"Alias not found: {arn}:nope", None),
        ("update_alias", {"FunctionName": name, "Name": "live", "RevisionId": "stale"}, 412,
         "PreconditionFailedException",
         "The Revision Id provided does not match the latest Revision Id. Call the "
         "GetFunction/GetAlias API to retrieve the latest Revision Id", None),
        ("update_alias", {"FunctionName": name, "Name": "live", "FunctionVersion": "2"}, 400,
         "InvalidParameterValueException",
         "Invalid function version 2. Function version 2 is already included in routing "
         "configuration.", None),
        ("update_alias", {"FunctionName": name, "Name": "live", "FunctionVersion": "$LATEST"},
         400, "InvalidParameterValueException",
         "$LATEST is not supported for an alias pointing to more than 1 version", False),
        ("update_alias", {"FunctionName": name, "Name": "head", "FunctionVersion": "33"}, 404,
         "ResourceNotFoundException", f"Function not found: {arn}:33", None),
        ("update_alias", {"FunctionName": name, "Name": "live",
                          "RoutingConfig": {"AdditionalVersionWeights": {"2": -0.5}}},
         400, "ValidationException",
         f"{v}Value '{{2=-0.5}}' at 'routingConfig.additionalVersionWeights' {WEIGHTS_VALUE}",
         None),
        ("delete_alias", {"FunctionName": name, "Name": "1"}, 400, "ValidationException",
         f"{v}Value '1' at 'name' failed to satisfy constraint: {ALIAS_PATTERN_TEXT}", None),
        ("delete_alias", {"FunctionName": f"{name}-nope", "Name": "live"}, 404,
         "ResourceNotFoundException", f"Function not found: {arn}-nope", None),
        ("list_aliases", {"FunctionName": name, "FunctionVersion": "abc"}, 400,
         "ValidationException",
         f"{v}Value 'abc' at 'functionVersion' failed to satisfy constraint: "
         f"{VERSION_PATTERN_TEXT}", None),
        ("list_aliases", {"FunctionName": name, "MaxItems": 0}, 400, "ValidationException",
         f"{v}Value '0' at 'maxItems' failed to satisfy constraint: Member must have value "
         "greater than or equal to 1", None),
        ("list_aliases", {"FunctionName": f"{name}-nope"}, 404, "ResourceNotFoundException",
         f"Function not found: {arn}-nope", None),
    ]  # fmt: skip


def version_cases(name: str) -> list[tuple[str, dict[str, Any], int, str, str, bool | None]]:
    arn = ARN_PREFIX + name
    v = "1 validation error detected: "
    return [
        ("publish_version", {"FunctionName": name, "RevisionId": "stale"}, 412,
         "PreconditionFailedException",
         "The Revision Id provided does not match the latest Revision Id. Call the "
         "GetFunction/GetAlias API to retrieve the latest Revision Id", None),
        ("publish_version", {"FunctionName": name, "CodeSha256": "nope"}, 400,
         "InvalidParameterValueException", "CODESHA", None),
        ("publish_version", {"FunctionName": name, "Description": "d" * 257}, 400,
         "ValidationException",
         f"{v}Value '{'d' * 257}' at 'description' failed to satisfy constraint: Member must have "
         "length less than or equal to 256", None),
        ("publish_version", {"FunctionName": f"{name}-nope"}, 404, "ResourceNotFoundException",
         f"Function not found: {arn}-nope", None),
        ("list_versions_by_function", {"FunctionName": name, "MaxItems": 0}, 400,
         "ValidationException",
         f"{v}Value '0' at 'maxItems' failed to satisfy constraint: Member must have value "
         "greater than or equal to 1", None),
        ("list_versions_by_function", {"FunctionName": name, "MaxItems": 10001}, 400,
         "ValidationException",
         f"{v}Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value "
         "less than or equal to 10000", None),
        ("list_versions_by_function", {"FunctionName": f"{name}-nope"}, 404,
         "ResourceNotFoundException", f"Function not found: {arn}-nope", None),
        ("delete_function", {"FunctionName": name, "Qualifier": "1"}, 409,
         "ResourceConflictException",
         "Unable to delete version because the following aliases reference it: [live]", None),
        ("delete_function", {"FunctionName": f"{name}:2"}, 409, "ResourceConflictException",
         "Unable to delete version because the following aliases reference it: [live]", None),
        ("delete_function", {"FunctionName": name, "Qualifier": "live"}, 400,
         "InvalidParameterValueException", "Deletion of aliases is not currently supported.",
         None),
        ("invoke", {"FunctionName": name, "Qualifier": "nope"}, 404, "ResourceNotFoundException",
         f"Function not found: {arn}:nope", None),
        ("invoke", {"FunctionName": f"{arn}:7"}, 404, "ResourceNotFoundException",
         f"Function not found: {arn}:7", None),
        ("get_function", {"FunctionName": f"{arn}:nope"}, 404, "ResourceNotFoundException",
         f"Function not found: {arn}:nope", None),
        ("get_function_configuration", {"FunctionName": name, "Qualifier": "3"}, 404,
         "ResourceNotFoundException", f"Function not found: {arn}:3", None),
        ("update_function_configuration", {"FunctionName": f"{name}:live", "Timeout": 9}, 400,
         "InvalidParameterValueException",
         "Current operation does not support versions other than $LATEST. Please set the "
         "version to $LATEST or do not set a version in your request.", None),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(len(alias_cases("x"))))
def test_bad_alias_requests(
    lam: Any, raw_lam: Any, capture: Capture, target: str, index: int
) -> None:
    operation, kwargs, status, code, message, typed = alias_cases(target)[index]
    call = partial(getattr(raw_lam, operation), **kwargs)
    rejected(lam, capture, target, call, status, code, message, typed)


@pytest.mark.parametrize("index", range(len(version_cases("x"))))
def test_bad_version_requests(
    lam: Any, raw_lam: Any, capture: Capture, target: str, index: int
) -> None:
    operation, kwargs, status, code, message, typed = version_cases(target)[index]
    if message == "CODESHA":
        sha = lam.get_function(FunctionName=target)["Configuration"]["CodeSha256"]
        message = (
            f"CodeSHA256 (nope) is different from current CodeSHA256 in $LATEST ({sha}). "
            "Please try again with the CodeSHA256 in $LATEST."
        )
    call = partial(getattr(raw_lam, operation), **kwargs)
    rejected(lam, capture, target, call, status, code, message, typed)


# --- persistence -----------------------------------------------------------------------------


def test_versions_and_aliases_survive_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = LaminaServer(data)
    first.start()
    try:
        lam = first.client()
        create(lam, "kept", zip_of(WHO), Environment={"Variables": {"STAGE": "one"}}, Publish=True)
        lam.update_function_configuration(
            FunctionName="kept", Environment={"Variables": {"STAGE": "two"}}
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName="kept")
        lam.publish_version(FunctionName="kept", Description="second")
        lam.update_function_configuration(FunctionName="kept", Description="third")
        lam.get_waiter("function_updated_v2").wait(FunctionName="kept")
        lam.publish_version(FunctionName="kept")
        lam.delete_function(FunctionName="kept", Qualifier="3")
        lam.create_alias(
            FunctionName="kept",
            Name="live",
            FunctionVersion="1",
            Description="the live one",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
        )
        lam.create_alias(FunctionName="kept", Name="pinned", FunctionVersion="2")
        lam.create_alias(FunctionName="kept", Name="gone", FunctionVersion="2")
        lam.delete_alias(FunctionName="kept", Name="gone")
        before = (
            lam.list_versions_by_function(FunctionName="kept")["Versions"],
            lam.list_aliases(FunctionName="kept")["Aliases"],
            lam.get_alias(FunctionName="kept", Name="live"),
        )
        before[2].pop("ResponseMetadata")
    finally:
        assert first.stop(signal.SIGTERM) == 0

    second = LaminaServer(data)
    second.start()
    try:
        lam = second.client()
        live = lam.get_alias(FunctionName="kept", Name="live")
        live.pop("ResponseMetadata")
        after = (
            lam.list_versions_by_function(FunctionName="kept")["Versions"],
            lam.list_aliases(FunctionName="kept")["Aliases"],
            live,
        )
        assert after == before
        assert invoke(lam, FunctionName="kept", Qualifier="pinned")[1]["stage"] == "two"
        assert {invoke(lam, FunctionName="kept:live")[0] for _ in range(40)} == {"1", "2"}
        with pytest.raises(lam.exceptions.ResourceConflictException):
            lam.delete_function(FunctionName="kept", Qualifier="2")
        # Numbers continue after the highest ever handed out (3, deleted before the restart).
        lam.update_function_configuration(FunctionName="kept", Description="fourth")
        lam.get_waiter("function_updated_v2").wait(FunctionName="kept")
        assert lam.publish_version(FunctionName="kept")["Version"] == "4"
    finally:
        assert second.stop(signal.SIGTERM) == 0
