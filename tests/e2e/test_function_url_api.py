"""Function URL configurations through boto3 against a real server (the management API):
AWS's shapes and errors (recorded: TestLambdaUrl), and the URL's survival of a restart."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ROLE, LaminaServer, create_python_function, make_zip, unique

URL = re.compile(r"http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:\d+/")
QUALIFIER_PATTERN = "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
ECHO = "def handler(event, context):\n    return event\n"


def _error(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def test_lifecycle_as_recorded(lam: Any) -> None:
    name = create_python_function(lam, ECHO)
    created = lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert URL.fullmatch(created["FunctionUrl"])
    assert created["FunctionArn"].endswith(f":function:{name}")
    # Create's answer: no InvokeMode unless given, no LastModifiedTime, no Cors (recorded).
    assert set(created) - {"ResponseMetadata"} == {
        "FunctionUrl",
        "FunctionArn",
        "AuthType",
        "CreationTime",
    }
    status, code, message = _error(
        lam.create_function_url_config, FunctionName=name, AuthType="NONE"
    )
    assert (status, code) == (409, "ResourceConflictException")
    arn = created["FunctionArn"]
    assert message == (
        f"Failed to create function url config for [functionArn = {arn}]. "
        "Error message:  FunctionUrlConfig exists for this Lambda function"
    )
    got = lam.get_function_url_config(FunctionName=name)
    assert got["InvokeMode"] == "BUFFERED" and got["FunctionUrl"] == created["FunctionUrl"]
    assert got["CreationTime"] == created["CreationTime"] and "LastModifiedTime" in got
    updated = lam.update_function_url_config(
        FunctionName=name,
        AuthType="AWS_IAM",
        Cors={"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"], "MaxAge": 60},
    )
    assert updated["AuthType"] == "AWS_IAM"
    assert updated["Cors"] == {
        "AllowOrigins": ["https://example.com"],
        "AllowMethods": ["GET"],
        "MaxAge": 60,
    }
    assert updated["FunctionUrl"] == created["FunctionUrl"]
    streamed = lam.update_function_url_config(FunctionName=name, InvokeMode="RESPONSE_STREAM")
    assert streamed["InvokeMode"] == "RESPONSE_STREAM" and streamed["AuthType"] == "AWS_IAM"
    assert streamed["Cors"]["AllowMethods"] == ["GET"]
    deleted = lam.delete_function_url_config(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _error(lam.get_function_url_config, FunctionName=name) == (
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
    again = lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert again["FunctionUrl"] != created["FunctionUrl"]  # a new id


def test_qualifier_errors_as_recorded(lam: Any) -> None:
    name = create_python_function(lam, ECHO)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="urlalias", FunctionVersion="1")
    for qualifier in ("1", "2", "$LATEST"):
        for call in (
            lambda **kw: lam.create_function_url_config(AuthType="NONE", **kw),
            lam.get_function_url_config,
            lam.delete_function_url_config,
        ):
            status, code, message = _error(call, FunctionName=name, Qualifier=qualifier)
            assert (status, code) == (400, "ValidationException")
            assert message == (
                f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to "
                f"satisfy constraint: {QUALIFIER_PATTERN}"
            )
    missing = "Function does not exist"
    gone = "The resource you requested does not exist."
    assert _error(lam.create_function_url_config, FunctionName=unique(), AuthType="NONE") == (
        404,
        "ResourceNotFoundException",
        missing,
    )
    assert _error(
        lam.create_function_url_config, FunctionName=name, Qualifier="nope", AuthType="NONE"
    ) == (404, "ResourceNotFoundException", missing)
    assert _error(lam.get_function_url_config, FunctionName=name, Qualifier="nope") == (
        404,
        "ResourceNotFoundException",
        gone,
    )
    assert _error(lam.get_function_url_config, FunctionName=unique()) == (
        404,
        "ResourceNotFoundException",
        gone,
    )
    assert _error(lam.delete_function_url_config, FunctionName=name) == (
        404,
        "ResourceNotFoundException",
        gone,
    )
    assert _error(
        lam.create_function_url_config,
        FunctionName=f"{name}:urlalias",
        Qualifier="other",
        AuthType="NONE",
    ) == (
        400,
        "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier.",
    )
    assert _error(lam.list_function_url_configs, FunctionName=unique()) == (
        404,
        "ResourceNotFoundException",
        missing,
    )


def test_invalid_settings(raw_lam: Any) -> None:
    name = create_python_function(raw_lam, ECHO)
    status, code, message = _error(
        raw_lam.create_function_url_config,
        FunctionName=name,
        AuthType="NONE",
        InvokeMode="UNKNOWN",
    )
    assert (status, code) == (400, "ValidationException")
    assert message == (
        "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy "
        "constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"
    )
    status, code, message = _error(
        raw_lam.create_function_url_config, FunctionName=name, AuthType="SOMETIMES"
    )
    assert (status, code) == (400, "ValidationException")
    assert "at 'authType' failed to satisfy constraint" in message
    status, code, message = _error(
        raw_lam.create_function_url_config,
        FunctionName=name,
        AuthType="NONE",
        Cors={"MaxAge": 86401},
    )
    assert (status, code) == (400, "ValidationException")
    assert "at 'cors.maxAge' failed to satisfy constraint" in message
    # Nothing was stored.
    assert raw_lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def test_list_and_alias(lam: Any) -> None:
    name = create_python_function(lam, ECHO)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="urlalias", FunctionVersion="1")
    assert lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []
    lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    aliased = lam.create_function_url_config(
        FunctionName=name, Qualifier="urlalias", AuthType="NONE", InvokeMode="BUFFERED"
    )
    assert aliased["FunctionArn"].endswith(f":function:{name}:urlalias")
    assert aliased["InvokeMode"] == "BUFFERED"
    listed = lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[-1] for c in listed] == [name, "urlalias"]
    assert all(c["InvokeMode"] == "BUFFERED" and "LastModifiedTime" in c for c in listed)
    first = lam.list_function_url_configs(FunctionName=name, MaxItems=1)
    assert len(first["FunctionUrlConfigs"]) == 1 and "NextMarker" in first
    rest = lam.list_function_url_configs(FunctionName=name, Marker=first["NextMarker"])
    assert [c["FunctionArn"] for c in rest["FunctionUrlConfigs"]] == [aliased["FunctionArn"]]
    # Deleting the unqualified URL leaves the alias's (recorded).
    lam.delete_function_url_config(FunctionName=name)
    kept = lam.get_function_url_config(FunctionName=name, Qualifier="urlalias")
    assert kept["FunctionUrl"] == aliased["FunctionUrl"]


def test_urls_go_with_their_function(lam: Any) -> None:
    name = create_python_function(lam, ECHO)
    lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    lam.delete_function(FunctionName=name)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": make_zip({"lambda_function.py": ECHO})},
    )
    assert _error(lam.get_function_url_config, FunctionName=name)[0] == 404
    assert lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def test_url_survives_sigkill_and_restart(own_server: Callable[..., LaminaServer]) -> None:
    server = own_server()
    lam = server.client()
    name = create_python_function(lam, ECHO)
    created = lam.create_function_url_config(
        FunctionName=name, AuthType="AWS_IAM", Cors={"AllowOrigins": ["*"]}
    )
    server.stop(signal.SIGKILL)
    again = own_server(data=server.data_dir)
    got = again.client().get_function_url_config(FunctionName=name)
    assert got["AuthType"] == "AWS_IAM" and got["Cors"] == {"AllowOrigins": ["*"]}
    # The id is kept; the address follows the new port.
    assert got["FunctionUrl"].split(".", 1)[0] == created["FunctionUrl"].split(".", 1)[0]
    assert got["FunctionUrl"].endswith(f":{again.port}/")
