"""Layers through boto3: the nine layer operations compared with AWS's recordings
(``TestLambdaLayer``), functions using layers, and what a function sees under ``/opt``.

Golden comparisons normalise Lamina's responses the way the recording tool normalised AWS's
(see ``test_functions_api``); layer names, descriptions and license texts map to their
placeholders, ``Content.Location`` to ``<layer-location>``, ``CreatedDate`` (checked) to
``date``, and the JSON ``Statement``/``Policy`` strings are parsed as the tool did.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support import ROLE, LaminaServer, create_python_function, make_zip, unique
from test_functions_api import (
    LAST_MODIFIED,
    Golden,
    assert_golden,
    b64_sha256,
    error_of,
    fetch,
    recorded,
)

from lamina.domain.layers import opt_key

ARN = "arn:aws:lambda:us-east-1:000000000000"
MAX_UNZIPPED = 262144000


class LayerGolden(Golden):
    """``names`` maps every name/text used to its placeholder; ``reserved`` placeholders
    ``<resource:1..n>`` are taken by those names, so the role and runtime hashes are numbered
    after them (the recording numbers them together, in order of appearance)."""

    def __init__(self, names: dict[str, str], zips: list[bytes], reserved: int = 0) -> None:
        super().__init__(names, zips)
        for n in range(reserved):
            self.numbered["resource"][f"\0reserved{n}"] = f"<resource:{n + 1}>"

    def _text(self, value: str) -> str:
        for real, placeholder in self.names:
            value = re.sub(rf"(?<![\w-]){re.escape(real)}(?![\w-])", placeholder, value)
        value = value.replace("arn:aws:", "arn:<partition>:").replace("us-east-1", "<region>")
        return value.replace(":000000000000:", ":111111111111:")

    def _walk(self, value: Any, key: str = "") -> Any:
        if key == "CreatedDate":
            assert LAST_MODIFIED.match(value), value
            return "date"
        if key in ("Statement", "Policy") and isinstance(value, str):
            return self._walk(json.loads(value), key)
        out = super()._walk(value, key)
        if key == "Content":
            assert value["Location"].startswith("http"), value
            out["Location"] = "<layer-location>"
        return out


def layer_zip(tag: str, files: dict[str, str] | None = None) -> bytes:
    """A small layer package whose content (and so sha256) is unique to ``tag``."""
    return make_zip(files or {"python/dummy.py": f"TAG = {tag!r}\n"})


def zeros_zip(entries: dict[str, int], files: dict[str, str] | None = None) -> bytes:
    """A zip of files of zero bytes of the given sizes (large unzipped, tiny zipped), and
    ``files``."""
    buf = io.BytesIO()
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (files or {}).items():
            archive.writestr(name, text)
        for name, size in entries.items():
            with archive.open(name, "w", force_zip64=True) as out:
                left = size
                while left:
                    out.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))
    return buf.getvalue()


def unzipped(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def publish(lam: Any, name: str, content: bytes, **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = lam.publish_layer_version(
        LayerName=name, Content={"ZipFile": content}, **kwargs
    )
    return response


def delete_all(lam: Any, name: str) -> None:
    for page in lam.get_paginator("list_layer_versions").paginate(LayerName=name):
        for item in page["LayerVersions"]:
            lam.delete_layer_version(LayerName=name, VersionNumber=item["Version"])


def invoke_json(lam: Any, name: str, payload: Any = None) -> Any:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode())
    body = response["Payload"].read()
    assert "FunctionError" not in response, body
    return json.loads(body)


def create_echo(lam: Any, name: str, package: bytes, **kwargs: Any) -> dict[str, Any]:
    """The recorded tests' function: python3.12, handler.handler, 30 s, empty environment."""
    response: dict[str, Any] = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": package},
        Timeout=30,
        Environment={"Variables": {}},
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return response


ECHO_PACKAGE = make_zip({"handler.py": "def handler(event, context):\n    return event\n"})


# --- golden: the recorded AWS tests ----------------------------------------------------------


