"""The region of a request's signature is the region served, as on AWS: functions, ARNs,
logs and state of ``eu-west-1`` are not those of ``us-east-1``; the server's account and
region settings name every ARN (CloudWatch Logs included)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import LaminaServer, create_python_function

ECHO_REGION = "import os\ndef handler(event, context):\n    return os.environ['AWS_REGION']\n"


def log_groups(logs: Any, name: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    while True:
        groups: list[dict[str, Any]] = logs.describe_log_groups(logGroupNamePrefix=name)[
            "logGroups"
        ]
        if groups or time.time() > deadline:
            return groups
        time.sleep(0.2)


def test_each_region_has_its_own_functions(own_server: Callable[..., LaminaServer]) -> None:
    server = own_server()
    east = server.client("lambda")
    west = server.client("lambda", region="eu-west-1")
    name = create_python_function(west, ECHO_REGION)

    config = west.get_function_configuration(FunctionName=name)
    assert config["FunctionArn"] == f"arn:aws:lambda:eu-west-1:000000000000:function:{name}"
    with pytest.raises(ClientError) as missing:
        east.get_function(FunctionName=name)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert name not in [f["FunctionName"] for f in east.list_functions()["Functions"]]
    # The same name in another region is another function.
    create_python_function(east, ECHO_REGION, name=name)
    out = west.invoke(FunctionName=name)
    assert json.loads(out["Payload"].read()) == "eu-west-1"
    assert json.loads(east.invoke(FunctionName=name)["Payload"].read()) == "us-east-1"

    logs = server.client("logs", region="eu-west-1")
    [group] = log_groups(logs, f"/aws/lambda/{name}")
    assert group["arn"] == f"arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/{name}:*"


def test_a_region_survives_a_restart(
    own_server: Callable[..., LaminaServer], tmp_path: Any
) -> None:
    data = tmp_path / "regions"
    server = own_server(data=data)
    name = create_python_function(server.client("lambda", region="ap-southeast-2"), ECHO_REGION)
    server.stop()
    again = own_server(data=data)
    west = again.client("lambda", region="ap-southeast-2")
    assert west.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
    assert json.loads(west.invoke(FunctionName=name)["Payload"].read()) == "ap-southeast-2"


def test_settings_name_the_account_and_region_of_every_arn(
    own_server: Callable[..., LaminaServer],
) -> None:
    server = own_server("--region", "eu-central-1", "--account-id", "123456789012")
    lam = server.client("lambda", region="eu-central-1")
    name = create_python_function(lam, ECHO_REGION)
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == (
        f"arn:aws:lambda:eu-central-1:123456789012:function:{name}"
    )
    lam.invoke(FunctionName=name)
    logs = server.client("logs", region="eu-central-1")
    [group] = log_groups(logs, f"/aws/lambda/{name}")
    assert group["logGroupArn"] == (
        f"arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/{name}"
    )
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert streams[0]["arn"].startswith(
        f"arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/{name}:log-stream:"
    )
    # A signature for a name that is no AWS region is served as the server's region.
    odd = server.client("lambda", region="local")
    assert odd.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
