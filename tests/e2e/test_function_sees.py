"""What a function sees (issue 14): its environment variables, interpreter, files, limits and
wrapper, golden-compared with what AWS's runtimes showed the same code (recordings under
``tests/fixtures/aws-recorded/lambda/``), in the isolated sandbox and in plain processes."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import ROLE, LaminaServer, make_zip, unique

RECORDED = Path(__file__).parent.parent / "fixtures/aws-recorded/lambda"
COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon::"
BEHAVIOUR = "tests/aws/services/lambda_/test_lambda.py::"
isolated_only = pytest.mark.skipif(os.geteuid() != 0, reason="isolation needs root")

# The introspection handlers of the recordings (same output; the code is Lamina's).
PYTHON_INTROSPECTION = """
import json, os

def handler(event, context):
    return {
        "environment": dict(os.environ),
        "ctx": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_time_in_millis": context.get_remaining_time_in_millis(),
        },
        "packages": [],
    }
"""
NODE_INTROSPECTION = """
exports.handler = async (event, context) => ({
  environment: process.env,
  ctx: {
    function_name: context.functionName,
    function_version: context.functionVersion,
    invoked_function_arn: context.invokedFunctionArn,
    log_group_name: context.logGroupName,
    log_stream_name: context.logStreamName,
    aws_request_id: context.awsRequestId,
    remaining_time_in_millis: context.getRemainingTimeInMillis(),
  },
  packages: [],
});
"""
PROBE = r"""
import os, resource, stat, subprocess, sys, traceback