def test_layer_lifecycle_matches_aws(lam: Any) -> None:
    """TestLambdaLayer::test_layer_lifecycle: publish twice (same content, versions 1 and 2),
    attach to a function, get/list, delete version 1 while the function uses it (the function
    keeps it), delete version 2, and the next version is still 3."""
    rec = recorded("TestLambdaLayer::test_layer_lifecycle")
    fn, layer = unique("fn-layer"), unique("testlayer")
    license_info, description = unique("licenseinfo"), unique("description")
    content = layer_zip(layer)
    golden = LayerGolden(
        {
            fn: "<function-name:1>",
            layer: "<resource:3>",
            license_info: "<license-info>",
            description: "<description>",
        },
        [ECHO_PACKAGE, content],
    )
    create_echo(lam, fn, ECHO_PACKAGE)
    assert_golden(golden(lam.get_function(FunctionName=fn)), rec["get_fn_result"])
    assert_golden(
        golden(lam.get_function_configuration(FunctionName=fn)), rec["get_fn_config_result"]
    )

    common = {
        "CompatibleRuntimes": ["python3.12"],
        "LicenseInfo": license_info,
        "Description": description,
        "CompatibleArchitectures": ["x86_64"],
    }
    first = publish(lam, layer, content, **common)
    assert_golden(golden(first), rec["publish_result"])
    second = publish(lam, layer, content, **common)
    assert_golden(golden(second), rec["publish_result_2"])
    assert (first["Version"], second["Version"]) == (1, 2)
    assert first["Content"]["CodeSha256"] == second["Content"]["CodeSha256"] == b64_sha256(content)

    updated = lam.update_function_configuration(FunctionName=fn, Layers=[first["LayerVersionArn"]])
    assert_golden(golden(updated), rec["update_fn_config"])
    lam.get_waiter("function_updated_v2").wait(FunctionName=fn)
    assert_golden(golden(lam.get_function_configuration(FunctionName=fn)), rec["get_fn_config"])

    got = lam.get_layer_version(LayerName=layer, VersionNumber=1)
    assert_golden(golden(got), rec["get_layer_ver_result"])
    by_arn = lam.get_layer_version_by_arn(Arn=first["LayerVersionArn"])
    assert_golden(golden(by_arn), rec["get_layer_by_arn_version"])
    listed = lam.list_layer_versions(LayerName=layer)
    assert_golden(golden(listed), rec["list_layer_versions_predelete"])

    assert_golden(
        golden(lam.delete_layer_version(LayerName=layer, VersionNumber=1)), rec["delete_layer_1"]
    )
    assert_golden(
        golden(lam.get_function_configuration(FunctionName=fn)), rec["get_fn_config_postdelete"]
    )
    assert_golden(
        golden(lam.delete_layer_version(LayerName=layer, VersionNumber=2)), rec["delete_layer_2"]
    )
    assert_golden(
        golden(lam.list_layer_versions(LayerName=layer)), rec["list_layer_versions_postdelete"]
    )
    third = publish(lam, layer, content, **common)
    assert_golden(golden(third), rec["publish_result_3"])
    assert third["Version"] == 3

    lam.delete_function(FunctionName=fn)
    delete_all(lam, layer)


def test_layer_exceptions_match_aws(lam: Any) -> None:
    """TestLambdaLayer::test_layer_exceptions: bad filters, missing layers and versions,
    versions below 1, an ARN without version, idempotent deletes, empty compatibility lists,
    invalid runtimes and architectures."""
    rec = recorded("TestLambdaLayer::test_layer_exceptions")
    layer, empty = unique("testlayer"), unique("testlayer-empty")
    content = layer_zip(layer)
    golden = LayerGolden({layer: "<resource:1>", empty: "<resource:2>"}, [content], reserved=2)
    client_error = lam.exceptions.ClientError

    first = publish(
        lam,
        layer,
        content,
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"],
    )
    assert_golden(golden(first), rec["publish_result"])

    def fails(key: str, call: Any, **kwargs: Any) -> None:
        with pytest.raises(client_error) as excinfo:
            call(**kwargs)
        assert_golden(golden(error_of(excinfo)), rec[key])

    fails(
        "list_layers_exc_compatibleruntime_invalid",
        lam.list_layers,
        CompatibleRuntime="runtimedoesnotexist",
    )
    fails(
        "list_layers_exc_compatiblearchitecture_invalid",
        lam.list_layers,
        CompatibleArchitecture="archdoesnotexist",
    )
    assert_golden(
        golden(lam.list_layer_versions(LayerName="layerdoesnotexist")),
        rec["list_nonexistent_layer"],
    )
    get = lam.get_layer_version
    fails(
        "get_layer_version_exc_layer_doesnotexist",
        get,
        LayerName="layerdoesnotexist",
        VersionNumber=1,
    )
    fails(
        "get_layer_version_exc_layer_version_doesnotexist_negative",
        get,
        LayerName=layer,
        VersionNumber=-1,
    )
    fails(
        "get_layer_version_exc_layer_version_doesnotexist_zero",
        get,
        LayerName=layer,
        VersionNumber=0,
    )
    fails(
        "get_layer_version_exc_layer_version_doesnotexist_2", get, LayerName=layer, VersionNumber=2
    )
    by_arn = lam.get_layer_version_by_arn
    fails("get_layer_version_by_arn_exc_invalidarn", by_arn, Arn=first["LayerArn"])
    fails("get_layer_version_by_arn_exc_nonexistentversion", by_arn, Arn=f"{first['LayerArn']}:2")

    delete = lam.delete_layer_version
    for key, kwargs in (
        ("delete_nonexistent_response", {"LayerName": "layerdoesnotexist", "VersionNumber": 1}),
        ("delete_nonexistent_version_response", {"LayerName": layer, "VersionNumber": 2}),
        ("delete_layer_response", {"LayerName": layer, "VersionNumber": 1}),
        ("delete_layer_again_response", {"LayerName": layer, "VersionNumber": 1}),
    ):
        assert_golden(golden(delete(**kwargs)), rec[key])
    fails(
        "delete_layer_version_exc_layerversion_invalid_version",
        delete,
        LayerName=layer,
        VersionNumber=-1,
    )

    empty_result = publish(lam, empty, content, CompatibleRuntimes=[], CompatibleArchitectures=[])
    assert_golden(golden(empty_result), rec["publish_empty_result"])
    fails(
        "publish_layer_version_exc_invalid_runtime_arch",
        lam.publish_layer_version,
        LayerName=unique("testlayer-2"),
        Content={"ZipFile": content},
        CompatibleRuntimes=["invalidruntime"],
        CompatibleArchitectures=["invalidarch"],
    )
    fails(
        "publish_layer_version_exc_partially_invalid_values",
        lam.publish_layer_version,
        LayerName=unique("testlayer-2"),
        Content={"ZipFile": content},
        CompatibleRuntimes=["invalidruntime", "invalidruntime2", "nodejs20.x"],
        CompatibleArchitectures=["invalidarch", "x86_64"],
    )
    delete_all(lam, empty)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_layer_compatibilities_match_aws(lam: Any, index: int) -> None:
    """TestLambdaLayer::test_layer_compatibilities: up to 15 runtimes, deprecated ones
    included, kept in the order given; both architectures."""
    rec = recorded(f"TestLambdaLayer::test_layer_compatibilities[runtimes{index}]")
    expected = rec["publish_result"]
    layer = unique("testlayer")
    content = layer_zip(layer)
    golden = LayerGolden({layer: "<resource:1>"}, [content], reserved=1)
    result = publish(
        lam,
        layer,
        content,
        CompatibleRuntimes=expected["CompatibleRuntimes"],
        CompatibleArchitectures=expected["CompatibleArchitectures"],
    )
    assert_golden(golden(result), expected)
    got = lam.get_layer_version(LayerName=layer, VersionNumber=1)
    assert got["CompatibleRuntimes"] == expected["CompatibleRuntimes"]
    delete_all(lam, layer)


