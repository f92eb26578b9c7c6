"""Layer rules against AWS's recordings, the merged /opt extraction, and the layer store."""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_recorded import ACCOUNT, REGION, assert_matches, recorded

from lamina.domain import layers as rules
from lamina.domain.errors import InvalidParameterValueException, LambdaError
from lamina.domain.layers import LayerPolicy, LayerVersion
from lamina.store.code import extract_with_modes
from lamina.store.layers import SqliteLayerStore

MAX = 262144000


def error_of(call: Any, *args: Any) -> LambdaError:
    with pytest.raises(LambdaError) as info:
        call(*args)
    return info.value


def exceptions(key: str) -> Any:
    return recorded("TestLambdaLayer::test_layer_exceptions", key)


def test_publish_validation_matches_aws() -> None:
    invalid = {"Content": {"ZipFile": b""}, "CompatibleRuntimes": ["invalidruntime"]}
    invalid["CompatibleArchitectures"] = ["invalidarch"]
    assert_matches(
        error_of(rules.validate_publish, invalid),
        exceptions("publish_layer_version_exc_invalid_runtime_arch"),
    )
    partial = {
        "Content": {"ZipFile": b""},
        "CompatibleRuntimes": ["invalidruntime", "invalidruntime2", "nodejs20.x"],
        "CompatibleArchitectures": ["invalidarch", "x86_64"],
    }
    assert_matches(
        error_of(rules.validate_publish, partial),
        exceptions("publish_layer_version_exc_partially_invalid_values"),
    )


@pytest.mark.parametrize("index", [0, 1, 2])
def test_publish_accepts_every_recorded_runtime_list(index: int) -> None:
    published = recorded(f"TestLambdaLayer::test_layer_compatibilities[runtimes{index}]")
    result = published["publish_result"]
    rules.validate_publish(
        {
            "Content": {"ZipFile": b""},
            "CompatibleRuntimes": result["CompatibleRuntimes"],
            "CompatibleArchitectures": result["CompatibleArchitectures"],
        }
    )


def test_publish_list_lengths() -> None:
    runtimes = ["python3.12"] * 16
    error = error_of(rules.validate_publish, {"Content": {}, "CompatibleRuntimes": runtimes})
    assert "Member must have length less than or equal to 15" in error.message
    arches = ["x86_64", "arm64", "x86_64"]
    error = error_of(rules.validate_publish, {"Content": {}, "CompatibleArchitectures": arches})
    assert "Member must have length less than or equal to 2" in error.message
    error = error_of(rules.validate_publish, {})
    assert error.message == (
        "1 validation error detected: Value null at 'content' failed to satisfy constraint:"
        " Member must not be null"
    )


def test_list_filters_match_aws() -> None:
    runtime = {"CompatibleRuntime": "runtimedoesnotexist"}
    assert_matches(
        error_of(rules.validate_list_filters, runtime),
        exceptions("list_layers_exc_compatibleruntime_invalid"),
    )
    architecture = {"CompatibleArchitecture": "archdoesnotexist"}
    assert_matches(
        error_of(rules.validate_list_filters, architecture),
        exceptions("list_layers_exc_compatiblearchitecture_invalid"),
    )
    assert rules.validate_list_filters({}) == 50
    assert rules.validate_list_filters({"MaxItems": 7, "CompatibleRuntime": "python3.7"}) == 7


def test_version_numbers_match_aws() -> None:
    for value in ("-1", "0", -1):
        assert_matches(
            error_of(rules.parse_version_number, value),
            exceptions("get_layer_version_exc_layer_version_doesnotexist_negative"),
        )
    assert rules.parse_version_number("12") == 12


def test_layer_version_arn_without_version_matches_aws() -> None:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:mylayer"
    assert_matches(
        error_of(rules.parse_layer_version_arn, arn),
        exceptions("get_layer_version_by_arn_exc_invalidarn"),
        {"<resource:1>": "mylayer"},
    )
    ref = rules.parse_layer_version_arn(f"{arn}:3")
    assert (ref.region, ref.account, ref.name, ref.version) == (REGION, ACCOUNT, "mylayer", 3)
    managed = rules.parse_layer_version_arn("arn:aws:lambda:::awslayer:AWSLambda-Python")
    assert managed.name is None


