"""Invoke through boto3 against a real server: results, errors, logs, environments."""

from __future__ import annotations

import base64
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ROLE, create_python_function, make_zip, unique


def invoke(client: Any, name: str, payload: Any = None, **kwargs: Any) -> dict[str, Any]:
    body = json.dumps(payload).encode() if payload is not None else b""
    response = client.invoke(FunctionName=name, Payload=body, **kwargs)
    response["Body"] = response["Payload"].read()
    return dict(response)


def tail(response: dict[str, Any]) -> str:
    return base64.b64decode(response["LogResult"]).decode()


ECHO = """
import os, uuid
ENVIRONMENT = uuid.uuid4().hex  # one per environment (pids repeat across pid namespaces)
counter = 0
def handler(event, context):
    global counter
    counter += 1
    return {
        "event": event,
        "counter": counter,
        "environment": ENVIRONMENT,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
        "env": {k: v for k, v in os.environ.items()},
    }
"""


@pytest.fixture(scope="module")
def echo(lam: Any) -> str:
    return create_python_function(
        lam, ECHO, MemorySize=256, Timeout=10, Environment={"Variables": {"MY_VAR": "mine"}}
    )


def test_sync_invoke_returns_the_handler_result_and_context(lam: Any, echo: str) -> None:
    response = invoke(lam, echo, {"hello": "world"})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    result = json.loads(response["Body"])
    assert result["event"] == {"hello": "world"}
    assert result["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert result["function_name"] == echo
    assert result["function_version"] == "$LATEST"
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{echo}"
    assert result["invoked_function_arn"] == arn
    assert result["memory_limit_in_mb"] == "256"  # a string, as in AWS's runtime
    assert result["log_group_name"] == f"/aws/lambda/{echo}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", result["log_stream_name"])
    assert 8000 < result["remaining"] <= 10000


def test_reserved_and_user_environment_variables(lam: Any, echo: str) -> None:
    env = json.loads(invoke(lam, echo, {})["Body"])["env"]
    assert env["MY_VAR"] == "mine"
    assert env["_HANDLER"] == "lambda_function.handler"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == echo
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{echo}"
    assert re.fullmatch(r"[\d.]+:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["TZ"] == ":UTC"
    assert env["LAMBDA_TASK_ROOT"]


def test_warm_environment_is_reused(lam: Any, echo: str) -> None:
    first = json.loads(invoke(lam, echo, {})["Body"])
    second = json.loads(invoke(lam, echo, {})["Body"])
    assert second["environment"] == first["environment"]
    assert second["counter"] == first["counter"] + 1


def test_qualifier_latest_and_dry_run(lam: Any, echo: str) -> None:
    assert invoke(lam, echo, {}, Qualifier="$LATEST")["ExecutedVersion"] == "$LATEST"
    dry = invoke(lam, echo, {}, InvocationType="DryRun")
    assert dry["StatusCode"] == 204 and dry["Body"] == b""


def test_client_context_reaches_the_handler(lam: Any, echo: str) -> None:
    context = {"custom": {"k": "v"}, "client": {}, "env": {}}
    encoded = base64.b64encode(json.dumps(context).encode()).decode()
    result = json.loads(invoke(lam, echo, {}, ClientContext=encoded)["Body"])
    assert result["client_context"] == {"k": "v"}


def test_log_tail_has_platform_lines_and_init_duration_on_cold_start(lam: Any) -> None:
    name = create_python_function(
        lam, "print('at init')\ndef handler(e, c):\n    print('in handler', e['n'])\n    return 1\n"
    )
    cold = tail(invoke(lam, name, {"n": 1}, LogType="Tail"))
    assert "at init" in cold
    assert "in handler 1" in cold
    assert re.search(r"^START RequestId: [0-9a-f-]{36} Version: \$LATEST$", cold, re.M)
    assert re.search(r"^END RequestId: [0-9a-f-]{36}$", cold, re.M)
    report = re.search(r"^REPORT RequestId: .*$", cold, re.M)
    assert report is not None
    fields = report.group(0)
    assert re.search(r"\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t", fields)
    assert "\tMemory Size: 128 MB\t" in fields
    assert re.search(r"\tMax Memory Used: [1-9]\d* MB\t", fields)
    assert re.search(r"\tInit Duration: \d+\.\d\d ms\t$", fields)
    warm = tail(invoke(lam, name, {"n": 2}, LogType="Tail"))
    assert "in handler 2" in warm and "Init Duration" not in warm and "at init" not in warm


def test_log_tail_is_the_last_4kb(lam: Any) -> None:
    name = create_python_function(
        lam, "def handler(e, c):\n    for i in range(500):\n        print('line', i)\n"
    )
    text = base64.b64decode(invoke(lam, name, {}, LogType="Tail")["LogResult"])
    assert len(text) == 4096
    assert text.decode().rstrip("\n").splitlines()[-1].startswith("REPORT RequestId:")


def test_none_result_is_null(lam: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return None\n")
    assert invoke(lam, name, {})["Body"] == b"null"


def test_empty_payload_is_an_empty_object(lam: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return e\n")
    assert json.loads(invoke(lam, name)["Body"]) == {}


def test_unhandled_exception(lam: Any) -> None:
    name = create_python_function(
        lam, "def handler(event, context):\n    raise ValueError('boom')\n"
    )
    response = invoke(lam, name, {}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Body"])
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert body["stackTrace"] and "raise ValueError('boom')" in body["stackTrace"][-1]
    assert "[ERROR] ValueError: boom" in tail(response)


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"lambda_function.py": "def handler(e, c): pass\n"},
            "missing.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing': No module named 'missing'",
        ),
        (
            {"lambda_function.py": "def other(e, c): pass\n"},
            "lambda_function.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'lambda_function'",
        ),
        (
            {"lambda_function.py": "def handler(e, c)\n    pass\n"},
            "lambda_function.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'lambda_function'",
        ),
        (
            {"lambda_function.py": "raise Exception('Runtime startup fails')\n"},
            "lambda_function.handler",
            "Exception",
            "Runtime startup fails",
        ),
    ],
)
def test_init_errors(
    lam: Any, files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    name = unique()
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": make_zip(files)},
    )
    for _ in range(2):  # a failed init is retried by the next invocation
        response = invoke(lam, name, {})
        assert response["FunctionError"] == "Unhandled"
        body = json.loads(response["Body"])
        assert body["errorType"] == error_type
        assert body["errorMessage"].startswith(message)
        assert body["requestId"] == ""


