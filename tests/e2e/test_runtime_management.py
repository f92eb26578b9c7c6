"""Get/PutRuntimeManagementConfig end to end: the default ``Auto``, ``FunctionUpdate``,
``Manual`` with a runtime version ARN (per version), their errors, and durability."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, create_python_function, unique

RUNTIME_VERSION = (
    "arn:aws:lambda:us-east-1::runtime:"
    "edb5a058bfa782cb9cedc6d534ac8b8c193bc28e9a9879d9f5ebaaf619cd0fc0"
)
CODE = "def handler(event, context):\n    return 1\n"


def code_of(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_modes(lam: Any) -> None:
    name = create_python_function(lam, CODE)
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    got = lam.get_runtime_management_config(FunctionName=name)
    assert got["UpdateRuntimeOn"] == "Auto"
    assert got["FunctionArn"] == arn
    assert "RuntimeVersionArn" not in got
    put = lam.put_runtime_management_config(FunctionName=name, UpdateRuntimeOn="FunctionUpdate")
    assert (put["UpdateRuntimeOn"], put["FunctionArn"]) == ("FunctionUpdate", arn)
    put = lam.put_runtime_management_config(
        FunctionName=name, UpdateRuntimeOn="Manual", RuntimeVersionArn=RUNTIME_VERSION
    )
    assert put["RuntimeVersionArn"] == RUNTIME_VERSION
    got = lam.get_runtime_management_config(FunctionName=name)
    assert (got["UpdateRuntimeOn"], got["RuntimeVersionArn"]) == ("Manual", RUNTIME_VERSION)
    # Per version: a published version has its own (Auto until set).
    version = lam.publish_version(FunctionName=name)["Version"]
    got = lam.get_runtime_management_config(FunctionName=name, Qualifier=version)
    assert got["UpdateRuntimeOn"] == "Auto"
    assert got["FunctionArn"] == f"{arn}:{version}"
    assert lam.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Manual"
    lam.delete_function(FunctionName=name)


def test_errors(lam: Any, raw_lam: Any) -> None:
    name = create_python_function(lam, CODE)
    missing = unique("missing")
    assert code_of(lam.get_runtime_management_config, FunctionName=missing) == (
        "ResourceNotFoundException",
        404,
    )
    assert code_of(
        lam.put_runtime_management_config, FunctionName=missing, UpdateRuntimeOn="Auto"
    ) == ("ResourceNotFoundException", 404)
    assert code_of(
        lam.put_runtime_management_config, FunctionName=name, UpdateRuntimeOn="Manual"
    ) == ("InvalidParameterValueException", 400)
    assert code_of(
        lam.put_runtime_management_config,
        FunctionName=name,
        UpdateRuntimeOn="Auto",
        RuntimeVersionArn=RUNTIME_VERSION,
    ) == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as info:
        raw_lam.put_runtime_management_config(FunctionName=name, UpdateRuntimeOn="Sometimes")
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value 'Sometimes' at 'updateRuntimeOn' failed to satisfy"
        " constraint: Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]"
    )
    # Nothing changed.
    assert lam.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Auto"
    lam.delete_function(FunctionName=name)


def test_survives_restart(own_server: Any) -> None:
    server = own_server()
    lam = server.client()
    name = create_python_function(lam, CODE)
    lam.put_runtime_management_config(
        FunctionName=name, UpdateRuntimeOn="Manual", RuntimeVersionArn=RUNTIME_VERSION
    )
    lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    server.stop(9)
    server.start()
    lam = server.client()
    got = lam.get_runtime_management_config(FunctionName=name)
    assert got["RuntimeVersionArn"] == RUNTIME_VERSION
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Allow"
    # A function deleted and created again starts from the defaults.
    lam.delete_function(FunctionName=name)
    create_python_function(lam, CODE, name=name)
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"
    assert lam.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Auto"
