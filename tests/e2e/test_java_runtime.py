"""The Java runtimes (``java8.al2``, ``java11``, ``java17``; ``java21`` where a JDK 21 is
installed) through boto3 against a real server, with isolated environments.

The handlers (``tests/fixtures/java``) are compiled by the test with the host's ``javac``
against Lamina's own aws-lambda-java-core interfaces, as a user's build compiles against
AWS's. Expected documents are AWS's, recorded by test_lambda_common and test_lambda_runtimes
(tests/fixtures/aws-recorded/lambda/).
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support import ROLE, LaminaServer, make_zip, unique

from lamina.runtime.java import installed_jdks

ROOT = Path(__file__).parents[2]
RECORDED = ROOT / "tests/fixtures/aws-recorded/lambda"
HANDLERS = ROOT / "tests/fixtures/java"
RUNTIME_SOURCES = ROOT / "src/lamina/runtimes/java"
COMMON = "tests/aws/services/lambda_/test_lambda_common.py::TestLambdaRuntimesCommon"
RUNTIMES = "tests/aws/services/lambda_/test_lambda_runtimes.py::TestJavaRuntimes"
SAMPLE = "cloud.localstack.sample.LambdaHandlerWithInterfaceAndCustom"

pytestmark = pytest.mark.skipif(
    shutil.which("javac") is None, reason="no JDK on this host (CI installs Debian's)"
)


def recorded(snapshot: str, test: str, key: str) -> Any:
    data = json.loads((RECORDED / snapshot).read_text())
    return data[test]["recorded-content"][key]


def jar(classes: Path, package: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path in sorted((classes / package).glob("*.class")):
            archive.write(path, path.relative_to(classes).as_posix())
    return buf.getvalue()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The handlers' classes at the package's root, and ``helper`` as ``lib/helper.jar``."""
    classes = tmp_path_factory.mktemp("java-classes")
    sources = sorted(str(p) for p in HANDLERS.rglob("*.java"))
    subprocess.run(
        ["javac", "-d", str(classes), "-sourcepath", str(RUNTIME_SOURCES), "-implicit:none"]
        + sources,
        check=True,
    )
    files: dict[str, str | bytes] = {
        path.relative_to(classes).as_posix(): path.read_bytes()
        for path in sorted((classes / "example").glob("*.class"))
    }
    files["lib/helper.jar"] = jar(classes, "helper")
    return make_zip(files)


def create_java_function(
    lam: Any, package: bytes, handler: str, runtime: str = "java17", **kwargs: Any
) -> str:
    name = unique("java")
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": package},
        MemorySize=kwargs.pop("MemorySize", 1024),
        Timeout=30,
        **kwargs,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def invoke(lam: Any, name: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(payload), LogType="Tail", **kwargs)
    response["Body"] = json.loads(response["Payload"].read())
    response["Tail"] = base64.b64decode(response["LogResult"]).decode()
    return dict(response)