def test_layer_names() -> None:
    assert rules.parse_layer_name("my-layer_1") == rules.LayerName("my-layer_1")
    parsed = rules.parse_layer_name(f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:my-layer")
    assert parsed == rules.LayerName("my-layer", REGION, ACCOUNT)
    assert parsed.is_here(REGION, ACCOUNT) and not parsed.is_here("eu-west-1", ACCOUNT)
    error = error_of(rules.parse_layer_name, "not a name")
    assert error.code == "ValidationException"
    assert "at 'layerName' failed to satisfy constraint" in error.message
    assert error_of(rules.parse_layer_name, "x" * 141).code == "ValidationException"


def test_permission_validation_matches_aws() -> None:
    rec = recorded(
        "TestLambdaLayer::test_layer_policy_exceptions", "layer_permission_action_invalid"
    )
    request = {"StatementId": "s-1", "Action": "*", "Principal": "*"}
    assert_matches(error_of(rules.validate_permission, request), rec)
    rules.validate_permission(
        {"StatementId": "s1", "Action": "lambda:GetLayerVersion", "Principal": "123456789012"}
    )
    bad_principal = {"StatementId": "s1", "Action": "lambda:GetLayerVersion", "Principal": "me"}
    assert "'principal'" in error_of(rules.validate_permission, bad_principal).message


def test_statements() -> None:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:l:1"
    assert rules.statement("s1", "*", arn) == {
        "Sid": "s1",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": arn,
    }
    assert rules.statement("a", "123456789012", arn)["Principal"] == {
        "AWS": "arn:aws:iam::123456789012:root"
    }
    root = "arn:aws:iam::123456789012:root"
    assert rules.statement("r", root, arn)["Principal"] == {"AWS": root}
    org = rules.statement("o", "*", arn, "o-abcdefghij")
    assert org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    policy = LayerPolicy("rev", (rules.statement("s1", "*", arn),))
    assert policy.document().startswith('{"Version":"2012-10-17","Id":"default","Statement":[{')


def test_combined_size() -> None:
    rules.check_combined_size(MAX - 10, [10])
    rules.check_combined_size(0, [])
    with pytest.raises(InvalidParameterValueException) as info:
        rules.check_combined_size(MAX - 10, [6, 5])
    assert info.value.message == (
        "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes."
        " The actual size is 262144001 bytes."
    )
    with pytest.raises(InvalidParameterValueException) as info:
        rules.check_combined_size(1, [MAX, 1])
    assert info.value.message == "Layers consume more than the available size of 262144000 bytes"


def test_opt_key_depends_on_order() -> None:
    assert rules.opt_key(["a", "b"]) != rules.opt_key(["b", "a"])
    assert len(rules.opt_key(["a"])) == 64


def test_wire_forms_omit_what_was_never_given() -> None:
    version = LayerVersion(
        name="l",
        region=REGION,
        account=ACCOUNT,
        version=2,
        code_sha256="00" * 32,
        code_size=10,
        unzipped_size=20,
        created_date="2018-11-14T23:03:52.894+0000",
    )
    wire = version.to_wire("http://x")
    assert set(wire) == {
        "Content",
        "LayerArn",
        "LayerVersionArn",
        "Description",
        "CreatedDate",
        "Version",
    }
    assert wire["Content"] == {"Location": "http://x", "CodeSha256": "A" * 43 + "=", "CodeSize": 10}
    empty = dataclasses.replace(version, compatible_runtimes=())
    assert empty.to_list_item()["CompatibleRuntimes"] == []
    assert version.matches(None, None) and not version.matches("python3.12", None)


# --- merged extraction -------------------------------------------------------------------------


def write_zip(path: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) & 0xFFFF) << 16
            archive.writestr(info, content)
    path.write_bytes(buf.getvalue())
    return path