def test_layer_policy_lifecycle_matches_aws(lam: Any) -> None:
    """TestLambdaLayer::test_layer_policy_lifecycle: add s1, add s2 with the current
    RevisionId, remove s2; the policy and its RevisionId after each step."""
    rec = recorded("TestLambdaLayer::test_layer_policy_lifecycle")
    layer = unique("testlayer")
    content = layer_zip(layer)
    golden = LayerGolden({layer: "<resource:1>"}, [content], reserved=1)
    result = publish(
        lam, layer, content, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"]
    )
    assert_golden(golden(result), rec["publish_result"])
    permission = {"LayerName": layer, "VersionNumber": 1, "Action": "lambda:GetLayerVersion"}
    added = lam.add_layer_version_permission(StatementId="s1", Principal="*", **permission)
    assert_golden(golden(added), rec["add_policy_s1"])
    policy = lam.get_layer_version_policy(LayerName=layer, VersionNumber=1)
    assert_golden(golden(policy), rec["get_layer_version_policy"])
    added = lam.add_layer_version_permission(
        StatementId="s2", Principal="*", RevisionId=policy["RevisionId"], **permission
    )
    assert_golden(golden(added), rec["add_policy_s2"])
    policy = lam.get_layer_version_policy(LayerName=layer, VersionNumber=1)
    assert_golden(golden(policy), rec["get_layer_version_policy_postadd2"])
    removed = lam.remove_layer_version_permission(
        LayerName=layer, VersionNumber=1, StatementId="s2", RevisionId=policy["RevisionId"]
    )
    assert_golden(golden(removed), rec["remove_s2"])
    policy = lam.get_layer_version_policy(LayerName=layer, VersionNumber=1)
    assert_golden(golden(policy), rec["get_layer_version_policy_postdeletes2"])
    delete_all(lam, layer)


