"""Runtime versions beyond the defaults, through boto3 against a real server: ``nodejs16.x``
on the host's node, boto3 importable in ``python3.8``/``python3.9`` functions (the release
installed for that interpreter, runtime/legacy_sdk.py), and AWS's answer to unbounded
recursion at init."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from support import ROLE, make_zip, unique

from lamina.runtime.launch import find_python
from lamina.runtime.legacy_sdk import LEGACY_PINS, LegacySdks
from lamina.runtime.nodejs import find_node

COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon"


def create(lam: Any, runtime: str, handler: str, files: dict[str, str], **kwargs: Any) -> str:
    name = unique("ver")
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": make_zip(dict(files))},
        MemorySize=kwargs.pop("MemorySize", 1024),
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(lam: Any, name: str, payload: Any = None) -> tuple[dict[str, Any], Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}))
    return response, json.loads(response["Payload"].read())


# --- nodejs16.x ---------------------------------------------------------------------------


def test_nodejs16_runs_like_the_other_node_versions(lam: Any, server: Any) -> None:
    code = (
        "exports.handler = async (event, context) => ({ event, env: process.env.AWS_EXECUTION_ENV,"
        " nodePath: process.env.NODE_PATH, fn: context.functionName });\n"
    )
    name = create(lam, "nodejs16.x", "index.handler", {"index.js": code})
    response, body = invoke(lam, name, {"a": 1})
    assert "FunctionError" not in response, body
    assert body["event"] == {"a": 1}
    assert body["fn"] == name
    assert body["env"] == "AWS_Lambda_nodejs16.x"
    assert body["nodePath"].split(":")[0] == "/opt/nodejs/node16/node_modules"
    if find_node(16) is None:
        # The host's node runs it, as for the other versions when theirs is missing.
        assert (
            "no Node.js 16 on this host; nodejs16.x functions run on" in server.log_path.read_text()
        )


def test_nodejs16_uncaught_exception_matches_aws(lam: Any) -> None:
    code = "exports.handler = async (event) => { throw new Error(`Error: ${event.error_msg}`); };\n"
    name = create(lam, "nodejs16.x", "index.handler", {"index.js": code})
    response, body = invoke(lam, name, {"error_msg": "some_error_msg"})
    recorded = _recorded("test_uncaught_exception_invoke[nodejs16.x]")["error_result"]
    assert response["FunctionError"] == recorded["FunctionError"]
    assert body.pop("trace")
    assert body == {k: v for k, v in recorded["Payload"].items() if k != "trace"}


def _recorded(test: str) -> Any:
    from pathlib import Path

    path = (
        Path(__file__).parents[1] / "fixtures/aws-recorded/lambda/test_lambda_common.snapshot.json"
    )
    return json.loads(path.read_text())[f"{COMMON}::{test}"]["recorded-content"]


# --- boto3 in python3.8 / python3.9 -------------------------------------------------------

BOTO3_CHECK = """
import sys
import boto3
import botocore


def handler(event, context):
    client = boto3.client("lambda")
    listed = client.list_functions(MaxItems=1)
    return {
        "python": "%d.%d" % sys.version_info[:2],
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "where": boto3.__file__,
        "listed": "Functions" in listed,
    }
"""


@pytest.mark.parametrize("version", sorted(LEGACY_PINS))
def test_boto3_in_old_python_runtimes(lam: Any, version: str) -> None:
    python = find_python(version)
    if python is None:
        pytest.skip(f"python{version} is not installed on this host (CI installs it via pyenv)")
    # The server installs it in the background on first use; the test installs it ahead
    # (same cache directory) so that the first invocation already has it.
    LegacySdks().install_now(version, python)
    name = create(
        lam, f"python{version}", "lambda_function.handler", {"lambda_function.py": BOTO3_CHECK}
    )
    response, body = invoke(lam, name)
    assert "FunctionError" not in response, body
    pinned = dict(pin.split("==") for pin in LEGACY_PINS[version])
    assert body["python"] == version
    assert body["boto3"] == pinned["boto3"] and body["botocore"] == pinned["botocore"]
    assert body["listed"] is True  # the SDK works against Lamina from inside
    assert body["where"] == "/var/runtime/boto3/__init__.py"  # where AWS keeps it


def test_boto3_for_old_python_is_installed_in_the_background(
    own_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A host that never installed it: creating the function starts the installation (into
    a fresh cache here), environments started once it is ready import it. Without isolation
    (the SDK on the host's paths)."""
    version = "3.8"
    if find_python(version) is None:
        pytest.skip("python3.8 is not installed on this host (CI installs it via pyenv)")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lam = own_server("--isolation", "process").client()
    name = create(lam, "python3.8", "lambda_function.handler", {"lambda_function.py": BOTO3_CHECK})
    deadline = time.monotonic() + 240
    while True:
        response, body = invoke(lam, name)
        if "FunctionError" not in response:
            break
        # Before the installation is done: the server's boto3, which fails on Python 3.8
        # (as before Lamina installed one for it).
        assert body["errorType"] in ("TypeError", "Runtime.ImportModuleError"), body
        assert time.monotonic() < deadline, "boto3 for python3.8 was never installed"
        time.sleep(1)
        # The failed environment is gone; the function's next one may have it.
    assert body["boto3"] == "1.37.38"
    assert body["where"].startswith(str(tmp_path / "cache" / "lamina" / "python-sdk"))
    assert (tmp_path / "cache/lamina/python-sdk").is_dir()