def test_timeout_kills_the_environment_and_the_next_invoke_works(lam: Any) -> None:
    name = create_python_function(
        lam,
        "import time, uuid\n"
        "ENVIRONMENT = uuid.uuid4().hex\n"
        "def handler(e, c):\n"
        "    if e.get('sleep'):\n"
        "        time.sleep(e['sleep'])\n"
        "    return ENVIRONMENT\n",
        Timeout=1,
    )
    first_pid = json.loads(invoke(lam, name, {})["Body"])
    started = time.monotonic()
    response = invoke(lam, name, {"sleep": 5}, LogType="Tail")
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 3.0
    assert response["FunctionError"] == "Unhandled"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert json.loads(response["Body"]) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    assert f"{request_id} Task timed out after 1.00 seconds" in tail(response)
    assert "Status: timeout" in tail(response)
    after = invoke(lam, name, {})
    assert "FunctionError" not in after
    assert json.loads(after["Body"]) != first_pid


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "import os\ndef handler(e, c):\n    os._exit(3)\n",
            "Runtime exited with error: exit status 3",
        ),
        (
            "import os, signal\ndef handler(e, c):\n    os.kill(os.getpid(), signal.SIGKILL)\n",
            "Runtime exited with error: signal: killed",
        ),
        (
            "import sys\ndef handler(e, c):\n    sys.exit(0)\n",
            "Runtime exited without providing a reason",
        ),
    ],
)
def test_runtime_crash_is_an_exit_error(lam: Any, code: str, message: str) -> None:
    name = create_python_function(lam, code)
    response = invoke(lam, name, {})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Body"]) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {message}",
    }


def test_response_too_large(lam: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return 'x' * (7 * 1024 * 1024)\n")
    response = invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Body"]) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_concurrent_invocations_run_in_parallel_environments(lam: Any) -> None:
    name = create_python_function(
        lam,
        "import time, uuid\n"
        "ENVIRONMENT = uuid.uuid4().hex\n"
        "def handler(e, c):\n"
        "    time.sleep(1)\n"
        "    return ENVIRONMENT\n",
        Timeout=10,
    )
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: invoke(lam, name, {}), range(4)))
    elapsed = time.monotonic() - started
    pids = {json.loads(r["Body"]) for r in results}
    assert len(pids) == 4
    assert elapsed < 3.5


