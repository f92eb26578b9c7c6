"""The Ruby runtimes (``ruby3.2`` … ``ruby3.4``) through boto3 against a real server.

Expected documents are AWS's, recorded by test_lambda_common (tests/fixtures/aws-recorded/
lambda/test_lambda_common.snapshot.json): the echo, the context object seen by a handler and
an uncaught exception. Lamina runs them on the host's Ruby (Debian's package: CI installs it).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import ROLE, make_zip, unique

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/lambda"
COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon"
RUBIES = ("ruby3.2", "ruby3.3", "ruby3.4")

pytestmark = pytest.mark.skipif(
    shutil.which("ruby") is None, reason="no ruby on this host (CI installs Debian's ruby)"
)

INTROSPECTION = """
def handler(event:, context:)
  {
    environment: ENV.to_h,
    ctx: {
      function_name: context.function_name,
      function_version: context.function_version,
      invoked_function_arn: context.invoked_function_arn,
      memory_limit_in_mb: context.memory_limit_in_mb,
      aws_request_id: context.aws_request_id,
      log_group_name: context.log_group_name,
      log_stream_name: context.log_stream_name,
      remaining_time_in_millis: context.get_remaining_time_in_millis
    },
    packages: []
  }
end
"""


def recorded(test: str, key: str) -> Any:
    data = json.loads((RECORDED / "test_lambda_common.snapshot.json").read_text())
    return data[f"{COMMON}::{test}"]["recorded-content"][key]


def create_ruby_function(
    lam: Any, files: dict[str, str], handler: str = "function.handler", **kwargs: Any
) -> str:
    name = unique("ruby")
    lam.create_function(
        FunctionName=name,
        Runtime=kwargs.pop("Runtime", "ruby3.3"),
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": make_zip(dict(files))},
        MemorySize=1024,
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(lam: Any, name: str, payload: Any) -> dict[str, Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(payload), LogType="Tail")
    response["Body"] = json.loads(response["Payload"].read())
    response["Tail"] = base64.b64decode(response["LogResult"]).decode()
    return dict(response)


@pytest.mark.parametrize("runtime", RUBIES)
def test_echo(lam: Any, runtime: str) -> None:
    name = create_ruby_function(
        lam, {"function.rb": "def handler(event:, context:)\n  event\nend\n"}, Runtime=runtime
    )
    payload = {"key": "value", "nested": {"list": [1, 2.5, None, True]}}
    response = invoke(lam, name, payload)
    assert "FunctionError" not in response
    assert response["Body"] == payload


@pytest.mark.parametrize("runtime", RUBIES)
def test_introspection_matches_aws(lam: Any, runtime: str) -> None:
    name = create_ruby_function(
        lam,
        {"function.rb": INTROSPECTION},
        Runtime=runtime,
        Environment={"Variables": {"TEST_KEY": "TEST_VAL"}},
    )
    body = invoke(lam, name, {})["Body"]
    expected = recorded(f"test_introspection_invoke[{runtime}]", "invocation_result_payload")
    ctx = body["ctx"]
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx.pop("aws_request_id"))
    assert 0 < ctx.pop("remaining_time_in_millis") <= 3000
    assert ctx.pop("log_stream_name")
    arn = ctx.pop("invoked_function_arn")
    assert arn.endswith(f":function:{name}")
    want = {
        key: value.replace("<function-name:1>", name)
        for key, value in expected["ctx"].items()
        if key
        not in (
            "aws_request_id",
            "remaining_time_in_millis",
            "log_stream_name",
            "invoked_function_arn",
        )
    }
    assert ctx == want  # memory_limit_in_mb is the String "1024", as on AWS
    env = body["environment"]
    aws_env = expected["environment"]
    same = [
        *("AWS_EXECUTION_ENV", "GEM_HOME", "GEM_PATH", "TEST_KEY", "LAMBDA_TASK_ROOT"),
        *("LAMBDA_RUNTIME_DIR", "PATH", "LD_LIBRARY_PATH", "LANG", "TZ", "_HANDLER"),
    ]
    for key in same:
        assert env[key] == aws_env[key], key
    # AWS's first RUBYLIB entry is its runtime client's gem; the rest is the same.
    assert env["RUBYLIB"].split(":")[1:] == aws_env["RUBYLIB"].split(":")[1:]
    assert "LAMINA_SDK_PATH" not in env and "LAMINA_OPT_ROOT" not in env


@pytest.mark.parametrize("runtime", RUBIES)
def test_uncaught_exception_matches_aws(lam: Any, runtime: str) -> None:
    code = 'def handler(event:, context:)\n  raise "Error: #{event["error_msg"]}"\nend\n'
    name = create_ruby_function(lam, {"function.rb": code}, Runtime=runtime)
    response = invoke(lam, name, {"error_msg": "some_error_msg"})
    expected = recorded(f"test_uncaught_exception_invoke[{runtime}]", "error_result")
    assert response["FunctionError"] == expected["FunctionError"]
    assert response["StatusCode"] == expected["StatusCode"]
    body = response["Body"]
    trace = body.pop("stackTrace")
    assert trace and trace[0].startswith("/var/task/function.rb:2:in "), trace
    want = {k: v for k, v in expected["Payload"].items() if k != "stackTrace"}
    assert body == want
    assert "Error raised from handler method" in response["Tail"]
    # The environment keeps serving after a handler error.
    again = invoke(lam, name, {"error_msg": "again"})
    assert again["Body"]["errorMessage"] == "Error: again"


def test_class_handler_context_and_logs(lam: Any) -> None:
    code = (
        "module Outer\n  class Handler\n"
        "    def self.process(event:, context:)\n"
        "      puts \"processing #{event['n']}\"\n"
        "      { n: event['n'] * 2, left: context.get_remaining_time_in_millis > 0,"
        " version: context.function_version, client: context.client_context }\n"
        "    end\n  end\nend\n"
    )
    name = create_ruby_function(lam, {"app.rb": code}, handler="app.Outer::Handler.process")
    response = invoke(lam, name, {"n": 21})
    assert response["Body"] == {"n": 42, "left": True, "version": "$LATEST", "client": None}
    assert "processing 21\n" in response["Tail"]


def test_string_result_is_json(lam: Any) -> None:
    code = "def handler(event:, context:)\n  'hello'\nend\n"
    name = create_ruby_function(lam, {"function.rb": code})
    assert invoke(lam, name, None)["Body"] == "hello"


def test_missing_file_is_an_init_error(lam: Any) -> None:
    name = create_ruby_function(lam, {"other.rb": "x = 1\n"})
    response = invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    body = response["Body"]
    assert body["errorType"] == "Init<LoadError>"
    assert body["errorMessage"] == "cannot load such file -- function"
    assert "Init error when loading handler" in response["Tail"]


def test_missing_method_is_critical_and_restarts(lam: Any) -> None:
    code = "$starts = ($starts || 0) + 1\ndef handler(event:, context:)\n  event\nend\n"
    name = create_ruby_function(lam, {"function.rb": code}, handler="function.nothere")
    body = invoke(lam, name, {})["Body"]
    assert body["errorType"] == "Function<NoMethodError>"
    assert "nothere" in body["errorMessage"]
    # The runtime exited: the next invocation gets a new environment, with the same answer.
    assert invoke(lam, name, {})["Body"]["errorType"] == "Function<NoMethodError>"


def test_bad_handler_string(lam: Any) -> None:
    name = create_ruby_function(lam, {"function.rb": "x = 1\n"}, handler="function")
    body = invoke(lam, name, {})["Body"]
    assert body["errorType"] == "Init<ArgumentError>"
    assert body["errorMessage"].startswith('Invalid handler ["function"], must be of form')


def test_without_isolation(own_server: Any) -> None:
    """On the host's file system: the task root is the package's directory, and the
    runtime's directories are Lamina's."""
    lam = own_server("--isolation", "process").client()
    code = (
        "require 'json'\n"
        "def handler(event:, context:)\n"
        "  { event: event, root: ENV['LAMBDA_TASK_ROOT'], here: __FILE__,"
        " rubylib: ENV['RUBYLIB'], gem_home: ENV['GEM_HOME'], fn: context.function_name }\n"
        "end\n"
    )
    name = create_ruby_function(lam, {"function.rb": code}, Runtime="ruby3.4")
    body = invoke(lam, name, {"x": [1, "two"]})["Body"]
    assert body["event"] == {"x": [1, "two"]}
    assert body["fn"] == name
    assert body["here"] == f"{body['root']}/function.rb"
    assert body["rubylib"].split(":")[1] == body["root"]
    assert body["gem_home"].endswith("/runtimes/ruby")


def test_exec_wrapper(lam: Any) -> None:
    """``AWS_LAMBDA_EXEC_WRAPPER`` runs with the Ruby runtime's command as its arguments
    (test_lambda_common ``test_runtime_wrapper_invoke[ruby3.x]``)."""
    wrapper = '#!/bin/bash\nexport WRAPPED="by $(basename "$0") with $# arguments"\nexec "$@"\n'
    code = "def handler(event:, context:)\n  { wrapped: ENV['WRAPPED'] }\nend\n"
    name = unique("ruby")
    lam.create_function(
        FunctionName=name,
        Runtime="ruby3.3",
        Role=ROLE,
        Handler="function.handler",
        Code={"ZipFile": make_zip({"function.rb": code, "wrapper": wrapper}, {"wrapper": 0o755})},
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper"}},
        MemorySize=1024,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    assert invoke(lam, name, {})["Body"] == {"wrapped": "by wrapper with 2 arguments"}
