"""provided.* runtimes: AWS's official runtime interface client and a shell bootstrap."""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support import ROLE, make_zip, unique

SHELL_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "shell runtime starting for ${_HANDLER}"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -LD "$HEADERS" "$API/invocation/next")"
  REQUEST_ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" \
    | tr -d '[:space:]' | cut -d: -f2)"
  rm -f "$HEADERS"
  case "$EVENT" in
    *fail*)
      curl -sS -X POST -H "Lambda-Runtime-Function-Error-Type: Custom.Failure" \
        "$API/invocation/$REQUEST_ID/error" \
        -d '{"errorMessage":"asked to fail","errorType":"Custom.Failure"}' > /dev/null ;;
    *)
      echo "handling $REQUEST_ID"
      curl -sS -X POST "$API/invocation/$REQUEST_ID/response" \
        -d "{\"echo\": $EVENT, \"handler\": \"${_HANDLER}\"}" > /dev/null ;;
  esac
done
"""

RIC_HANDLER = """
import os
def handler(event, context):
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "runtime": "awslambdaric",
    }

def fails(event, context):
    raise RuntimeError("ric failure")
"""


def invoke(client: Any, name: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs)
    response["Body"] = response["Payload"].read()
    return dict(response)


def test_shell_script_bootstrap(lam: Any) -> None:
    name = unique("shell")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Code={"ZipFile": make_zip({"bootstrap": SHELL_BOOTSTRAP}, modes={"bootstrap": 0o755})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    response = invoke(lam, name, {"n": 1}, LogType="Tail")
    assert "FunctionError" not in response, response["Body"]
    assert json.loads(response["Body"]) == {"echo": {"n": 1}, "handler": "function.handler"}
    second = invoke(lam, name, {"n": 2})
    assert json.loads(second["Body"])["echo"] == {"n": 2}
    failed = invoke(lam, name, {"fail": True})
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Body"]) == {
        "errorMessage": "asked to fail",
        "errorType": "Custom.Failure",
    }


def test_missing_bootstrap_is_an_invalid_entrypoint(lam: Any) -> None:
    name = unique("noboot")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2",
        Role=ROLE,
        Handler="x",
        Code={"ZipFile": make_zip({"README": "no bootstrap here"})},
    )
    response = invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Body"])
    assert body["errorType"] == "Runtime.InvalidEntrypoint"
    assert "Couldn't find valid bootstrap(s)" in body["errorMessage"]


def _ric_package() -> bytes:
    """The handler plus awslambdaric and its dependencies, unmodified, as ``pip install
    --target`` would lay them out in the package (every file their wheels installed)."""
    files: dict[str, str | bytes] = {"app.py": RIC_HANDLER}
    for distribution in ("awslambdaric", "simplejson", "snapshot-restore-py"):
        dist = importlib.metadata.distribution(distribution)
        for entry in dist.files or []:
            path = Path(str(dist.locate_file(entry)))
            relative = str(entry)
            if path.is_file() and "__pycache__" not in relative and ".dist-info" not in relative:
                files[relative] = path.read_bytes()
    # The base interpreter (not the venv's launcher), as an image or layer would ship it.
    python = os.path.realpath(sys.executable)
    files["bootstrap"] = f'#!/bin/sh\nexec {python} -m awslambdaric "$_HANDLER"\n'
    return make_zip(files, modes={"bootstrap": 0o755})


@pytest.fixture(scope="module")
def ric_zip() -> bytes:
    return _ric_package()


def test_official_runtime_interface_client(lam: Any, ric_zip: bytes) -> None:
    name = unique("ric")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": ric_zip},
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    response = invoke(lam, name, {"hello": "ric"}, LogType="Tail")
    assert "FunctionError" not in response, response["Body"]
    result = json.loads(response["Body"])
    assert result == {
        "event": {"hello": "ric"},
        "request_id": response["ResponseMetadata"]["RequestId"],
        "function_name": name,
        "remaining_positive": True,
        "runtime": "awslambdaric",
    }
    assert json.loads(invoke(lam, name, {"again": 1})["Body"])["event"] == {"again": 1}


def test_official_runtime_interface_client_errors(lam: Any, ric_zip: bytes) -> None:
    name = unique("ricerr")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="app.fails",
        Code={"ZipFile": ric_zip},
        Timeout=30,
    )
    response = invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Body"])
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "ric failure"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]

    missing = unique("ricmissing")
    lam.create_function(
        FunctionName=missing,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="nomodule.handler",
        Code={"ZipFile": ric_zip},
        Timeout=30,
    )
    body = json.loads(invoke(lam, missing, {})["Body"])
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'nomodule': No module named 'nomodule'"


PROBE_BOOTSTRAP = r"""#!/bin/sh
set -u
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
code() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
while true; do
  HEADERS="$(mktemp)"
  curl -sS -o /dev/null -D "$HEADERS" "$API/invocation/next"
  ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  DEADLINE="$(grep -Fi Lambda-Runtime-Deadline-Ms "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  ARN="$(grep -Fi Lambda-Runtime-Invoked-Function-Arn "$HEADERS" | tr -d '[:space:]' \
    | cut -d: -f2-)"
  TRACE="$(grep -ci Lambda-Runtime-Trace-Id "$HEADERS")"
  rm -f "$HEADERS"
  # A second /next while this invocation is open is an invalid state transition.
  NEXT="$(code "$API/invocation/next")"
  BAD="$(code -X POST "$API/invocation/not-a-request/response" -d '{}')"
  BADERR="$(code -X POST "$API/invocation/not-a-request/error" -d '{}')"
  INIT="$(code -X POST "$API/init/error" -d '{}')"
  BODY="{\"next\":$NEXT,\"bad_response\":$BAD,\"bad_error\":$BADERR,\"init_error\":$INIT,\
\"deadline\":$DEADLINE,\"arn\":\"$ARN\",\"trace\":$TRACE}"
  OK="$(curl -sS -w ' %{http_code}' -X POST "$API/invocation/$ID/response" -d "$BODY")"
  echo "response answer: $OK"
  AGAIN="$(code -X POST "$API/invocation/$ID/response" -d '{}')"
  echo "second response: $AGAIN"
done
"""


def test_runtime_api_statuses(lam: Any) -> None:
    name = unique("probe")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="probe",
        Code={"ZipFile": make_zip({"bootstrap": PROBE_BOOTSTRAP}, modes={"bootstrap": 0o755})},
        Timeout=10,
    )
    before_ms = int(time.time() * 1000)
    response = invoke(lam, name, {}, LogType="Tail")
    assert "FunctionError" not in response, response["Body"]
    result = json.loads(response["Body"])
    assert result["next"] == 403
    assert result["bad_response"] == 400
    assert result["bad_error"] == 400
    assert result["init_error"] == 403
    assert before_ms + 9000 <= result["deadline"] <= before_ms + 11000
    assert result["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert result["trace"] == 1
    second = invoke(lam, name, {}, LogType="Tail")
    log = base64.b64decode(second["LogResult"]).decode()
    assert 'response answer: {"status":"OK"} 202' in log
    assert "second response: 400" in log