def test_event_invocation_is_accepted_and_runs(lam: Any, server: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    print('event ran', e['token'])\n")
    token = unique("token")
    response = invoke(lam, name, {"token": token}, InvocationType="Event")
    assert response["StatusCode"] == 202 and response["Body"] == b""
    logs = server.client("logs")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except ClientError:
            events = []
        if any(f"event ran {token}" in e["message"] for e in events):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the event never ran")


def test_payload_limits_and_bad_payloads(lam: Any, echo: str) -> None:
    with pytest.raises(ClientError) as too_big:
        lam.invoke(FunctionName=echo, Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    error = too_big.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestTooLargeException"
    assert error["message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )
    with pytest.raises(ClientError) as async_too_big:
        lam.invoke(
            FunctionName=echo, InvocationType="Event", Payload=b'"' + b"x" * (1024 * 1024) + b'"'
        )
    assert async_too_big.value.response["Error"]["Code"] == "RequestTooLargeException"
    with pytest.raises(ClientError) as not_json:
        lam.invoke(FunctionName=echo, Payload=b"{not json")
    error = not_json.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidRequestContentException"
    assert error["Type"] == "User"
    assert error["message"].startswith(
        "Could not parse request body into json: Could not parse payload into json: "
    )


def test_unknown_function(lam: Any) -> None:
    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName="does-not-exist", Payload=b"{}")
    error = missing.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["Message"].startswith(
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:does-not-exist"
    )


def test_boto3_inside_a_function_reaches_lamina(lam: Any, echo: str) -> None:
    name = create_python_function(
        lam,
        "import boto3\n"
        "def handler(e, c):\n"
        "    client = boto3.client('lambda')\n"
        "    return client.get_function(FunctionName=e['name'])['Configuration']['FunctionName']\n",
        Timeout=30,
    )
    response = invoke(lam, name, {"name": echo})
    assert "FunctionError" not in response, response["Body"]
    assert json.loads(response["Body"]) == echo


def test_update_code_reaches_new_invocations(lam: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return 'v1'\n")
    assert json.loads(invoke(lam, name, {})["Body"]) == "v1"
    lam.update_function_code(
        FunctionName=name,
        ZipFile=make_zip({"lambda_function.py": "def handler(e, c):\n    return 'v2'\n"}),
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert json.loads(invoke(lam, name, {})["Body"]) == "v2"


def test_logs_are_stored_per_environment_stream(lam: Any, server: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    print('stored line')\n")
    invoke(lam, name, {})
    logs = server.client("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", streams[0]["logStreamName"])
    events = logs.get_log_events(
        logGroupName=f"/aws/lambda/{name}",
        logStreamName=streams[0]["logStreamName"],
        startFromHead=True,
    )["events"]
    messages = [e["message"] for e in events]
    # A cold start: AWS's INIT_START line first, then the invocation's.
    assert re.fullmatch(
        r"INIT_START Runtime Version: python:3\.11\.v\d+\t"
        r"Runtime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}\n",
        messages[0],
    )
    assert messages[1].startswith("START RequestId:")
    assert "stored line\n" in messages  # stored as AWS stores it
    assert messages[-1].startswith("REPORT RequestId:")


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_python_runtime_runs_on_the_matching_interpreter(lam: Any, version: str) -> None:
    name = create_python_function(
        lam,
        "import sys, boto3\n"
        "def handler(e, c):\n"
        "    return ['%d.%d' % sys.version_info[:2], boto3.__name__]\n",
        runtime=f"python{version}",
        Timeout=30,
    )
    response = invoke(lam, name, {})
    assert "FunctionError" not in response, response["Body"]
    assert json.loads(response["Body"]) == [version, "boto3"]


@pytest.mark.parametrize("version", ["3.8", "3.9"])
def test_older_python_runtimes_run_on_their_interpreter(lam: Any, version: str) -> None:
    """The spawner and the built-in runtime are plain Python 3.8 (boto3 itself needs 3.10
    on the host, see docs/invocation.md)."""
    name = create_python_function(
        lam,
        "import sys\ndef handler(e, c):\n    return '%d.%d' % sys.version_info[:2]\n",
        runtime=f"python{version}",
        Timeout=30,
    )
    response = invoke(lam, name, {})
    assert "FunctionError" not in response, response["Body"]
    assert json.loads(response["Body"]) == version


def test_runtime_lamina_cannot_run_yet(lam: Any) -> None:
    name = unique()
    lam.create_function(
        FunctionName=name,
        Runtime="dotnet8",
        Role=ROLE,
        Handler="Example::Example.Function::Handler",
        Code={"ZipFile": make_zip({"Example.dll": b"MZ"})},
    )
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=name, Payload=b"{}")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert error["Error"]["Code"] == "InvalidRuntimeException"