def test_layer_policy_exceptions_match_aws(lam: Any) -> None:
    """TestLambdaLayer::test_layer_policy_exceptions."""
    rec = recorded("TestLambdaLayer::test_layer_policy_exceptions")
    layer = unique("layer4policy")
    content = layer_zip(layer)
    golden = LayerGolden(
        {layer: "<resource:1>", f"{layer}-doesnotexist": "<resource:1>-doesnotexist"},
        [content],
        reserved=1,
    )
    result = publish(
        lam, layer, content, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"]
    )
    assert_golden(golden(result), rec["publish_result"])

    def fails(key: str, call: Any, **kwargs: Any) -> None:
        with pytest.raises(lam.exceptions.ClientError) as excinfo:
            call(**kwargs)
        assert_golden(golden(error_of(excinfo)), rec[key])

    get, add = lam.get_layer_version_policy, lam.add_layer_version_permission
    remove = lam.remove_layer_version_permission
    allow = {"Action": "lambda:GetLayerVersion", "Principal": "*"}
    fails("layer_permission_nopolicy_get", get, LayerName=layer, VersionNumber=1)
    added = add(LayerName=layer, VersionNumber=1, StatementId="s1", **allow)
    assert_golden(golden(added), rec["add_layer_permission_result"])
    fails(
        "layer_permission_action_invalid",
        add,
        LayerName=layer,
        VersionNumber=1,
        Action="*",
        Principal="*",
        StatementId=unique("s"),
    )
    fails(
        "layer_permission_duplicate_statement",
        add,
        LayerName=layer,
        VersionNumber=1,
        StatementId="s1",
        **allow,
    )
    fails(
        "layer_permission_wrong_revision",
        add,
        LayerName=layer,
        VersionNumber=1,
        StatementId="s2",
        RevisionId="wrong",
        **allow,
    )
    missing = f"{layer}-doesnotexist"
    fails(
        "layer_permission_layername_doesnotexist_add",
        add,
        LayerName=missing,
        VersionNumber=1,
        StatementId=unique("s"),
        **allow,
    )
    fails("layer_permission_layername_doesnotexist_get", get, LayerName=missing, VersionNumber=1)
    fails(
        "layer_permission_layername_doesnotexist_remove",
        remove,
        LayerName=missing,
        VersionNumber=1,
        StatementId="s1",
    )
    fails(
        "layer_permission_layerversion_doesnotexist_add",
        add,
        LayerName=layer,
        VersionNumber=2,
        StatementId=unique("s"),
        **allow,
    )
    fails("layer_permission_layerversion_doesnotexist_get", get, LayerName=layer, VersionNumber=2)
    fails(
        "layer_permission_layerversion_doesnotexist_remove",
        remove,
        LayerName=layer,
        VersionNumber=2,
        StatementId="s1",
    )
    fails(
        "layer_permission_statementid_doesnotexist_remove",
        remove,
        LayerName=layer,
        VersionNumber=1,
        StatementId="doesnotexist",
    )
    fails(
        "layer_permission_wrong_revision_remove",
        remove,
        LayerName=layer,
        VersionNumber=1,
        StatementId="s1",
        RevisionId="wrong",
    )
    # Nothing above changed the policy.
    policy = json.loads(lam.get_layer_version_policy(LayerName=layer, VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s1"]
    delete_all(lam, layer)


def test_layer_function_exceptions_match_aws(lam: Any) -> None:
    """TestLambdaLayer::test_layer_function_exceptions: two versions of one layer, the same
    version twice, a missing layer or version, an ARN without version, another region; the
    function is unchanged by each."""
    rec = recorded("TestLambdaLayer::test_layer_function_exceptions")
    fn, layer = unique("fn-layer"), unique("testlayer")
    content = layer_zip(layer)
    golden = LayerGolden(
        {fn: "<function-name:1>", layer: "<resource:1>"}, [content, ECHO_PACKAGE], reserved=1
    )
    common = {"CompatibleRuntimes": [], "CompatibleArchitectures": ["x86_64"]}
    results = [publish(lam, layer, content, **common) for _ in range(3)]
    for key, result in zip(
        ("publish_result", "publish_result_2", "publish_result_3"), results, strict=True
    ):
        assert_golden(golden(result), rec[key])
    create_echo(lam, fn, ECHO_PACKAGE)
    before = lam.get_function(FunctionName=fn)
    assert_golden(golden(before), rec["get_fn_result"])
    arns = [r["LayerVersionArn"] for r in results]

    def fails(key: str, layers: list[str]) -> None:
        with pytest.raises(lam.exceptions.ClientError) as excinfo:
            lam.update_function_configuration(FunctionName=fn, Layers=layers)
        assert_golden(golden(error_of(excinfo)), rec[key])

    fails("two_layer_versions_single_function_exc", arns[:2])
    fails("three_layer_versions_single_function_exc", arns)
    fails("two_identical_layer_versions_single_function_exc", [arns[0], arns[0]])
    fails("add_nonexistent_layer_exc", [f"{ARN}:layer:doesnotexist:1"])
    fails("add_nonexistent_layer_version_exc", [f"{results[0]['LayerArn']}:9"])
    fails("add_layer_arn_without_version_exc", [results[0]["LayerArn"]])
    assert lam.get_function(FunctionName=fn)["Configuration"] == before["Configuration"]

    # AWS published the same layer name in a second region; Lamina serves one region, and the
    # region check comes before the layer is looked up.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.create_function(
            FunctionName=unique("fn-layer"),
            Runtime="python3.12",
            Role=ROLE,
            Handler="handler.handler",
            Code={"ZipFile": ECHO_PACKAGE},
            Layers=[f"arn:aws:lambda:eu-west-1:000000000000:layer:{layer}:1"],
        )
    assert_golden(golden(error_of(excinfo)), rec["create_function_with_layer_in_different_region"])
    lam.delete_function(FunctionName=fn)
    delete_all(lam, layer)


def test_layer_function_quota_matches_aws(lam: Any) -> None:
    """TestLambdaLayer::test_layer_function_quota_exception: six layers are one too many."""
    rec = recorded(
        "TestLambdaLayer::test_layer_function_quota_exception", "create_function_with_six_layers"
    )
    prefix = unique("testlayer")
    names = [f"{prefix}-{n}" for n in range(6)]
    content = layer_zip(prefix)
    arns = [
        publish(lam, n, content, CompatibleRuntimes=[], CompatibleArchitectures=["x86_64"])[
            "LayerVersionArn"
        ]
        for n in names
    ]
    name = unique("fn-layer")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        create_echo(lam, name, ECHO_PACKAGE, Layers=arns)
    assert_golden(LayerGolden({}, [])(error_of(excinfo)), rec)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)

    # Five are fine, and each is on the import path, in order.
    files = {n: {f"python/mod_{i}.py": f"N = {i}\n"} for i, n in enumerate(names[:5])}
    five = [
        publish(lam, n, make_zip(files[n]))["LayerVersionArn"]
        for n in names[:5]  # version 2 of each
    ]
    code = (
        "import importlib\n"
        "def handler(event, context):\n"
        "    return [importlib.import_module(f'mod_{i}').N for i in range(5)]\n"
    )
    fn = create_python_function(lam, code, Layers=five)
    assert invoke_json(lam, fn) == [0, 1, 2, 3, 4]
    config = lam.get_function_configuration(FunctionName=fn)
    assert [layer["Arn"] for layer in config["Layers"]] == five
    lam.delete_function(FunctionName=fn)
    for n in names:
        delete_all(lam, n)