LIMITS = ["RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
          "RLIMIT_MEMLOCK", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_STACK"]

def handler(event, context):
    paths = {}
    for p in ["/var/task", "/opt", "/tmp", "/lambda-entrypoint.sh", "/var/runtime/bootstrap"]:
        label = p.replace("/", "_")
        if not os.path.exists(p):
            continue
        info = os.stat(p)
        paths[label + "_mode"] = stat.filemode(info.st_mode)
        paths[label + "_uid"] = info.st_uid
        paths[label + "_gid"] = info.st_gid
    sh = subprocess.run(["/bin/sh", "-c", "set -o pipefail; echo \"$BASH_VERSION\" | cat"],
                        capture_output=True, text=True)
    child = subprocess.run([sys.executable, "-c", "import sys; print(sys.prefix)"],
                           capture_output=True, text=True)
    entrypoint = subprocess.run(["/lambda-entrypoint.sh"], capture_output=True, text=True)
    syntax = subprocess.run(["bash", "-n", "/var/runtime/bootstrap"], capture_output=True)
    try:
        import fractions
        fractions.Fraction("not a number")
    except ValueError as exc:
        frames = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
    return {
        "limits": {n: list(resource.getrlimit(getattr(resource, n))) for n in LIMITS},
        "paths": paths,
        "sh": [sh.returncode, sh.stdout.strip(), sh.stderr],
        "executable": sys.executable,
        "entrypoint": [entrypoint.returncode, syntax.returncode],
        "child_prefix": [child.returncode, child.stdout.strip(), child.stderr[-300:]],
        "stdlib_frame": frames[-1],
        "user_whoami": subprocess.run(["whoami"], capture_output=True, text=True).stdout.strip(),
        "user_name": __import__("getpass").getuser(),
    }
"""
WRAPPER = '#!/bin/bash\nexport WRAPPER_VAR="{value}"\nexec "$@"\n'
# Set by AWS per environment / invocation, or of AWS's account: compared by presence only.
VARYING = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "_X_AMZN_TRACE_ID",
}
LAMINA_ADDED = {
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ACCESS_KEY",
}


def snapshot(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


def recorded_introspection(runtime: str) -> dict[str, Any]:
    key = f"{COMMON}test_introspection_invoke[{runtime}]"
    content: dict[str, Any] = snapshot("test_lambda_common.snapshot.json")[key]["recorded-content"]
    return content


def create(
    lam: Any, runtime: str, files: dict[str, str | bytes], handler: str, **kwargs: Any
) -> str:
    name = unique("sees")
    modes = {path: 0o755 for path in files if path == "environment_wrapper"}
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": make_zip(files, modes)},
        **{"MemorySize": 1024, "Timeout": 10, **kwargs},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(lam: Any, name: str, payload: bytes = b'{"simple": "payload"}') -> dict[str, Any]:
    response = lam.invoke(FunctionName=name, Payload=payload)
    response["Body"] = json.loads(response["Payload"].read())
    return dict(response)


def normalised_environment(env: dict[str, str], name: str) -> dict[str, str]:
    """Lamina's environment in the recording's terms: varying values as placeholders."""
    assert all(env.get(key) for key in VARYING - {"NODE_EXTRA_CA_CERTS"}), sorted(env)
    out = {k: v for k, v in env.items() if k not in LAMINA_ADDED}
    for key in VARYING:
        out.pop(key, None)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    return out


def without_varying(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in VARYING | {"NODE_EXTRA_CA_CERTS"}}


def introspect(lam: Any, runtime: str, source: tuple[str, str], handler: str) -> None:
    recorded = recorded_introspection(runtime)
    name = create(
        lam,
        runtime,
        {source[0]: source[1]},
        handler,
        Environment={"Variables": {"TEST_KEY": "TEST_VAL"}},
    )
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    for target, key in (
        (name, "invocation_result_payload"),
        (f"{arn}:$LATEST", "invocation_result_payload_qualified"),
    ):
        body = invoke(lam, target)["Body"]
        expected = recorded[key]
        ours = normalised_environment(body["environment"], name)
        if runtime.startswith("nodejs") and not ours["PATH"].startswith(
            expected["environment"]["PATH"]
        ):
            pytest.fail(f"PATH {ours['PATH']}")
        if runtime.startswith("nodejs"):  # a node outside the system directories comes last
            ours["PATH"] = ours["PATH"][: len(expected["environment"]["PATH"])]
        assert ours == without_varying(expected["environment"])
        assert sorted(body["ctx"]) == sorted(expected["ctx"])
        assert body["ctx"]["invoked_function_arn"] == (arn if target == name else target)


@isolated_only
@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
def test_python_environment_is_aws(lam: Any, runtime: str) -> None:
    introspect(lam, runtime, ("handler.py", PYTHON_INTROSPECTION), "handler.handler")


@isolated_only
@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js on this host")
def test_node_environment_is_aws(lam: Any) -> None:
    introspect(lam, "nodejs20.x", ("index.js", NODE_INTROSPECTION), "index.handler")


@isolated_only
def test_interpreter_files_and_limits_as_on_aws(lam: Any) -> None:
    name = create(lam, "python3.12", {"lambda_function.py": PROBE}, "lambda_function.handler")
    body = invoke(lam, name, b"{}")["Body"]
    behaviour = snapshot("test_lambda.snapshot.json")
    limits = behaviour[f"{BEHAVIOUR}TestLambdaBehavior::test_runtime_ulimits"]["recorded-content"]
    assert body["limits"] == limits["invoke_runtime_ulimits"]["Payload"]
    paths = behaviour[f"{BEHAVIOUR}TestLambdaBehavior::test_runtime_introspection_x86"]
    recorded = paths["recorded-content"]["invoke_runtime_x86_introspection"]["Payload"]["paths"]
    for label in ("_var_task", "_opt", "_tmp", "_lambda-entrypoint.sh"):
        for field in ("mode", "uid", "gid"):
            assert body["paths"][f"{label}_{field}"] == recorded[f"{label}_{field}"], label
    assert body["paths"]["_var_runtime_bootstrap_mode"] == "-rwxr-xr-x"
    # The entry point wants the handler as its one argument; the bootstrap is valid bash.
    assert body["entrypoint"] == [142, 0]
    # /bin/sh is bash: pipefail works.
    assert body["sh"][0] == 0 and body["sh"][1], body["sh"]
    # The interpreter at /var/lang, as on AWS, and it runs there.
    assert body["executable"] == "/var/lang/bin/python3.12"
    assert body["child_prefix"][:2] == [0, "/var/lang"], body["child_prefix"]
    assert body["stdlib_frame"] == "/var/lang/lib/python3.12/fractions.py"
    # The user has AWS's name (its uid is the environment's own).
    x86 = paths["recorded-content"]["invoke_runtime_x86_introspection"]["Payload"]
    assert body["user_whoami"] == body["user_name"] == x86["user_whoami"] == "sbx_user1051"


def wrapper_case(lam: Any, runtime: str, source: dict[str, str], handler: str) -> None:
    value = unique("value")
    files: dict[str, str | bytes] = {**source, "environment_wrapper": WRAPPER.format(value=value)}
    env = {"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/environment_wrapper"}}
    name = create(lam, runtime, files, handler, Environment=env)
    response = invoke(lam, name)
    assert "FunctionError" not in response, response["Body"]
    assert response["Body"]["environment"]["WRAPPER_VAR"] == value


def missing_wrapper_case(lam: Any) -> None:
    env = {"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/idontexist.sh"}}
    name = create(
        lam, "python3.12", {"handler.py": PYTHON_INTROSPECTION}, "handler.handler", Environment=env
    )
    response = invoke(lam, name)
    recorded = snapshot("test_lambda.snapshot.json")
    key = f"{BEHAVIOUR}TestLambdaErrors::test_lambda_runtime_wrapper_not_found"
    expected = recorded[key]["recorded-content"]["invocation_error"]
    body = response["Body"]
    body["errorMessage"] = re.sub(r"[0-9a-f-]{36}", "<uuid>", body["errorMessage"])
    assert response["FunctionError"] == expected["FunctionError"]
    assert (response["StatusCode"], body) == (expected["StatusCode"], expected["Payload"])


@isolated_only
def test_exec_wrapper_runs_the_runtime(lam: Any) -> None:
    wrapper_case(lam, "python3.12", {"handler.py": PYTHON_INTROSPECTION}, "handler.handler")
    if shutil.which("node"):
        wrapper_case(lam, "nodejs20.x", {"index.js": NODE_INTROSPECTION}, "index.handler")


@isolated_only
def test_missing_exec_wrapper_is_exit_127(lam: Any) -> None:
    missing_wrapper_case(lam)


def test_plain_process_mode(own_server: Callable[..., LaminaServer]) -> None:
    """Plain processes see the host's paths (docs/isolation.md) but AWS's variables, and the
    wrapper works the same way."""
    lam = own_server("--isolation", "process").client()
    name = create(lam, "python3.12", {"handler.py": PYTHON_INTROSPECTION}, "handler.handler")
    env = invoke(lam, name)["Body"]["environment"]
    recorded = recorded_introspection("python3.12")["invocation_result_payload"]["environment"]
    same = ("LANG", "LC_CTYPE", "SHLVL", "TZ", "AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT")
    assert {k: env[k] for k in same} == {k: recorded[k] for k in same}
    assert env["PWD"] == env["LAMBDA_TASK_ROOT"]
    assert env["PATH"].endswith(":/usr/local/bin:/usr/bin/:/bin:/opt/bin")
    wrapper_case(lam, "python3.12", {"handler.py": PYTHON_INTROSPECTION}, "handler.handler")
    missing_wrapper_case(lam)


LOG_PRINTER = """
def handler(event, context):
    print(event["body"])
    return event
"""


def normalised_log_line(message: str, request_id: str) -> str:
    """A log line in the recording's terms (its request id, durations and memory)."""
    message = message.replace(request_id, "<request-id>")
    message = re.sub(r"(Duration): [\d.]+ ms", r"\1: <duration> ms", message)
    message = re.sub(r"(Runtime Version: \w+:[\w.]+)\.v\d+", r"\1.v<version>", message)
    message = re.sub(
        r"arn:aws:lambda:[a-z0-9-]+::runtime:[0-9a-f]+",
        "arn:<partition>:lambda:<region>::runtime:<runtime-id>",
        message,
    )
    return re.sub(r"Max Memory Used: \d+ MB", "Max Memory Used: <memory> MB", message)


def test_log_events_end_with_a_newline_as_on_aws(lam: Any, server: LaminaServer) -> None:
    name = create(lam, "python3.13", {"handler.py": LOG_PRINTER}, "handler.handler", MemorySize=128)
    body = "\nmulti\nline\nstring\nanother\rline\n"
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"body": body}), LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    tail = base64.b64decode(response["LogResult"]).decode()
    assert tail.endswith("\t\n") and f"START RequestId: {request_id} Version: $LATEST\n" in tail
    logs = server.client("logs")
    group = f"/aws/lambda/{name}"
    deadline = time.monotonic() + 10
    messages: list[str] = []
    while time.monotonic() < deadline and not any(m.startswith("REPORT") for m in messages):
        streams = logs.describe_log_streams(logGroupName=group).get("logStreams", [])
        if streams:
            stream = streams[0]["logStreamName"]
            events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
            messages = [e["message"] for e in events]
        time.sleep(0.1)
    filtered = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert filtered == messages
    key = "tests/aws/services/lambda_/test_lambda_runtimes.py::"
    key += "TestCloudwatchLogs::test_multi_line_prints"
    recorded = snapshot("test_lambda_runtimes.snapshot.json")[key]["recorded-content"]
    expected = [e["message"] for e in recorded["log-events"]]
    ours = [normalised_log_line(message, request_id) for message in messages]
    assert ours == expected


PIPEFAIL_BOOTSTRAP = r"""#!/bin/sh
set -euo pipefail
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -LD "$HEADERS" "$API/invocation/next" | cat)"
  REQUEST_ID="$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" \
    | tr -d '[:space:]' | cut -d: -f2)"
  rm -f "$HEADERS"
  curl -sS -X POST "$API/invocation/$REQUEST_ID/response" \
    -d "{\"shell\": \"${BASH_VERSION:-none}\", \"echo\": $EVENT}" > /dev/null
done
"""


@isolated_only
@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this host")
def test_custom_runtime_bootstrap_with_pipefail_runs_under_sh(lam: Any) -> None:
    """A ``#!/bin/sh`` bootstrap with ``set -o pipefail`` (which dash refuses) runs, as on
    Amazon Linux, where /bin/sh is bash."""
    name = unique("pipefail")
    lam.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="function.handler",
        Code={"ZipFile": make_zip({"bootstrap": PIPEFAIL_BOOTSTRAP}, {"bootstrap": 0o755})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    response = invoke(lam, name, b'{"n": 1}')
    assert "FunctionError" not in response, response["Body"]
    assert response["Body"]["echo"] == {"n": 1}
    assert response["Body"]["shell"] != "none"
