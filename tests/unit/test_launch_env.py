"""The environment a runtime gets (``runtime/launch.py``, ``runtime/aws_env.py``), golden-compared
with what AWS's runtimes showed a function (test_lambda_common ``test_introspection_invoke``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.models import FunctionConfig
from lamina.runtime.launch import EnvironmentPaths, LaunchPlan, plan_launch

RECORDED = Path(__file__).parent.parent / "fixtures/aws-recorded/lambda"
COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon::"
# What AWS sets that Lamina does not know or sets per invocation / per environment.
VARYING = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "_X_AMZN_TRACE_ID",  # set by the runtime for each invocation
    "NODE_EXTRA_CA_CERTS",  # nodejs18.x only: a certificate file AWS ships
}
# Lamina's additions (docs/invocation.md): boto3 inside the function reaches Lamina.
LAMINA_ADDED = {
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ACCESS_KEY",
    "LAMINA_SDK_PATH",
    "LAMINA_OPT_ROOT",
}


def recorded_environment(runtime: str) -> dict[str, str]:
    snapshot = json.loads((RECORDED / "test_lambda_common.snapshot.json").read_text())
    content = snapshot[f"{COMMON}test_introspection_invoke[{runtime}]"]["recorded-content"]
    env: dict[str, str] = content["invocation_result_payload"]["environment"]
    return env


def plan(
    runtime: str, tmp_path: Path, isolated: bool = True, handler: str = "", **environment: str
) -> LaunchPlan:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "bootstrap").write_text("#!/bin/sh\n")
    where = EnvironmentPaths.isolated if isolated else EnvironmentPaths.plain
    config = FunctionConfig(
        name="fn",
        region="us-east-1",
        account="111111111111",
        role="arn:aws:iam::111111111111:role/r",
        code_sha256="0" * 64,
        code_size=1,
        last_modified="2026-01-01T00:00:00.000+0000",
        revision_id="r",
        runtime=runtime,
        handler=handler or ("handler.handler" if runtime.startswith("python") else "index.handler"),
        memory_size=1024,
        environment={"TEST_KEY": "TEST_VAL", **environment},
    )
    return plan_launch(
        config,
        where(code, tmp_path / "sdk"),
        "169.254.100.1:9001",
        "2026/01/01/[$LATEST]abc",
        "http://127.0.0.1:9000",
    )


RUNTIMES = [
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "provided.al2023",
]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_isolated_environment_is_aws(runtime: str, tmp_path: Path) -> None:
    recorded = recorded_environment(runtime)
    try:
        launch = plan(runtime, tmp_path, handler=recorded["_HANDLER"])
    except Exception as exc:  # noqa: BLE001 - no node on this host
        if runtime.startswith("nodejs"):
            pytest.skip(f"no Node.js here: {exc}")
        raise
    aws = {k: v for k, v in recorded.items() if k not in VARYING}
    ours = {k: v for k, v in launch.env.items() if k not in VARYING | LAMINA_ADDED}
    if runtime.startswith("nodejs") and ":" in ours["PATH"].removeprefix(aws["PATH"]):
        ours["PATH"] = aws["PATH"]  # a node outside the system directories is appended
    assert ours == aws


def test_python_sees_var_lang_and_var_runtime(tmp_path: Path) -> None:
    env = plan("python3.12", tmp_path).env
    assert env["PATH"] == "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert env["PYTHONPATH"] == env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["LD_LIBRARY_PATH"].startswith("/var/lang/lib:/lib64:/usr/lib64:/var/runtime:")


def test_plain_process_mode_names_host_paths(tmp_path: Path) -> None:
    launch = plan("python3.12", tmp_path, isolated=False)
    env = launch.env
    python_dir = launch.interpreter.rsplit("/", 1)[0]
    assert env["PATH"] == f"{python_dir}:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert "/var/lang" not in env["LD_LIBRARY_PATH"]
    assert env["PWD"] == env["LAMBDA_TASK_ROOT"] == str(tmp_path / "code")
    assert env["PYTHONPATH"] == str(tmp_path / "sdk")


def test_function_variables_replace_defaults_not_reserved_ones(tmp_path: Path) -> None:
    env = plan("python3.12", tmp_path, PATH="/mine", PYTHONPATH="/p", LANG="C").env
    assert (env["PATH"], env["PYTHONPATH"], env["LANG"]) == ("/mine", "/p", "C")
    env = plan("python3.12", tmp_path, _HANDLER="x.y", AWS_LAMBDA_RUNTIME_API="a:1").env
    assert (env["_HANDLER"], env["AWS_LAMBDA_RUNTIME_API"]) == (
        "handler.handler",
        "169.254.100.1:9001",
    )


def test_exec_wrapper_precedes_the_runtime_command(tmp_path: Path) -> None:
    launch = plan("python3.12", tmp_path, AWS_LAMBDA_EXEC_WRAPPER="/var/task/wrap")
    assert launch.argv[0] == "/var/task/wrap"
    assert launch.argv[1:] == launch.runtime_argv
    assert launch.interpreter.split("/")[-1].startswith("python")


def test_exec_wrapper_in_plain_mode(tmp_path: Path) -> None:
    wrapper = tmp_path / "code" / "wrap"
    launch = plan("python3.12", tmp_path, isolated=False, AWS_LAMBDA_EXEC_WRAPPER="/var/task/wrap")
    # Missing: a shell execs it and exits 127, as AWS's runtime does.
    assert launch.argv[:4] == ["/bin/sh", "-c", 'exec "$0" "$@"', str(wrapper)]
    wrapper.write_text('#!/bin/sh\nexec "$@"\n')
    wrapper.chmod(0o755)
    launch = plan("python3.12", tmp_path, isolated=False, AWS_LAMBDA_EXEC_WRAPPER="/var/task/wrap")
    assert launch.argv[0] == str(wrapper)


def test_exec_wrapper_is_ignored_by_custom_runtimes(tmp_path: Path) -> None:
    launch = plan("provided.al2023", tmp_path, AWS_LAMBDA_EXEC_WRAPPER="/var/task/wrap")
    assert launch.argv == ["/var/task/bootstrap"]


def recorded_ulimits() -> dict[str, Any]:
    snapshot = json.loads((RECORDED / "test_lambda.snapshot.json").read_text())
    key = "tests/aws/services/lambda_/test_lambda.py::TestLambdaBehavior::test_runtime_ulimits"
    payload: dict[str, Any] = snapshot[key]["recorded-content"]["invoke_runtime_ulimits"]["Payload"]
    return payload


def test_spawner_limits_are_the_recorded_ones() -> None:
    import resource

    from lamina.runtimes import spawner

    recorded = recorded_ulimits()
    for limit, soft, hard in spawner.RLIMITS:
        name = next(n for n in recorded if getattr(resource, n) == limit)
        assert [soft, hard] == recorded[name]