def test_layer_s3_content_is_refused_like_function_code(lam: Any) -> None:
    """TestLambdaLayer::test_layer_s3_content published from S3; Lamina has no S3, and says so
    as it does for function code."""
    layer = unique("bucket-layer")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.publish_layer_version(
            LayerName=layer, Content={"S3Bucket": "some-bucket", "S3Key": "/layercontent.zip"}
        )
    message = error_of(excinfo)["Error"]["Message"]
    assert message.startswith("Error occurred while GetObject. S3 Error Code: NoSuchBucket.")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.create_function(
            FunctionName=unique(),
            Runtime="python3.12",
            Role=ROLE,
            Handler="handler.handler",
            Code={"S3Bucket": "some-bucket", "S3Key": "/layercontent.zip"},
        )
    assert error_of(excinfo)["Error"]["Message"] == message
    assert lam.list_layer_versions(LayerName=layer)["LayerVersions"] == []


# --- the layer API beyond the recordings -----------------------------------------------------


def test_content_location_serves_the_package(lam: Any) -> None:
    layer = unique("download")
    content = layer_zip(layer, {"python/a.py": "A = 1\n", "bin/tool": "#!/bin/sh\necho hi\n"})
    result = publish(lam, layer, content)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert "CompatibleRuntimes" not in result and "LicenseInfo" not in result
    assert "CompatibleArchitectures" not in result
    assert result["Content"]["CodeSize"] == len(content)
    assert result["Content"]["CodeSha256"] == b64_sha256(content)
    assert fetch(result["Content"]["Location"]) == content
    got = lam.get_layer_version_by_arn(Arn=result["LayerVersionArn"])
    assert fetch(got["Content"]["Location"]) == content
    assert result["LayerVersionArn"] == f"{ARN}:layer:{layer}:1"
    assert result["LayerArn"] == f"{ARN}:layer:{layer}"
    delete_all(lam, layer)


def test_layer_name_may_be_an_arn(lam: Any) -> None:
    layer = unique("byarn")
    arn = f"{ARN}:layer:{layer}"
    assert publish(lam, arn, layer_zip(layer))["LayerVersionArn"] == f"{arn}:1"
    assert lam.get_layer_version(LayerName=arn, VersionNumber=1)["Version"] == 1
    assert len(lam.list_layer_versions(LayerName=arn)["LayerVersions"]) == 1
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(
            LayerName=f"arn:aws:lambda:eu-west-1:000000000000:layer:{layer}", VersionNumber=1
        )
    lam.delete_layer_version(LayerName=arn, VersionNumber=1)
    assert lam.list_layer_versions(LayerName=layer)["LayerVersions"] == []
    with pytest.raises(lam.exceptions.ClientError) as excinfo:
        lam.get_layer_version(LayerName="not a name", VersionNumber=1)
    assert error_of(excinfo)["Error"]["Code"] == "ValidationException"