def test_merge_later_packages_win(tmp_path: Path) -> None:
    first = write_zip(
        tmp_path / "1.zip",
        {"python/a.py": "first", "python/keep.py": "k", "bin/tool": "#!/bin/sh", "x": "file"},
        {"python/a.py": 0o444, "bin/tool": 0o755},
    )
    second = write_zip(
        tmp_path / "2.zip",
        {"python/a.py": "second", "x/inside": "now a dir", "bin": "now a file"},
    )
    dest = tmp_path / "opt"
    dest.mkdir()
    extract_with_modes(first, dest, merge=True)
    assert os.access(dest / "bin" / "tool", os.X_OK)
    assert not stat.S_IMODE((dest / "python" / "a.py").stat().st_mode) & stat.S_IWUSR
    extract_with_modes(second, dest, merge=True)
    assert (dest / "python" / "a.py").read_text() == "second"
    assert (dest / "python" / "keep.py").read_text() == "k"
    assert (dest / "x" / "inside").read_text() == "now a dir"
    assert (dest / "bin").read_text() == "now a file"


def test_entries_outside_the_tree_are_skipped(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "evil.zip", {"../escape.txt": "no", "ok.txt": "yes"})
    dest = tmp_path / "opt"
    dest.mkdir()
    extract_with_modes(archive, dest, merge=True)
    assert (dest / "ok.txt").read_text() == "yes"
    assert not (tmp_path / "escape.txt").exists()


# --- the store -----------------------------------------------------------------------------------


def draft(name: str, sha: str = "ab" * 32, size: int = 5) -> LayerVersion:
    return LayerVersion(
        name=name,
        region=REGION,
        account=ACCOUNT,
        version=0,
        code_sha256=sha,
        code_size=size,
        unzipped_size=size * 2,
        created_date="2018-11-14T23:03:52.894+0000",
        compatible_runtimes=("python3.12",),
    )


def test_store_numbers_versions_and_never_reuses_them(tmp_path: Path) -> None:
    store = SqliteLayerStore(tmp_path / "lamina.sqlite3")
    assert [store.publish(draft("a")).version for _ in range(3)] == [1, 2, 3]
    assert store.publish(draft("b")).version == 1
    for number in (1, 2, 3):
        assert store.delete("a", number) is not None
    assert store.delete("a", 3) is None
    assert store.versions("a") == []
    assert store.publish(draft("a")).version == 4
    assert [v.name for v in store.all_versions()] == ["a", "b"]
    assert [v.name for v in store.all_versions(after_name="a")] == ["b"]
    got = store.get("a", 4)
    assert got is not None and got.compatible_runtimes == ("python3.12",)
    assert got.compatible_architectures is None
    store.close()
    reopened = SqliteLayerStore(tmp_path / "lamina.sqlite3")
    assert reopened.publish(draft("a")).version == 5
    assert reopened.total_code_size() == 15
    reopened.close()


def test_store_policy_changes_are_atomic(tmp_path: Path) -> None:
    store = SqliteLayerStore(tmp_path / "lamina.sqlite3")
    store.publish(draft("p", sha="cd" * 32))
    assert store.referenced_code() == {"cd" * 32}
    first = LayerPolicy("r1", ({"Sid": "s1"},))
    assert store.change_policy("p", 1, lambda current: first) == first
    assert store.get_policy("p", 1) == first

    def refuse(current: LayerPolicy | None) -> LayerPolicy | None:
        raise InvalidParameterValueException("no")

    with pytest.raises(InvalidParameterValueException):
        store.change_policy("p", 1, refuse)
    assert store.get_policy("p", 1) == first
    store.change_policy("p", 1, lambda current: None)
    assert store.get_policy("p", 1) is None
    with pytest.raises(LookupError):
        store.change_policy("p", 2, lambda current: first)
    store.close()
