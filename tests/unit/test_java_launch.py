"""How a Java function becomes a command line and an environment (``runtime/java.py``):
the host's JDKs found by their ``release`` files, AWS's JVM flags sized from ``MemorySize``,
AWS's variables (golden-compared with test_lambda_common ``test_introspection_invoke``), a
clear error without a JDK new enough."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lamina.domain.errors import InvalidRuntimeException
from lamina.domain.models import FunctionConfig
from lamina.runtime import java
from lamina.runtime.java import Jdk
from lamina.runtime.launch import EnvironmentPaths, LaunchPlan, plan_launch

RECORDED = Path(__file__).parent.parent / "fixtures/aws-recorded/lambda"
COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon::"
SAME_AS_AWS = (
    *("AWS_EXECUTION_ENV", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT", "PATH", "LD_LIBRARY_PATH"),
    *("LANG", "TZ", "_HANDLER", "AWS_LAMBDA_RUNTIME_API", "AWS_XRAY_DAEMON_ADDRESS"),
)


def recorded_environment(runtime: str) -> dict[str, str]:
    snapshot = json.loads((RECORDED / "test_lambda_common.snapshot.json").read_text())
    content = snapshot[f"{COMMON}test_introspection_invoke[{runtime}]"]["recorded-content"]
    env: dict[str, str] = content["invocation_result_payload"]["environment"]
    return env


def config(runtime: str, memory: int = 1024) -> FunctionConfig:
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
        handler="echo.Handler",
        memory_size=memory,
        environment={},
    )


def plan(tmp_path: Path, runtime: str, isolated: bool = True, memory: int = 1024) -> LaunchPlan:
    where = EnvironmentPaths.isolated if isolated else EnvironmentPaths.plain
    return plan_launch(
        config(runtime, memory),
        where(tmp_path, tmp_path / "build"),
        "169.254.100.1:9001",
        "stream",
        "http://127.0.0.1:9000",
    )


JDK17 = Jdk("/usr/lib/jvm/java-17-openjdk-amd64", 17, "17.0.15")


@pytest.fixture
def only_jdk17(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java, "installed_jdks", lambda: (JDK17,))
    monkeypatch.setattr(java, "_warned", set())


@pytest.mark.parametrize("runtime", ["java8.al2", "java11", "java17"])
def test_isolated_environment_matches_aws(tmp_path: Path, only_jdk17: None, runtime: str) -> None:
    launched = plan(tmp_path, runtime)
    assert launched.argv[0] == JDK17.java
    assert launched.argv[-3:] == [
        "-cp",
        "/var/runtime/lib/lamina-java-runtime.jar",
        "lamina.runtime.Bootstrap",
    ]
    aws = recorded_environment(runtime)
    for name in SAME_AS_AWS:
        assert launched.env[name] == aws[name], name
    assert "PWD" not in launched.env and "SHLVL" not in launched.env


def test_jvm_flags_are_aws_sized_from_memory() -> None:
    assert java.jvm_options("java17", 128) == [
        "-XX:MaxHeapSize=111411k",
        "-XX:MaxMetaspaceSize=13107k",
        "-XX:ReservedCodeCacheSize=6553k",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "-XX:+TieredCompilation",
        "-XX:TieredStopAtLevel=1",
        "-Djava.net.preferIPv4Stack=true",
    ]
    # Before java17, AWS leaves tiered compilation as the JVM has it.
    eleven = java.jvm_options("java11", 10240)
    assert "-XX:MaxHeapSize=8912896k" in eleven
    assert not any("Tiered" in flag for flag in eleven)


def test_plain_process_runtime_dir_is_the_build(tmp_path: Path, only_jdk17: None) -> None:
    launched = plan(tmp_path, "java17", isolated=False, memory=256)
    assert launched.env["LAMBDA_RUNTIME_DIR"] == str(tmp_path / "build")
    assert f"{tmp_path}/build/lib/lamina-java-runtime.jar" in launched.argv


def test_newer_jdk_runs_older_runtimes_with_one_warning(
    only_jdk17: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "lamina.runtime"):
        assert java.jdk_for_runtime("java11") == JDK17
        assert java.jdk_for_runtime("java11") == JDK17
        assert java.jdk_for_runtime("java17") == JDK17
    warnings = [r.getMessage() for r in caplog.records if "no JDK" in r.getMessage()]
    assert warnings == [
        f"no JDK 11 on this host; java11 functions run on {JDK17.home} (Java 17.0.15)"
    ]


def test_exact_version_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    eleven = Jdk("/opt/jdk-11", 11, "11.0.2")
    monkeypatch.setattr(java, "installed_jdks", lambda: (eleven, JDK17))
    assert java.jdk_for_runtime("java11") == eleven
    assert java.jdk_for_runtime("java8.al2") == eleven


def test_no_jdk_new_enough_is_a_clear_error(only_jdk17: None) -> None:
    with pytest.raises(InvalidRuntimeException) as raised:
        java.jdk_for_runtime("java21")
    message = str(raised.value)
    assert message.startswith("The runtime parameter of java21 is not supported on this host")
    assert "JDK 21 or newer with javac (JDKs found: 17;" in message


def test_jdks_found_by_their_release_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_jdk(name: str, release: str | None, javac: bool = True) -> Path:
        home = tmp_path / name
        (home / "bin").mkdir(parents=True)
        for tool in ("java", "javac") if javac else ("java",):
            (home / "bin" / tool).write_text("#!/bin/sh\n")
            (home / "bin" / tool).chmod(0o755)
        if release is not None:
            (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{release}"\n')
        return home

    good = fake_jdk("jdk-21", "21.0.4")
    fake_jdk("jre-only", "21.0.4", javac=False)
    fake_jdk("no-release", None)
    eight = fake_jdk("jdk8", "1.8.0_402")
    monkeypatch.setattr(
        java, "_homes", lambda: [str(good), str(tmp_path / "jre-only"), str(eight), str(good)]
    )
    java.installed_jdks.cache_clear()
    try:
        assert java.installed_jdks() == (
            Jdk(str(eight), 8, "1.8.0_402"),
            Jdk(str(good), 21, "21.0.4"),
        )
    finally:
        java.installed_jdks.cache_clear()


@pytest.mark.parametrize(
    ("runtime", "handled"),
    [("java17", True), ("java8.al2", True), ("java21", True), ("java8", False), ("java", False)],
)
def test_runtime_names(runtime: str, handled: bool) -> None:
    assert java.is_java_runtime(runtime) is handled