def test_list_filters_and_pagination(lam: Any, server: LaminaServer) -> None:
    """ListLayers shows each layer's latest version matching the filters; ListLayerVersions
    the matching versions, newest first; both page with Marker/MaxItems."""
    prefix = unique("listing")
    a, b, c = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    publish(
        lam, a, layer_zip(a), CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["x86_64"]
    )
    publish(
        lam, a, layer_zip(a), CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"]
    )
    publish(lam, b, layer_zip(b), CompatibleRuntimes=["python3.11", "python3.12"])
    publish(lam, c, layer_zip(c))

    def layers(**kwargs: Any) -> dict[str, int]:
        pages = lam.get_paginator("list_layers").paginate(**kwargs)
        return {
            item["LayerName"]: item["LatestMatchingVersion"]["Version"]
            for page in pages
            for item in page["Layers"]
            if item["LayerName"].startswith(prefix)
        }

    assert layers() == {a: 2, b: 1, c: 1}
    assert layers(CompatibleRuntime="python3.11") == {a: 1, b: 1}
    assert layers(CompatibleRuntime="python3.12") == {a: 2, b: 1}
    assert layers(CompatibleArchitecture="x86_64") == {a: 1}
    assert layers(CompatibleRuntime="python3.12", CompatibleArchitecture="x86_64") == {}
    assert layers(PaginationConfig={"PageSize": 1}) == {a: 2, b: 1, c: 1}
    item = next(
        i
        for i in lam.list_layers(CompatibleRuntime="python3.11", MaxItems=50)["Layers"]
        if i["LayerName"] == a
    )
    assert item == {
        "LayerName": a,
        "LayerArn": f"{ARN}:layer:{a}",
        "LatestMatchingVersion": {
            "LayerVersionArn": f"{ARN}:layer:{a}:1",
            "Version": 1,
            "Description": "",
            "CreatedDate": item["LatestMatchingVersion"]["CreatedDate"],
            "CompatibleRuntimes": ["python3.11"],
            "CompatibleArchitectures": ["x86_64"],
        },
    }

    for _ in range(3):
        publish(lam, a, layer_zip(a), CompatibleRuntimes=["python3.11"])
    first = lam.list_layer_versions(LayerName=a, MaxItems=2)
    assert [v["Version"] for v in first["LayerVersions"]] == [5, 4]
    second = lam.list_layer_versions(LayerName=a, MaxItems=2, Marker=first["NextMarker"])
    assert [v["Version"] for v in second["LayerVersions"]] == [3, 2]
    pages = lam.get_paginator("list_layer_versions").paginate(
        LayerName=a, CompatibleRuntime="python3.11", PaginationConfig={"PageSize": 2}
    )
    assert [v["Version"] for p in pages for v in p["LayerVersions"]] == [5, 4, 3, 1]
    filtered = lam.list_layer_versions(LayerName=a, CompatibleArchitecture="arm64")
    assert [v["Version"] for v in filtered["LayerVersions"]] == [2]

    unchecked = server.client(parameter_validation=False)  # boto3 refuses MaxItems=0 itself
    for max_items, constraint in (
        (0, "greater than or equal to 1"),
        (51, "less than or equal to 50"),
    ):
        with pytest.raises(lam.exceptions.ClientError) as excinfo:
            unchecked.list_layers(MaxItems=max_items)
        assert error_of(excinfo)["Error"]["Message"] == (
            f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy "
            f"constraint: Member must have value {constraint}"
        )
    for name in (a, b, c):
        delete_all(lam, name)
    assert layers() == {}


def test_permission_principals(lam: Any) -> None:
    """An account id becomes its root ARN; an organization a PrincipalOrgID condition."""
    layer = unique("principals")
    version_arn = publish(lam, layer, layer_zip(layer))["LayerVersionArn"]
    common = {"LayerName": layer, "VersionNumber": 1, "Action": "lambda:GetLayerVersion"}
    account = lam.add_layer_version_permission(
        StatementId="account", Principal="123456789012", **common
    )
    assert json.loads(account["Statement"]) == {
        "Sid": "account",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": version_arn,
    }
    org = lam.add_layer_version_permission(
        StatementId="org", Principal="*", OrganizationId="o-abcdefghij", **common
    )
    assert json.loads(org["Statement"])["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}
    }
    assert org["RevisionId"] != account["RevisionId"]
    for sid in ("account", "org"):
        lam.remove_layer_version_permission(LayerName=layer, VersionNumber=1, StatementId=sid)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as excinfo:
        lam.get_layer_version_policy(LayerName=layer, VersionNumber=1)
    assert error_of(excinfo)["Message"] == "No policy is associated with the given resource."
    delete_all(lam, layer)


def test_account_usage_counts_layers(lam: Any) -> None:
    layer = unique("usage")
    content = layer_zip(layer)
    before = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    publish(lam, layer, content)
    publish(lam, layer, content)
    after = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    assert after == before + 2 * len(content)
    delete_all(lam, layer)
    assert lam.get_account_settings()["AccountUsage"]["TotalCodeSize"] == before


# --- functions with layers -----------------------------------------------------------------------


def test_python_imports_from_layers(lam: Any) -> None:
    """python/ and python/lib/python3.11/site-packages are on the import path; the function's
    own package comes first."""
    layer = unique("pylayer")
    content = make_zip(
        {
            "python/plain_mod.py": "WHERE = 'python/'\n",
            "python/lib/python3.11/site-packages/site_mod.py": "WHERE = 'site-packages'\n",
            "python/shadowed.py": "WHERE = 'layer'\n",
        }
    )
    arn = publish(lam, layer, content, CompatibleRuntimes=["python3.11"])["LayerVersionArn"]
    code = (
        "import plain_mod, site_mod, shadowed\n"
        "def handler(event, context):\n"
        "    return [plain_mod.WHERE, site_mod.WHERE, shadowed.WHERE]\n"
    )
    name = unique("pyfn")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": code, "shadowed.py": "WHERE = 'task'\n"})},
        Layers=[arn],
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert invoke_json(lam, name) == ["python/", "site-packages", "task"]
    listed = [
        f
        for page in lam.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f["FunctionName"] == name
    ]
    assert listed[0]["Layers"] == [{"Arn": arn, "CodeSize": len(content)}]

    # Layers=[] removes them: the module is gone from the next environment.
    updated = lam.update_function_configuration(FunctionName=name, Layers=[])
    assert "Layers" not in updated
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert "Layers" not in lam.get_function_configuration(FunctionName=name)
    response = lam.invoke(FunctionName=name)
    assert response["FunctionError"] == "Unhandled"
    assert b"No module named 'plain_mod'" in response["Payload"].read()
    lam.delete_function(FunctionName=name)
    delete_all(lam, layer)


