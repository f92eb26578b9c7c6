"""The function control plane through boto3, compared field by field with AWS's recordings.

Golden tests replay what the recorded AWS tests did (tests/fixtures/aws-recorded) and normalise
Lamina's responses the way the recording tool normalised AWS's: ARNs' partition/account/region,
role name, function names, RevisionId/CodeSha256/runtime-version hashes numbered in order of
appearance, LastModified and CodeSize checked and then replaced. Every key and value must match.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from support import ROLE, LaminaServer, make_zip, unique

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from aws_recorded import recorded  # noqa: E402

LAST_MODIFIED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

ECHO = "def handler(event, context):\n    return {'event': event}\n"


def zip_of(code: str, name: str = "handler.py") -> bytes:
    return make_zip({name: code})


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- normalisation ---------------------------------------------------------------------------


class Golden:
    """Lamina responses in the recorded form. ``names`` maps each function name used to its
    placeholder; ``zips`` are the packages uploaded (CodeSha256/CodeSize are checked against
    them before being replaced)."""

    def __init__(self, names: dict[str, str], zips: list[bytes]) -> None:
        self.names = sorted(names.items(), key=lambda kv: -len(kv[0]))
        self.sizes = {b64_sha256(z): len(z) for z in zips}
        self.numbered: dict[str, dict[str, str]] = {"uuid": {}, "code-sha256": {}, "resource": {}}

    def _number(self, kind: str, value: str) -> str:
        table = self.numbered[kind]
        if value not in table:
            table[value] = f"<{kind}:{len(table) + 1}>"
        return table[value]

    def _text(self, value: str) -> str:
        for real, placeholder in self.names:
            value = re.sub(
                rf"(?<=[:/]){re.escape(real)}(?=$|:)|^{re.escape(real)}$", placeholder, value
            )
        value = value.replace("arn:aws:", "arn:<partition>:").replace(":us-east-1:", ":<region>:")
        return value.replace(":000000000000:", ":111111111111:")

    def __call__(self, response: Any) -> Any:
        return self._walk(response)

    def _walk(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k in sorted(value):
                if k == "ResponseMetadata":
                    out[k] = {"HTTPHeaders": {}, "HTTPStatusCode": value[k]["HTTPStatusCode"]}
                else:
                    out[k] = self._walk(value[k], k)
            return out
        if isinstance(value, list):
            return [self._walk(v, key) for v in value]
        if key == "RevisionId":
            assert UUID.match(value), value
            return self._number("uuid", value)
        if key == "CodeSha256":
            assert value in self.sizes, f"CodeSha256 {value} is no uploaded zip's base64 sha256"
            return self._number("code-sha256", value)
        if key == "CodeSize":
            assert value in self.sizes.values(), value
            return "<code-size>"
        if key == "LastModified":
            assert LAST_MODIFIED.match(value), value
            return "date"
        if key == "Location":
            return "<location>"
        if key == "Role":
            head, _, role = value.rpartition("/")
            return self._text(head) + "/" + self._number("resource", role)
        if key == "RuntimeVersionArn":
            head, _, digest = value.rpartition(":")
            return self._text(head) + ":" + self._number("resource", digest)
        if isinstance(value, str):
            return self._text(value)
        return value


def unwrap(expected: Any) -> Any:
    """Some recorded creates are the fixture's ``{CreateFunctionResponse: ...}`` wrapper."""
    if isinstance(expected, dict) and "CreateFunctionResponse" in expected:
        return expected["CreateFunctionResponse"]
    return expected


