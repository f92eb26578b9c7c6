"""What the Lambda API answers, golden-compared with AWS's recordings: SnapStart stored and
returned (OptimizationStatus On for versions published with PublishedVersions), invalid
payloads worded as AWS's parser words them, throttles without a Retry-After header, and
layers from another region than the one served refused with AWS's 400."""

from __future__ import annotations

import codecs
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ROLE, LaminaServer, make_zip, unique
from test_functions_api import Golden, assert_golden, error_of

# test_functions_api puts tests/unit (aws_recorded) on sys.path.
from aws_recorded import _load, recorded  # isort: skip

HANDLER = "def handler(event, context):\n    return event\n"
FAST_WAIT = {"Delay": 1, "MaxAttempts": 20}


def test_snap_start_is_stored_and_returned(lam: Any) -> None:
    """TestLambdaSnapStart::test_snapstart_update_function_configuration[python3.12], then
    a version published with ``PublishedVersions`` (OptimizationStatus On)."""
    rec = recorded("TestLambdaSnapStart::test_snapstart_update_function_configuration[python3.12]")
    name = unique("snap")
    code = make_zip({"handler.py": HANDLER})
    golden = Golden({name: "<function-name:1>"}, [code])
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": code},
        MemorySize=1024,
        Timeout=5,
    )
    assert_golden(golden(created), rec["create_function_response"])
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    updated = lam.update_function_configuration(
        FunctionName=name, SnapStart={"ApplyOn": "PublishedVersions"}
    )
    assert_golden(golden(updated), rec["update_function_response"])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)

    latest = lam.get_function_configuration(FunctionName=name)
    assert latest["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    version = lam.publish_version(FunctionName=name)
    assert version["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    listed = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["SnapStart"]["OptimizationStatus"] for v in listed] == ["Off", "On"]
    # Turned off again: $LATEST says so; the published version keeps its own.
    lam.update_function_configuration(FunctionName=name, SnapStart={"ApplyOn": "None"})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    assert lam.get_function_configuration(FunctionName=name)["SnapStart"] == {
        "ApplyOn": "None",
        "OptimizationStatus": "Off",
    }
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["SnapStart"] == {
        "ApplyOn": "PublishedVersions",
        "OptimizationStatus": "On",
    }
    lam.delete_function(FunctionName=name)


def test_snap_start_apply_on_must_be_one_of_awss(lam: Any) -> None:
    rec = recorded("TestLambdaSnapStart::test_snapstart_exceptions")
    with pytest.raises(ClientError) as excinfo:
        lam.create_function(
            FunctionName=unique("snapbad"),
            Runtime="python3.12",
            Role=ROLE,
            Handler="handler.handler",
            Code={"ZipFile": make_zip({"handler.py": HANDLER})},
            SnapStart={"ApplyOn": "invalidOption"},
        )
    assert_golden(Golden({}, [])(error_of(excinfo)), rec["create_function_invalid_snapstart_apply"])


def recorded_payload_errors() -> list[tuple[bytes, dict[str, Any]]]:
    """TestLambdaErrors::test_lambda_invoke_payload_encoding_error: the payload is in the id."""
    cases: list[tuple[bytes, dict[str, Any]]] = []
    for test_id, entry in _load("test_lambda").items():
        found = re.search(r"payload_encoding_error\[(?:body|message)-(.*)\]$", test_id)
        if found:
            payload = codecs.escape_decode(found.group(1).encode("latin-1"))[0]
            (response,) = entry["recorded-content"].values()
            cases.append((payload, response))
    assert len(cases) == 2
    return cases


@pytest.mark.parametrize(("payload", "want"), recorded_payload_errors())
def test_invalid_payloads_are_worded_as_aws_words_them(
    lam: Any, payload: bytes, want: dict[str, Any]
) -> None:
    name = unique("badjson")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": make_zip({"handler.py": HANDLER})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    for invocation_type in ("RequestResponse", "Event"):
        with pytest.raises(ClientError) as excinfo:
            lam.invoke(FunctionName=name, Payload=payload, InvocationType=invocation_type)
        assert_golden(Golden({}, [])(error_of(excinfo)), want)
    lam.delete_function(FunctionName=name)


def test_a_throttle_has_no_retry_after_header(lam: Any) -> None:
    """TestLambdaConcurrency::test_reserved_concurrency (exc_no_cap_requestresponse): every
    member, ``retryAfterSeconds`` (the header) included, is AWS's."""
    want = recorded(
        "TestLambdaConcurrency::test_reserved_concurrency",
        "exc_no_cap_requestresponse",
        file="test_lambda",
    )
    name = unique("throttled")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": make_zip({"handler.py": HANDLER})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as excinfo:
        lam.invoke(FunctionName=name, Payload=b"{}")
    response = error_of(excinfo)
    assert "retry-after" not in response["ResponseMetadata"]["HTTPHeaders"]
    assert_golden(Golden({}, [])(response), want)
    lam.delete_function(FunctionName=name)


def configuration(lam: Any, name: str) -> dict[str, Any]:
    got: dict[str, Any] = lam.get_function_configuration(FunctionName=name)
    got.pop("ResponseMetadata")
    return got


def test_layers_must_be_in_the_region_served(server: LaminaServer) -> None:
    """A layer ARN of another region than the request's: AWS's 400 (recorded in
    TestLambdaLayer::test_layer_function_exceptions), naming the region served, for
    CreateFunction and UpdateFunctionConfiguration alike; nothing changes."""
    want = recorded(
        "TestLambdaLayer::test_layer_function_exceptions",
        "create_function_with_layer_in_different_region",
    )
    for region, other in (("us-east-1", "eu-west-1"), ("eu-west-1", "us-east-1")):
        lam = server.client(region=region)
        name = unique("region")
        foreign = f"arn:aws:lambda:{other}:000000000000:layer:shared:1"
        expected = {
            **want,
            "Error": {
                **want["Error"],
                "Message": want["Error"]["Message"].replace("<region>", region),
            },
            "message": want["message"].replace("<region>", region),
        }
        common: dict[str, Any] = {
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "handler.handler",
            "Code": {"ZipFile": make_zip({"handler.py": HANDLER})},
        }
        with pytest.raises(ClientError) as excinfo:
            lam.create_function(FunctionName=name, Layers=[foreign], **common)
        assert_golden(Golden({}, [])(error_of(excinfo)), expected)
        lam.create_function(FunctionName=name, **common)
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
        before = configuration(lam, name)
        with pytest.raises(ClientError) as excinfo:
            lam.update_function_configuration(FunctionName=name, Layers=[foreign])
        assert_golden(Golden({}, [])(error_of(excinfo)), expected)
        assert configuration(lam, name) == before
        lam.delete_function(FunctionName=name)