def test_later_layers_overwrite_earlier_files(lam: Any) -> None:
    """Layers are merged into one /opt in order: the later one's file wins (even over a
    read-only one); files only one layer has are all there; Unix modes are kept."""
    prefix = unique("order")
    first = make_zip(
        {
            "python/shared.py": "WHO = 'first'\n",
            "python/only_first.py": "X = 1\n",
            "bin/tool": "#!/bin/sh\necho tool\n",
        },
        modes={"python/shared.py": 0o444, "bin/tool": 0o755},
    )
    second = make_zip({"python/shared.py": "WHO = 'second'\n", "python/only_second.py": "Y = 2\n"})
    one = publish(lam, f"{prefix}-1", first)["LayerVersionArn"]
    two = publish(lam, f"{prefix}-2", second)["LayerVersionArn"]
    code = (
        "import os, shared, only_first, only_second\n"
        "def handler(event, context):\n"
        "    opt = os.path.dirname(os.path.dirname(shared.__file__))\n"
        "    tool = os.path.join(opt, 'bin', 'tool')\n"
        "    return [shared.WHO, only_first.X, only_second.Y, os.access(tool, os.X_OK)]\n"
    )
    name = create_python_function(lam, code, Layers=[one, two])
    assert invoke_json(lam, name) == ["second", 1, 2, True]
    lam.update_function_configuration(FunctionName=name, Layers=[two, one])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke_json(lam, name)[0] == "first"
    lam.delete_function(FunctionName=name)
    delete_all(lam, f"{prefix}-1")
    delete_all(lam, f"{prefix}-2")


CUSTOM_BOOTSTRAP = r"""#!/bin/sh
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -LD "$HEADERS" "$API/invocation/next")"
  REQUEST_ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" \
    | tr -d '[:space:]' | cut -d: -f2)"
  rm -f "$HEADERS"
  GREETING="$(cat "$HERE/greeting.txt")"
  TASK="$(cat "${LAMBDA_TASK_ROOT}/task.txt")"
  BODY="{\"echo\": $EVENT, \"handler\": \"${_HANDLER}\","
  BODY="$BODY \"greeting\": \"$GREETING\", \"task\": \"$TASK\"}"
  curl -sS -X POST "$API/invocation/$REQUEST_ID/response" -d "$BODY" > /dev/null
done
"""


def test_custom_runtime_bootstrap_from_a_layer(lam: Any) -> None:
    layer = unique("runtime")
    content = make_zip(
        {"bootstrap": CUSTOM_BOOTSTRAP, "greeting.txt": "from the layer"},
        modes={"bootstrap": 0o755},
    )
    arn = publish(lam, layer, content, CompatibleRuntimes=["provided.al2023"])["LayerVersionArn"]
    name = unique("custom")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Code={"ZipFile": make_zip({"task.txt": "from the package"})},
        Layers=[arn],
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert invoke_json(lam, name, {"n": 1}) == {
        "echo": {"n": 1},
        "handler": "function.handler",
        "greeting": "from the layer",
        "task": "from the package",
    }
    lam.delete_function(FunctionName=name)
    delete_all(lam, layer)


def test_deleted_layer_version_keeps_functions_working(lam: Any, server: LaminaServer) -> None:
    """AWS keeps a copy of a layer version for the functions using it: after the version is
    deleted they still show it, still run with it (also in new environments, and after their
    /opt tree is rebuilt from the kept package), and published versions keep it too. The
    package goes once nothing uses it."""
    layer = unique("kept")
    content = layer_zip(layer, {"python/kept_mod.py": f"TAG = {layer!r}\n"})
    arn = publish(lam, layer, content)["LayerVersionArn"]
    code = "import kept_mod\ndef handler(event, context):\n    return kept_mod.TAG\n"
    name = create_python_function(lam, code, Layers=[arn], Publish=True)
    assert invoke_json(lam, name) == layer
    lam.delete_layer_version(LayerName=layer, VersionNumber=1)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_by_arn(Arn=arn)

    config = lam.get_function_configuration(FunctionName=name)
    assert config["Layers"] == [{"Arn": arn, "CodeSize": len(content)}]
    sha = hashlib.sha256(content).hexdigest()
    shutil.rmtree(server.data_dir / "opt" / opt_key([sha]))  # rebuilt from the kept package
    lam.update_function_configuration(FunctionName=name, Description="new environment")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke_json(lam, name) == layer
    assert invoke_json(lam, f"{name}:1") == layer

    # The deleted version cannot be attached again.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.update_function_configuration(FunctionName=name, Layers=[arn])
    assert error_of(excinfo)["message"] == f"Layer version {arn} does not exist."

    package = server.data_dir / "code" / f"{sha}.zip"
    assert package.is_file()
    lam.update_function_configuration(FunctionName=name, Layers=[])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert package.is_file()  # version 1 still uses it
    lam.delete_function(FunctionName=name)
    assert not package.exists()