def test_request_handler_of_a_map_and_logs(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.Greeter")
    response = invoke(lam, name, {"name": "world", "count": 3})
    assert "FunctionError" not in response, response["Body"]
    assert response["Body"] == "Hello world (Integer)"
    tail = response["Tail"]
    lines = ("logger says world\n", "one call,\none line\n", "stdout says world\n")
    for line in (*lines, "stderr says world\n"):
        assert line in tail, tail
    init = re.search(r"Init Duration: ([\d.]+) ms", tail)
    assert init is not None, tail
    print(f"\njava17 cold start at 1024 MB: Init Duration {init.group(1)} ms")
    # Warm: the same environment answers, without init.
    again = invoke(lam, name, {"name": "again", "count": 4.5})
    assert again["Body"] == "Hello again (Double)"
    assert "Init Duration" not in again["Tail"]
    logs = server_logs(lam, name)
    assert "logger says world\n" in logs and "stdout says again\n" in logs


def server_logs(lam: Any, name: str) -> str:
    logs = boto3_logs(lam)
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        text = "".join(event["message"] for event in events)
        if "END RequestId" in text and text.count("REPORT RequestId") >= 2:
            break
        time.sleep(0.1)
    return text


def boto3_logs(lam: Any) -> Any:
    import boto3

    return boto3.client(
        "logs",
        endpoint_url=lam.meta.endpoint_url,
        region_name=lam.meta.region_name,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_pojo_in_and_out(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.OrderHandler", MemorySize=128)
    event = {
        "bucket": "test_bucket",
        "KEY": "test_key",  # member names match without regard to case, as on AWS
        "quantity": "2",
        "items": [{"sku": "a", "price": 1.25}, {"sku": "b", "price": 2}],
        "unknown": {"ignored": True},
        # Value types written as strings: read by their valueOf / fromString / parse.
        "id": "123e4567-e89b-12d3-a456-426614174000",
        "placed": "2024-05-01T12:00:00Z",
    }
    body = invoke(lam, name, event)["Body"]
    # The recorded serializable_input_object answer, plus this POJO's own (no null note).
    want = recorded(
        "test_lambda_runtimes.snapshot.json",
        f"{RUNTIMES}::test_serializable_input_object[java17]",
        "invoke-result",
    )["Payload"]
    reference = "123e4567-e89b-12d3-a456-426614174000@1714564800"
    assert body == {**want, "total": 6.5, "reference": reference}


def test_sqs_shaped_event(lam: Any, package: bytes) -> None:
    """An event as SQS event source mappings deliver it, into a POJO shaped as
    aws-lambda-java-events' SQSEvent ("Records", "eventSourceARN" reach their setters)."""
    name = create_java_function(lam, package, "example.QueueHandler")
    message_id = "059f36b4-87a3-44ab-83d2-661975830a7d"
    arn = "arn:aws:sqs:us-east-1:000000000000:jobs"
    event = {
        "Records": [
            {
                "messageId": message_id,
                "body": "hello",
                "eventSourceARN": arn,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
            }
        ]
    }
    assert invoke(lam, name, event)["Body"] == [f"{message_id} hello {arn} 1"]


def test_input_that_does_not_fit_the_type(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.OrderHandler", MemorySize=128)
    response = invoke(lam, name, "not an order")
    assert response["FunctionError"] == "Unhandled"
    body = response["Body"]
    assert body["errorMessage"] == "An error occurred during JSON parsing"
    assert body["errorType"] == "java.lang.RuntimeException"
    assert body["stackTrace"] == []
    cause = body["cause"]
    assert cause["errorType"] == "java.io.UncheckedIOException"
    assert cause["errorMessage"].startswith("java.io.IOException: Cannot deserialize"), cause
    assert "example.Order" in cause["errorMessage"]
    assert cause["cause"]["errorType"] == "java.io.IOException"


def test_stream_handler(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.Streamer")
    want = recorded(
        "test_lambda_runtimes.snapshot.json",
        f"{RUNTIMES}::test_stream_handler[java17]",
        "invoke_result",
    )
    response = invoke(lam, name, {})
    assert response["Body"] == want["Payload"]
    assert response["StatusCode"] == want["StatusCode"]
    raw = lam.invoke(FunctionName=name, Payload=b'{"a": [1, 2, "\xc3\xa9"]}')
    assert raw["Payload"].read() == b'{"a": [1, 2, "\xc3\xa9"]}'


def test_uncaught_exception_matches_aws(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.Failing")
    response = invoke(lam, name, {"error_msg": "some_error_msg"})
    expected = recorded(
        "test_lambda_common.snapshot.json",
        f"{COMMON}::test_uncaught_exception_invoke[java17]",
        "error_result",
    )
    assert response["FunctionError"] == expected["FunctionError"]
    assert response["StatusCode"] == expected["StatusCode"]
    body = response["Body"]
    trace = body.pop("stackTrace")
    assert trace == ["example.Failing.handleRequest(Failing.java:8)"], trace
    assert body == {k: v for k, v in expected["Payload"].items() if k != "stackTrace"}
    tail = response["Tail"]
    assert "Error: some_error_msg: java.lang.RuntimeException\n" in tail, tail
    assert "\tat example.Failing.handleRequest(Failing.java:8)\n" in tail
    # The environment keeps serving after a handler error.
    assert invoke(lam, name, {"error_msg": "again"})["Body"]["errorMessage"] == "Error: again"


@pytest.mark.parametrize(
    ("handler", "answer"),
    [
        ("example.InterfaceAndCustom::handleRequestCustom", "CUSTOM"),
        ("example.InterfaceAndCustom", "INTERFACE"),
        ("example.InterfaceAndCustom::handleRequest", "INTERFACE"),
    ],
)
def test_handler_forms_match_aws(lam: Any, package: bytes, handler: str, answer: str) -> None:
    name = create_java_function(lam, package, handler, runtime="java11")
    sample = handler.replace("example.InterfaceAndCustom", SAMPLE)
    want = recorded(
        "test_lambda_runtimes.snapshot.json",
        f"{RUNTIMES}::test_java_custom_handler_method_specification[{sample}-{answer}]",
        "invoke-result",
    )
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    assert response["Payload"].read().decode() == want["Payload"] == json.dumps(answer)


def test_static_method_of_any_class(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.InterfaceAndCustom::twice")
    assert invoke(lam, name, 21)["Body"] == 42


def test_jar_in_lib_matches_aws(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.WithLib", runtime="java8.al2")
    want = recorded(
        "test_lambda_runtimes.snapshot.json",
        f"{RUNTIMES}::test_java_runtime_with_lib",
        "invoke-result-jar-with-lib",
    )
    response = lam.invoke(FunctionName=name, Payload=b'{"echo": "echo"}')
    assert response["Payload"].read().decode() == want["Payload"]


def test_jars_at_the_root_and_in_a_layer(lam: Any, package: bytes) -> None:
    """The function's own classes in a jar at the package's root, its library in a layer's
    ``java/lib``, as AWS puts them on the class path."""
    with zipfile.ZipFile(io.BytesIO(package)) as original:
        classes = {n: original.read(n) for n in original.namelist() if n.startswith("example/")}
        helper = original.read("lib/helper.jar")
    layer = lam.publish_layer_version(
        LayerName=unique("java-lib"), Content={"ZipFile": make_zip({"java/lib/helper.jar": helper})}
    )
    name = create_java_function(
        lam,
        make_zip({"app.jar": make_zip(dict(classes))}),
        "example.WithLib",
        Layers=[layer["LayerVersionArn"]],
    )
    assert invoke(lam, name, {})["Body"] == '{"echo":"echo"}'


def test_context_environment_and_jvm_flags(lam: Any, package: bytes) -> None:
    name = create_java_function(
        lam,
        package,
        "example.Introspection",
        Environment={
            "Variables": {"TEST_KEY": "TEST_VAL", "JAVA_TOOL_OPTIONS": "-Dlamina.test=yes"}
        },
    )
    client_context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    response = invoke(lam, name, {}, ClientContext=client_context)
    body = response["Body"]
    expected = recorded(
        "test_lambda_common.snapshot.json",
        f"{COMMON}::test_introspection_invoke[java17]",
        "invocation_result_payload",
    )
    ctx = body["ctx"]
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx.pop("aws_request_id"))
    assert 0 < int(ctx.pop("remaining_time_in_millis")) <= 30000
    assert ctx.pop("log_stream_name") == body["environment"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert ctx.pop("invoked_function_arn").endswith(f":function:{name}")
    want = {
        key: value.replace("<function-name:1>", name)
        for key, value in expected["ctx"].items()
        if key not in ("aws_request_id", "remaining_time_in_millis", "log_stream_name")
        and key != "invoked_function_arn"
    }
    assert ctx == want
    env, aws = body["environment"], expected["environment"]
    for key in (
        *("AWS_EXECUTION_ENV", "TEST_KEY", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "PATH"),
        *("LD_LIBRARY_PATH", "LANG", "TZ", "AWS_LAMBDA_RUNTIME_API", "AWS_XRAY_DAEMON_ADDRESS"),
    ):
        assert env[key] == aws[key], key
    assert env["_HANDLER"] == "example.Introspection"
    assert "PWD" not in env and "SHLVL" not in env  # Java is started without a shell on AWS
    assert body["packages"] == []
    assert body["client_context"] == {"k": "v"}
    # AWS's flags, the heap at 85 % of MemorySize, and JAVA_TOOL_OPTIONS picked up.
    flags = body["jvm_flags"]
    for flag in ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:MaxHeapSize=891289k"):
        assert flag in flags, flags
    assert "-Dlamina.test=yes" in flags
    assert 800 * 2**20 < body["max_heap"] <= 891289 * 1024
    assert "Picked up JAVA_TOOL_OPTIONS: -Dlamina.test=yes" in response["Tail"]


def test_missing_class_is_an_init_error(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.Missing")
    response = invoke(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    body = response["Body"]
    assert body["errorType"] == "java.lang.ClassNotFoundException"
    assert body["errorMessage"] == "Class not found: example.Missing"
    # The class loader's frames, as AWS shows them (up to Class.forName).
    assert body["stackTrace"][0].startswith("java.base/java.net.URLClassLoader.findClass("), body
    assert body["stackTrace"][-1].startswith("java.base/java.lang.Class.forName(")
    assert "cause" not in body
    assert "Class not found: example.Missing: java.lang.ClassNotFoundException" in response["Tail"]
    # The runtime exited after reporting it: the next invocation tries init again.
    again = invoke(lam, name, {})
    assert again["Body"]["errorMessage"] == "Class not found: example.Missing"


def test_missing_method_is_an_init_error(lam: Any, package: bytes) -> None:
    name = create_java_function(lam, package, "example.Greeter::nothere")
    body = invoke(lam, name, {})["Body"]
    assert body["errorType"] == "java.lang.NoSuchMethodException"
    assert body["errorMessage"] == (
        "No public method named nothere with appropriate method signature found on class "
        "example.Greeter"
    )


def test_exec_wrapper(lam: Any, package: bytes) -> None:
    """``AWS_LAMBDA_EXEC_WRAPPER`` runs with the JVM's command line as its arguments."""
    wrapper = '#!/bin/bash\nexport TEST_KEY="wrapped $1"\nexec "$@"\n'
    with zipfile.ZipFile(io.BytesIO(package)) as original:
        files: dict[str, str | bytes] = {n: original.read(n) for n in original.namelist()}
    files["wrapper"] = wrapper
    name = create_java_function(
        lam,
        make_zip(files, {"wrapper": 0o755}),
        "example.Introspection",
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper"}},
    )
    env = invoke(lam, name, {})["Body"]["environment"]
    assert re.fullmatch(r"wrapped /\S+/bin/java", env["TEST_KEY"]), env["TEST_KEY"]


def test_without_isolation(own_server: Any, package: bytes) -> None:
    """On the host's file system: the task root is the package's directory, the runtime's
    directory the build's, and the class path the same."""
    lam = own_server("--isolation", "process").client()
    name = create_java_function(lam, package, "example.Introspection", MemorySize=256)
    body = invoke(lam, name, {})["Body"]
    env = body["environment"]
    assert env["LAMBDA_TASK_ROOT"] != "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"].endswith(tuple(f"/java-runtime/{p}" for p in _builds()))
    assert "-XX:MaxHeapSize=222822k" in body["jvm_flags"]
    name = create_java_function(lam, package, "example.WithLib")
    assert invoke(lam, name, {})["Body"] == '{"echo":"echo"}'


def _builds() -> list[str]:
    from lamina.runtime.java_build import default_cache_dir

    return [path.name for path in default_cache_dir().iterdir()]


def test_java21_needs_a_jdk_21(lam: Any, package: bytes) -> None:
    """Debian bookworm has JDK 17 only: classes built for Java 21 cannot load on it, so
    ``java21`` answers ``InvalidRuntimeException`` there (and runs where a JDK 21 is)."""
    name = create_java_function(lam, package, "example.Greeter", runtime="java21")
    if any(jdk.major >= 21 for jdk in installed_jdks()):
        assert invoke(lam, name, {"name": "x", "count": 1})["Body"] == "Hello x (Integer)"
        return
    with pytest.raises(lam.exceptions.InvalidRuntimeException) as raised:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert "JDK 21 or newer" in str(raised.value)


def test_first_start_waits_for_the_build(
    own_server: Any, package: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an empty cache, the runtime is compiled once, off the event loop: concurrent
    first invocations all wait for the same build while the API keeps answering."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    server: LaminaServer = own_server()
    lam = server.client()
    name = create_java_function(lam, package, "example.Greeter")
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        calls = [pool.submit(invoke, lam, name, {"name": str(i), "count": i}) for i in range(3)]
        started = time.monotonic()
        lam.get_function(FunctionName=name)  # the API answers meanwhile
        api_seconds = time.monotonic() - started
        bodies = sorted(call.result()["Body"] for call in calls)
        build_seconds = time.monotonic() - started
    assert bodies == [f"Hello {i} (Integer)" for i in range(3)]
    assert api_seconds < build_seconds / 2, (api_seconds, build_seconds)
    builds = list((tmp_path / "cache/lamina/java-runtime").glob("*/lib/lamina-java-runtime.jar"))
    assert len(builds) == 1
