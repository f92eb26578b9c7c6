"""How a ``ruby3.X`` function becomes a command line and an environment
(``runtime/ruby.py``): the host's Ruby, AWS's Ruby variables (golden-compared with
test_lambda_common ``test_introspection_invoke[ruby3.X]``), a clear error without Ruby."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lamina.domain.errors import InvalidRuntimeException
from lamina.domain.models import FunctionConfig
from lamina.runtime import ruby
from lamina.runtime.launch import EnvironmentPaths, LaunchPlan, plan_launch

RECORDED = Path(__file__).parent.parent / "fixtures/aws-recorded/lambda"
COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon::"
RUBY_VARIABLES = ("GEM_HOME", "GEM_PATH", "AWS_EXECUTION_ENV", "LAMBDA_RUNTIME_DIR", "PATH")


def recorded_environment(runtime: str) -> dict[str, str]:
    snapshot = json.loads((RECORDED / "test_lambda_common.snapshot.json").read_text())
    content = snapshot[f"{COMMON}test_introspection_invoke[{runtime}]"]["recorded-content"]
    env: dict[str, str] = content["invocation_result_payload"]["environment"]
    return env


def config(runtime: str, **environment: str) -> FunctionConfig:
    return FunctionConfig(
        name="fn",
        region="us-east-1",
        account="111111111111",
        role="arn:aws:iam::111111111111:role/r",
        code_sha256="0" * 64,
        code_size=1,
        last_modified="2026-01-01T00:00:00.000+0000",
        revision_id="r",
        runtime=runtime,
        handler="function.handler",
        memory_size=1024,
        environment=dict(environment),
    )


def plan(tmp_path: Path, runtime: str, isolated: bool = True, **environment: str) -> LaunchPlan:
    where = EnvironmentPaths.isolated if isolated else EnvironmentPaths.plain
    return plan_launch(
        config(runtime, **environment),
        where(tmp_path, tmp_path / "sdk"),
        "169.254.100.1:9001",
        "stream",
        "http://127.0.0.1:9000",
    )


@pytest.fixture
def host_ruby(monkeypatch: pytest.MonkeyPatch) -> str:
    """A Ruby at a fixed path, whatever the host has."""
    path = "/usr/bin/ruby3.1"
    monkeypatch.setattr(ruby, "ruby_for_runtime", lambda runtime: path)
    return path


@pytest.mark.parametrize("runtime", ["ruby3.2", "ruby3.3", "ruby3.4"])
def test_isolated_environment_matches_aws(tmp_path: Path, host_ruby: str, runtime: str) -> None:
    launched = plan(tmp_path, runtime)
    assert launched.argv[-2:] == [host_ruby, "/var/runtime/lamina/ruby/bootstrap.rb"]
    aws = recorded_environment(runtime)
    for name in RUBY_VARIABLES:
        assert launched.env[name] == aws[name], name
    # AWS's first RUBYLIB entry is its runtime client's gem.
    assert launched.env["RUBYLIB"].split(":")[1:] == aws["RUBYLIB"].split(":")[1:]


def test_function_variables_win(tmp_path: Path, host_ruby: str) -> None:
    env = plan(tmp_path, "ruby3.3", GEM_PATH="/var/task/gems", RUBYLIB="/var/task/lib").env
    assert env["GEM_PATH"] == "/var/task/gems"
    assert env["RUBYLIB"] == "/var/task/lib"


def test_plain_process_paths_are_the_hosts(tmp_path: Path, host_ruby: str) -> None:
    env = plan(tmp_path, "ruby3.4", isolated=False).env
    assert env["LAMBDA_RUNTIME_DIR"].endswith("/runtimes/ruby")
    assert env["GEM_HOME"] == env["LAMBDA_RUNTIME_DIR"]
    assert env["RUBYLIB"].split(":")[1] == str(tmp_path)


@pytest.mark.parametrize(
    ("runtime", "handled"),
    [("ruby3.2", True), ("ruby3.3", True), ("ruby3.4", True), ("ruby2.7", False), ("ruby", False)],
)
def test_runtime_names(runtime: str, handled: bool) -> None:
    assert ruby.is_ruby_runtime(runtime) is handled


def test_no_ruby_on_the_host_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ruby, "find_ruby", lambda version: None)
    monkeypatch.setattr(ruby, "default_ruby", lambda: None)
    with pytest.raises(InvalidRuntimeException) as raised:
        ruby.ruby_for_runtime("ruby3.3")
    assert "no ruby executable was found" in str(raised.value)


def test_other_version_falls_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(ruby, "find_ruby", lambda version: None)
    monkeypatch.setattr(ruby, "default_ruby", lambda: "/usr/bin/ruby3.1")
    monkeypatch.setattr(ruby, "ruby_version", lambda path: "3.1")
    monkeypatch.setattr(ruby, "_warned", set())
    assert ruby.ruby_for_runtime("ruby3.2") == "/usr/bin/ruby3.1"
    assert ruby.ruby_for_runtime("ruby3.2") == "/usr/bin/ruby3.1"
    warnings = [r for r in caplog.records if "no Ruby 3.2" in r.getMessage()]
    assert len(warnings) == 1