def test_layer_package_outlives_a_deleted_function_using_it(lam: Any, server: LaminaServer) -> None:
    """The other way round: deleting a function leaves the layer versions it used intact."""
    layer = unique("outlives")
    content = layer_zip(layer)
    arn = publish(lam, layer, content)["LayerVersionArn"]
    name = create_python_function(lam, "def handler(e, c):\n    return 1\n", Layers=[arn])
    lam.delete_function(FunctionName=name)
    got = lam.get_layer_version(LayerName=layer, VersionNumber=1)
    assert fetch(got["Content"]["Location"]) == content
    lam.delete_layer_version(LayerName=layer, VersionNumber=1)
    sha = hashlib.sha256(content).hexdigest()
    assert not (server.data_dir / "code" / f"{sha}.zip").exists()


def test_unzipped_limit_covers_function_and_layers(lam: Any) -> None:
    """250 MB unzipped (262144000 bytes) for the package plus its layers, on create, on
    attaching layers and on a code update; nothing changes when refused."""
    prefix = unique("big")
    big = zeros_zip({"python/big.bin": 200_000_000})
    other = zeros_zip({"python/other.bin": 70_000_000})
    big_arn = publish(lam, f"{prefix}-1", big)["LayerVersionArn"]
    other_arn = publish(lam, f"{prefix}-2", other)["LayerVersionArn"]
    handler = {"lambda_function.py": "def handler(e, c):\n    return 'ok'\n"}
    small = make_zip(handler)
    heavy = zeros_zip({"data.bin": 62_200_000}, handler)
    heavy_size = unzipped(heavy)

    def combined(total: int) -> str:
        return (
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{MAX_UNZIPPED} bytes. The actual size is {total} bytes."
        )

    name = unique("bigfn")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=ROLE,
            Handler="lambda_function.handler",
            Code={"ZipFile": heavy},
            Layers=[big_arn],
        )
    assert error_of(excinfo)["message"] == combined(200_000_000 + heavy_size)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)

    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": small},
        Layers=[big_arn],
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    before = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.update_function_code(FunctionName=name, ZipFile=heavy)
    assert error_of(excinfo)["message"] == combined(200_000_000 + heavy_size)
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as excinfo:
        lam.update_function_configuration(FunctionName=name, Layers=[big_arn, other_arn])
    assert error_of(excinfo)["message"] == (
        f"Layers consume more than the available size of {MAX_UNZIPPED} bytes"
    )
    after = lam.get_function_configuration(FunctionName=name)
    for response in (before, after):
        del response["ResponseMetadata"]
    assert after == before

    # Without the big layer the heavy package fits beside the other one.
    lam.update_function_configuration(FunctionName=name, Layers=[other_arn])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=heavy)
    lam.delete_function(FunctionName=name)
    delete_all(lam, f"{prefix}-1")
    delete_all(lam, f"{prefix}-2")


def test_layers_survive_a_restart(tmp_path: Path) -> None:
    """Layer versions, their numbering, policies and the functions using them persist; stale
    /opt trees are swept at start-up."""
    data = tmp_path / "data"
    first = LaminaServer(data)
    first.start()
    try:
        lam = first.client()
        content = layer_zip("restart", {"python/restart_mod.py": "X = 'kept'\n"})
        publish(lam, "restart", content)
        arn = publish(lam, "restart", content, Description="two")["LayerVersionArn"]
        lam.delete_layer_version(LayerName="restart", VersionNumber=1)
        lam.add_layer_version_permission(
            LayerName="restart",
            VersionNumber=2,
            StatementId="s1",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
        code = "import restart_mod\ndef handler(e, c):\n    return restart_mod.X\n"
        name = create_python_function(lam, code, Layers=[arn])
        assert invoke_json(lam, name) == "kept"
        policy = lam.get_layer_version_policy(LayerName="restart", VersionNumber=2)
    finally:
        assert first.stop() == 0
    (data / "opt" / ".build-stale").mkdir()
    (data / "opt" / ("0" * 64)).mkdir()

    second = LaminaServer(data)
    second.start()
    try:
        lam = second.client()
        assert sorted(p.name for p in (data / "opt").iterdir()) != []
        assert not (data / "opt" / ".build-stale").exists()
        assert not (data / "opt" / ("0" * 64)).exists()
        got = lam.get_layer_version(LayerName="restart", VersionNumber=2)
        assert got["Description"] == "two"
        assert fetch(got["Content"]["Location"]) == content
        again = lam.get_layer_version_policy(LayerName="restart", VersionNumber=2)
        assert again["Policy"] == policy["Policy"]
        assert again["RevisionId"] == policy["RevisionId"]
        assert invoke_json(lam, name) == "kept"
        assert publish(lam, "restart", content)["Version"] == 3
    finally:
        assert second.stop() == 0