def differences(actual: Any, expected: Any, path: str = "$") -> list[str]:
    if isinstance(actual, dict) and isinstance(expected, dict):
        out = [
            f"{path}.{k}: missing (AWS has {expected[k]!r})" for k in expected if k not in actual
        ]
        out += [f"{path}.{k}: extra {actual[k]!r}" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                out += differences(actual[k], expected[k], f"{path}.{k}")
        return out
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        return [
            d
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for d in differences(a, e, f"{path}[{i}]")
        ]
    return [] if actual == expected else [f"{path}: {actual!r} != AWS {expected!r}"]


def assert_golden(actual: Any, expected: Any) -> None:
    diff = differences(actual, unwrap(expected))
    assert not diff, "\n".join(diff)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


def error_of(excinfo: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    response: dict[str, Any] = excinfo.value.response
    return response


# --- golden lifecycles -----------------------------------------------------------------------


def test_function_lifecycle_matches_aws(lam: Any) -> None:
    """TestLambdaFunction::test_function_lifecycle: create, get, update configuration, update
    code, delete, delete again."""
    rec = recorded("TestLambdaFunction::test_function_lifecycle")
    name = unique("lifecycle")
    first, second = zip_of(ECHO), zip_of(ECHO + "# v2\n")
    golden = Golden({name: "<function-name:1>"}, [first, second])

    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": first},
        MemorySize=256,
        Timeout=5,
        Environment={"Variables": {}},
    )
    assert_golden(golden(created), rec["create_response"])
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_response"])

    updated = lam.update_function_configuration(
        FunctionName=name,
        Runtime="python3.11",
        Description="Changed-Description",
        MemorySize=512,
        Timeout=10,
        Environment={"Variables": {"ENV_A": "a"}},
    )
    assert_golden(golden(updated), rec["update_func_conf_response"])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert_golden(
        golden(lam.get_function(FunctionName=name)), rec["get_function_response_postupdate"]
    )

    code_updated = lam.update_function_code(FunctionName=name, ZipFile=second)
    assert_golden(golden(code_updated), rec["update_code_response"])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert_golden(
        golden(lam.get_function(FunctionName=name)), rec["get_function_response_postcodeupdate"]
    )

    assert_golden(golden(lam.delete_function(FunctionName=name)), rec["delete_response"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.delete_function(FunctionName=name)
    assert_golden(golden(error_of(excinfo)), rec["delete_postdelete"])


def test_code_location_zipfile_matches_aws(lam: Any) -> None:
    """TestLambdaFunction::test_lambda_code_location_zipfile: Code.Location serves the zip
    byte for byte; CodeSha256 is its base64 sha256 and CodeSize its length."""
    rec = recorded("TestLambdaFunction::test_lambda_code_location_zipfile")
    name = unique("codeloc")
    first, second = zip_of(ECHO, "index.py"), zip_of(ECHO + "# updated\n", "index.py")
    golden = Golden({name: "<function-name:1>"}, [first, second])

    created = lam.create_function(
        FunctionName=name,
        Handler="index.handler",
        Code={"ZipFile": first},
        PackageType="Zip",
        Role=ROLE,
        Runtime="python3.12",
    )
    assert_golden(golden(created), rec["create-response-zip-file"])
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    got = lam.get_function(FunctionName=name)
    assert_golden(golden(got), rec["get-function-response"])
    assert fetch(got["Code"]["Location"]) == first
    assert got["Configuration"]["CodeSha256"] == b64_sha256(first)
    assert got["Configuration"]["CodeSize"] == len(first)

    updated = lam.update_function_code(FunctionName=name, ZipFile=second)
    assert_golden(golden(updated), rec["update-function-response"])
    after = lam.get_function(FunctionName=name)
    # AWS was still applying the update when it answered this GetFunction (InProgress, same
    # RevisionId); Lamina's updates complete at once, so the waiter's end state is expected.
    expected = dict(rec["get-function-response-updated"])
    configuration = dict(expected["Configuration"])
    for key in ("LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
        del configuration[key]
    configuration.update(LastUpdateStatus="Successful", RevisionId="<uuid:4>")
    expected["Configuration"] = configuration
    assert_golden(golden(after), expected)
    assert fetch(after["Code"]["Location"]) == second
    assert after["Configuration"]["CodeSha256"] == b64_sha256(second)
    assert after["Configuration"]["CodeSize"] == len(second)
    lam.delete_function(FunctionName=name)


def test_publish_on_create_matches_aws(lam: Any) -> None:
    """TestLambdaVersions::test_publish_version_on_create: Publish=True answers Version "1";
    GetFunction with Qualifier 1 and $LATEST (qualified ARNs)."""
    rec = recorded("TestLambdaVersions::test_publish_version_on_create")
    name = unique("publish")
    package = zip_of(ECHO, "index.py")
    golden = Golden({name: "<function-name:1>"}, [package])

    created = lam.create_function(
        FunctionName=name,
        Handler="index.handler",
        Code={"ZipFile": package},
        Role=ROLE,
        Runtime="python3.12",
        Publish=True,
    )
    assert_golden(golden(created), rec["create_response"])
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_function_result"])
    version = lam.get_function(FunctionName=name, Qualifier="1")
    assert_golden(golden(version), rec["get_function_version_result"])
    latest = lam.get_function(FunctionName=name, Qualifier="$LATEST")
    assert_golden(golden(latest), rec["get_function_latest_result"])
    assert fetch(version["Code"]["Location"]) == package
    assert lam.get_function_configuration(FunctionName=f"{name}:1")["Version"] == "1"
    assert (
        lam.get_function_configuration(FunctionName=name, Qualifier="$LATEST")["FunctionArn"]
        == latest["Configuration"]["FunctionArn"]
    )
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name, Qualifier="1")


def test_list_functions_matches_aws(lam: Any) -> None:
    """TestLambdaFunction::test_list_functions: default listing and FunctionVersion=ALL (the
    subset of FunctionConfiguration; $LATEST qualified in ALL), and the invalid version."""
    rec = recorded("TestLambdaFunction::test_list_functions")
    prefix = unique("list")
    one, two = f"{prefix}-a", f"{prefix}-b"
    first, second = zip_of(ECHO), zip_of(ECHO + "# two\n")
    golden = Golden({one: "<function-name:1>", two: "<function-name:2>"}, [first, second])
    common: dict[str, Any] = {
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "handler.handler",
        "Timeout": 30,
        "Environment": {"Variables": {}},
    }
    created = lam.create_function(FunctionName=one, Code={"ZipFile": first}, Publish=True, **common)
    assert_golden(golden(created), rec["create_response_1"])
    created = lam.create_function(FunctionName=two, Code={"ZipFile": second}, **common)
    assert_golden(golden(created), rec["create_response_2"])

    with pytest.raises(lam.exceptions.ClientError) as excinfo:
        lam.list_functions(FunctionVersion="invalid")
    assert_golden(golden(error_of(excinfo)), rec["list_functions_invalid_functionversion"])

    def mine(version: str | None) -> dict[str, Any]:
        kwargs = {"FunctionVersion": version} if version else {}
        items = [
            f
            for page in lam.get_paginator("list_functions").paginate(**kwargs)
            for f in page["Functions"]
            if f["FunctionName"] in (one, two)
        ]
        return {"Functions": items}

    assert_golden(golden(mine("ALL")), rec["list_all"])
    assert_golden(golden(mine(None)), rec["list_default"])
    for name in (one, two):
        lam.delete_function(FunctionName=name)


def test_tag_lifecycle_matches_aws(lam: Any) -> None:
    """TestLambdaTag::test_tag_lifecycle[lambda_function]: TagResource/UntagResource answer 204,
    ListTags the merged map."""
    rec = recorded("TestLambdaTag::test_tag_lifecycle[lambda_function]")
    name = unique("tags")
    package = zip_of(ECHO)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
    )
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    golden = Golden({name: "<function-name:1>"}, [package])

    def step(label: str, response: dict[str, Any]) -> None:
        assert_golden(golden(response), rec[f"{label}_response"])
        assert_golden(golden(lam.list_tags(Resource=arn)), rec[f"{label}_response_listtags"])

    step("tag_single", lam.tag_resource(Resource=arn, Tags={"A": "tag-a"}))
    step("tag_multiple", lam.tag_resource(Resource=arn, Tags={"B": "tag-b", "C": "tag-c"}))
    step("tag_overlap", lam.tag_resource(Resource=arn, Tags={"C": "tag-c-newsuffix", "D": "tag-d"}))
    step("untag_single", lam.untag_resource(Resource=arn, TagKeys=["A"]))
    step("untag_multiple", lam.untag_resource(Resource=arn, TagKeys=["B", "C"]))
    step("untag_nonexisting", lam.untag_resource(Resource=arn, TagKeys=["F"]))
    step("untag_existing_and_nonexisting", lam.untag_resource(Resource=arn, TagKeys=["D", "F"]))
    lam.delete_function(FunctionName=name)


def test_tags_on_create_and_get_function_match_aws(lam: Any) -> None:
    """TestLambdaTags::test_tag_lifecycle: tags given at creation, GetFunction's Tags (absent
    once empty), and a new RevisionId with every tag change."""
    rec = recorded("TestLambdaTags::test_tag_lifecycle")
    name = unique("tagged")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
        Timeout=30,
        Environment={"Variables": {}},
        Tags={"key_a": "value_a"},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    def check(label: str) -> None:
        assert_golden(golden(lam.list_tags(Resource=arn)), rec[f"list_tags_response_{label}"])
        assert_golden(golden(lam.get_function(FunctionName=name)), rec[f"get_fn_response_{label}"])

    check("postfncreate")
    more = {"key_b": "value_b", "key_c": "value_c", "key_d": "value_d", "key_e": "value_e"}
    assert_golden(golden(lam.tag_resource(Resource=arn, Tags=more)), rec["tag_resource_response"])
    check("postaddtags")
    overwrite = lam.tag_resource(Resource=arn, Tags={"key_c": "value_x"})
    assert_golden(golden(overwrite), rec["tag_resource_overwrite"])
    assert_golden(golden(lam.list_tags(Resource=arn)), rec["list_tags_response_overwrite"])
    assert_golden(golden(lam.get_function(FunctionName=name)), rec["get_fn_response_overwrite"])
    lam.untag_resource(Resource=arn, TagKeys=["key_c", "key_d"])
    check("postuntag")
    lam.untag_resource(Resource=arn, TagKeys=["key_a", "key_b", "key_e"])
    check("postuntagall")
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.list_tags(Resource=arn)
    assert_golden(golden(error_of(excinfo)), rec["list_tags_postdelete"])


def test_account_settings(lam: Any) -> None:
    """TestLambdaAccountSettings::test_account_settings (the keys), AWS's documented limits,
    and usage counting every version's package (test_account_settings_total_code_size)."""
    rec = recorded("TestLambdaAccountSettings::test_account_settings", "acc_settings_modded")
    before = lam.get_account_settings()
    assert sorted(before["AccountLimit"]) == rec["AccountLimit"]
    assert sorted(before["AccountUsage"]) == rec["AccountUsage"]
    assert before["ResponseMetadata"]["HTTPStatusCode"] == 200
    limit = before["AccountLimit"]
    assert limit["TotalCodeSize"] == 80530636800
    assert limit["CodeSizeUnzipped"] == 262144000
    assert limit["CodeSizeZipped"] == 52428800
    assert limit["ConcurrentExecutions"] >= limit["UnreservedConcurrentExecutions"] > 0

    name = unique("usage")
    package = zip_of(ECHO)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
    )
    created = lam.get_account_settings()["AccountUsage"]
    assert created["FunctionCount"] == before["AccountUsage"]["FunctionCount"] + 1
    assert created["TotalCodeSize"] == before["AccountUsage"]["TotalCodeSize"] + len(package)

    lam.update_function_configuration(FunctionName=name, Description="no code change")
    assert lam.get_account_settings()["AccountUsage"] == created
    lam.update_function_code(FunctionName=name, ZipFile=package, Publish=True)
    published = lam.get_account_settings()["AccountUsage"]
    assert published["FunctionCount"] == created["FunctionCount"]
    assert published["TotalCodeSize"] == created["TotalCodeSize"] + len(package)

    lam.delete_function(FunctionName=name)
    assert lam.get_account_settings()["AccountUsage"] == before["AccountUsage"]


# --- behaviour beyond the recordings -----------------------------------------------------------


@pytest.fixture(scope="module")
def shared_function(lam: Any) -> Any:
    """One function for the read-only checks below."""
    name = unique("shared")
    package = zip_of(ECHO)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
        Description="shared",
        Environment={"Variables": {"KEY_ONE": "1"}},
        Tags={"team": "lamina"},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    yield name, package
    lam.delete_function(FunctionName=name)


def test_function_configuration_defaults(lam: Any, shared_function: Any) -> None:
    """Every field AWS returns for a zip function, with AWS's defaults, in GetFunction,
    GetFunctionConfiguration and ListFunctions (which omits the state members)."""
    name, package = shared_function
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    config = lam.get_function_configuration(FunctionName=name)
    assert config["ResponseMetadata"]["HTTPStatusCode"] == 200
    del config["ResponseMetadata"]
    revision = config.pop("RevisionId")
    modified = config.pop("LastModified")
    runtime_arn = config.pop("RuntimeVersionConfig")["RuntimeVersionArn"]
    assert UUID.match(revision)
    assert LAST_MODIFIED.match(modified)
    assert re.fullmatch(r"arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}", runtime_arn)
    assert config == {
        "FunctionName": name,
        "FunctionArn": arn,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "handler.handler",
        "CodeSize": len(package),
        "Description": "shared",
        "Timeout": 3,
        "MemorySize": 128,
        "CodeSha256": b64_sha256(package),
        "Version": "$LATEST",
        "Environment": {"Variables": {"KEY_ONE": "1"}},
        "TracingConfig": {"Mode": "PassThrough"},
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
    }
    got = lam.get_function(FunctionName=arn)
    assert got["Configuration"]["RevisionId"] == revision
    assert got["Tags"] == {"team": "lamina"}
    assert got["Code"]["RepositoryType"] == "S3"
    assert fetch(got["Code"]["Location"]) == package
    listed = [
        f
        for page in lam.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f["FunctionName"] == name
    ]
    assert len(listed) == 1
    expected = {k: v for k, v in got["Configuration"].items()}
    for key in ("State", "LastUpdateStatus", "RuntimeVersionConfig"):
        del expected[key]
    assert listed[0] == expected


def test_name_forms_resolve_to_the_same_function(lam: Any, shared_function: Any) -> None:
    name, _ = shared_function
    forms = [
        name,
        f"000000000000:function:{name}",
        f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
        f"{name}:$LATEST",
    ]
    revisions = {lam.get_function_configuration(FunctionName=f)["RevisionId"] for f in forms}
    assert len(revisions) == 1


def test_create_with_arn_names(lam: Any) -> None:
    """TestLambdaFunction::test_function_arns: full and partial ARNs as the new name."""
    rec = recorded("TestLambdaFunction::test_function_arns")
    full, partial = unique("arnfull"), unique("arnpart")
    first, second = zip_of(ECHO), zip_of(ECHO + "# p\n")
    golden = Golden({full: "<function-name:1>", partial: "<function-name:2>"}, [first, second])
    common: dict[str, Any] = {
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "handler.handler",
        "Timeout": 30,
        "Environment": {"Variables": {}},
    }
    created = lam.create_function(
        FunctionName=f"arn:aws:lambda:us-east-1:000000000000:function:{full}",
        Code={"ZipFile": first},
        **common,
    )
    assert_golden(golden(created), rec["create-function-arn-response"])
    created = lam.create_function(
        FunctionName=f"000000000000:function:{partial}", Code={"ZipFile": second}, **common
    )
    assert_golden(golden(created), rec["create-function-partial-arn-response"])
    for name in (full, partial):
        lam.delete_function(FunctionName=name)


def test_update_configuration_replaces_environment_and_moves_status(lam: Any) -> None:
    name = unique("envupd")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": zip_of(ECHO)},
        Environment={"Variables": {"FIRST": "1", "SECOND": "2"}},
        Tags={"keep": "me"},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    before = lam.get_function(FunctionName=name)["Configuration"]

    response = lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"THIRD": "3"}}, MemorySize=256
    )
    assert response["LastUpdateStatus"] == "InProgress"
    assert response["LastUpdateStatusReasonCode"] == "Creating"
    assert response["State"] == "Active"
    assert response["Environment"] == {"Variables": {"THIRD": "3"}}
    assert response["RevisionId"] != before["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)

    after = lam.get_function(FunctionName=name)
    config = after["Configuration"]
    assert config["LastUpdateStatus"] == "Successful"
    assert "LastUpdateStatusReason" not in config
    assert config["Environment"] == {"Variables": {"THIRD": "3"}}
    assert config["MemorySize"] == 256
    assert config["RevisionId"] not in (before["RevisionId"], response["RevisionId"])
    assert config["LastModified"] >= before["LastModified"]
    assert after["Tags"] == {"keep": "me"}
    # Untouched members keep their values.
    for key in ("Handler", "Runtime", "Role", "Timeout", "CodeSha256", "CodeSize", "Description"):
        assert config[key] == before[key], key

    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.get_function_configuration(FunctionName=name)["Environment"] == {"Variables": {}}
    lam.delete_function(FunctionName=name)


def test_update_code_and_invoke_new_code(lam: Any) -> None:
    name = unique("codeupd")
    first = zip_of("def handler(event, context):\n    return 'first'\n")
    second = zip_of("def handler(event, context):\n    return 'second'\n")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": first},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"first"'
    response = lam.update_function_code(FunctionName=name, ZipFile=second)
    assert response["CodeSha256"] == b64_sha256(second)
    assert response["CodeSize"] == len(second)
    assert response["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"second"'
    got = lam.get_function(FunctionName=name)
    assert fetch(got["Code"]["Location"]) == second
    lam.delete_function(FunctionName=name)


def test_revision_id_preconditions(lam: Any) -> None:
    """TestLambdaRevisions::test_function_revisions_basic: a stale RevisionId is a 412 for
    UpdateFunctionCode and UpdateFunctionConfiguration; the current one is accepted."""
    rec = recorded("TestLambdaRevisions::test_function_revisions_basic")
    name = unique("revs")
    package = zip_of(ECHO)
    golden = Golden({name: "<function-name:1>"}, [package])
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
    )
    stale = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    current = lam.update_function_configuration(
        FunctionName=name, Description="one", RevisionId=stale
    )["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    current = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]

    with pytest.raises(lam.exceptions.PreconditionFailedException) as excinfo:
        lam.update_function_code(FunctionName=name, ZipFile=package, RevisionId=stale)
    err = error_of(excinfo)
    assert (
        err["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "PreconditionFailedException"
    )
    assert_golden(golden(err), rec["update_function_revision_exception"])
    with pytest.raises(lam.exceptions.PreconditionFailedException) as excinfo:
        lam.update_function_configuration(FunctionName=name, Description="two", RevisionId=stale)
    assert_golden(
        golden(error_of(excinfo)), rec["update_function_configuration_revision_exception"]
    )
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Description"] == "one"
    assert config["RevisionId"] == current

    updated = lam.update_function_code(FunctionName=name, ZipFile=package, RevisionId=current)
    assert updated["RevisionId"] != current
    lam.delete_function(FunctionName=name)


def test_list_functions_pagination(lam: Any) -> None:
    """120 functions: Marker/MaxItems by hand and the boto3 paginator; never more than 50 per
    page, every function exactly once, in a stable order."""
    prefix = unique("page")
    names = [f"{prefix}-{i:03d}" for i in range(120)]
    package = zip_of(ECHO)
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="handler.handler",
            Code={"ZipFile": package},
        )
    try:
        pages = list(lam.get_paginator("list_functions").paginate())
        assert all(len(p["Functions"]) <= 50 for p in pages)
        assert all("NextMarker" in p for p in pages[:-1]) and "NextMarker" not in pages[-1]
        seen = [f["FunctionName"] for p in pages for f in p["Functions"]]
        assert len(seen) == len(set(seen))
        assert [n for n in seen if n.startswith(prefix)] == names

        big = lam.list_functions(MaxItems=1000)
        assert len(big["Functions"]) == 50 and "NextMarker" in big

        by_hand: list[str] = []
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MaxItems": 7}
            if marker:
                kwargs["Marker"] = marker
            page = lam.list_functions(**kwargs)
            assert len(page["Functions"]) <= 7
            by_hand += [f["FunctionName"] for f in page["Functions"]]
            marker = page.get("NextMarker")
            if not marker:
                break
        assert by_hand == seen

        limited = lam.get_paginator("list_functions").paginate(
            PaginationConfig={"MaxItems": 60, "PageSize": 25}
        )
        sizes = [len(p["Functions"]) for p in limited]
        assert sizes == [25, 25, 10]
    finally:
        for name in names:
            lam.delete_function(FunctionName=name)


def test_waiters_complete(lam: Any) -> None:
    name = unique("waiters")
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": zip_of(ECHO)},
    )
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    for waiter in ("function_active_v2", "function_active", "function_exists"):
        lam.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    lam.update_function_configuration(FunctionName=name, Timeout=9)
    for waiter in ("function_updated_v2", "function_updated"):
        lam.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    lam.delete_function(FunctionName=name)


def test_delete_versions(lam: Any) -> None:
    """TestLambdaFunction::test_delete_on_nonexisting_version: deleting a version that does not
    exist succeeds; deleting version 1 keeps $LATEST; a missing function names the unqualified
    ARN even with a qualifier."""
    rec = recorded("TestLambdaFunction::test_delete_on_nonexisting_version")
    name = unique("delver")
    package = zip_of(ECHO)
    golden = Golden({name: "<fn-name>"}, [package])
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
        Publish=True,
    )
    assert lam.delete_function(FunctionName=name, Qualifier="1233")["StatusCode"] == 204
    assert lam.delete_function(FunctionName=name, Qualifier="1233")["StatusCode"] == 204
    lam.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name, Qualifier="1")
    assert lam.get_function(FunctionName=name)["Configuration"]["Version"] == "$LATEST"
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.delete_function(FunctionName=name)
    assert_golden(golden(error_of(excinfo)), rec["delete_function_response_non_existent"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.delete_function(FunctionName=name, Qualifier="1233")
    assert_golden(
        golden(error_of(excinfo)), rec["delete_function_response_non_existent_with_qualifier"]
    )


def test_configured_account_and_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ARNs carry the account id and region the server is configured with."""
    monkeypatch.setenv("LAMINA_ACCOUNT_ID", "123456789012")
    monkeypatch.setenv("LAMINA_REGION", "eu-west-1")
    srv = LaminaServer(tmp_path / "data")
    srv.start()
    try:
        client = boto3.client(
            "lambda",
            endpoint_url=srv.endpoint,
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )
        created = client.create_function(
            FunctionName="placed",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/lambda-role",
            Handler="handler.handler",
            Code={"ZipFile": zip_of(ECHO)},
        )
        arn = "arn:aws:lambda:eu-west-1:123456789012:function:placed"
        assert created["FunctionArn"] == arn
        assert created["RuntimeVersionConfig"]["RuntimeVersionArn"].startswith(
            "arn:aws:lambda:eu-west-1::runtime:"
        )
        assert client.get_function(FunctionName=arn)["Configuration"]["FunctionArn"] == arn
        assert client.list_tags(Resource=arn)["Tags"] == {}
        with pytest.raises(client.exceptions.ClientError) as excinfo:
            client.get_function(
                FunctionName="arn:aws:lambda:eu-west-1:000000000000:function:placed"
            )
        assert error_of(excinfo)["Error"]["Code"] == "AccessDeniedException"
        with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
            client.get_function(
                FunctionName="arn:aws:lambda:us-east-1:123456789012:function:placed"
            )
        assert error_of(excinfo)["Error"]["Message"] == (
            "Functions from 'us-east-1' are not reachable in this region ('eu-west-1')"
        )
    finally:
        assert srv.stop() == 0
